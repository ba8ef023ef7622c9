"""ENV-1: the cluster's nodes."""

from __future__ import annotations

import pytest

from infra.probes.eventually import eventually
from infra.probes.nodes import check_nodes, silent_nodes

# The default topology of both stacks: 1 control-plane + 2 workers (ENV-1).
DEFAULT_CONTROL_PLANES, DEFAULT_WORKERS = 1, 2


@pytest.mark.live
def test_env_1_all_nodes_ready(kube, outputs, env, retry_on):
    """Every node Ready; on local, exactly the kind nodes the stack created; else the default 1 + 2."""
    stack_nodes = outputs.get("nodes") if env == "local" else None

    def probe() -> None:
        nodes = kube.json(kube.core.list_node().items)
        silent = silent_nodes(nodes)
        if silent:  # not retried: these kubelets stopped reporting, they are not starting up
            pytest.fail(
                f"nodes whose kubelet stopped posting status: {', '.join(silent)}; `infra doctor` explains",
                pytrace=False,
            )
        if stack_nodes:
            check_nodes(nodes, expected_names=list(stack_nodes))
        else:
            check_nodes(nodes, control_planes=DEFAULT_CONTROL_PLANES, workers=DEFAULT_WORKERS)

    eventually(probe, 120, 5, "all nodes Ready", retry_on=retry_on)
