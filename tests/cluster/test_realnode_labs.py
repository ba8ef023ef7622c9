"""The labs' own probes on real pods: ``infra verify`` with every lab pod on the real node.

test_realnode.py decides the mechanisms (exec, logs, HTTP, Services, Jobs, mounted ConfigMaps) with pods of
its own; here the probes of ``tests/live`` run as a user runs them, through ``infra verify --only ...``,
against the lab as ``infra reconcile`` applies it from git. For that the hollow nodes are cordoned and the
real node's taint is lifted for this module (both put back afterwards), and the lab's namespaces are made
anew, so every lab pod is created on the real node. Storage is the plane's ``nfs-client`` class (the
in-tree host-path provisioner): a directory per volume on this machine, which the real kubelet mounts.

What still needs a full cluster is left out of ``--only`` and listed in README: cluster DNS (STS-1/2, the SQL
lab), the ingress controller (TLS-3), metrics-server (HPA-2/3), a CNI that enforces NetworkPolicy (CTL-10).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from cli import LAB_NAMESPACES, Cli, junit_cases
from plane import ControlPlane
from realnode import REAL_NODE_KEY, RealNode

# Claims whose probes exec into pods, read their logs, wait for real readiness or for Jobs to finish.
ON_A_REAL_NODE = ["TLS-1", "STS-5", "QOS-1", "CTL-1", "CTL-2", "CTL-4", "CTL-6", "CTL-7", "CTL-8"]
# Claims whose addon is missing here: with containers running, each must name that addon, at once.
BLOCKED_HERE = {"STS-1": "dns", "SQL-1": "dns", "TLS-3": "ADD-2", "HPA-2": "ADD-1"}


@pytest.fixture(scope="module")
def real_lab(
    plane: ControlPlane, real_node: RealNode, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cli]:
    """The local lab reconciled from git with the real node as the only node that takes new pods."""
    hollow = list(plane.node_names)
    plane.kubectl("cordon", *hollow)
    plane.kubectl("taint", "node", real_node.name, f"{REAL_NODE_KEY}:NoSchedule-")
    try:
        cli = Cli.for_env(plane, tmp_path_factory.mktemp("real-lab"))
        # An earlier module's lab (pods on hollow nodes, a CronJob's never-ending Jobs) goes first.
        cli.remove_lab(wait=True)
        done = cli.infra("reconcile", "--env", "local", "--no-wait", timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        yield cli
    finally:
        plane.kubectl("taint", "node", real_node.name, f"{REAL_NODE_KEY}=true:NoSchedule", "--overwrite")
        plane.kubectl("uncordon", *hollow)


@pytest.fixture(scope="module")
def verified(real_lab: Cli) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, float, str]], str]:
    claims = ",".join([*ON_A_REAL_NODE, *BLOCKED_HERE])
    started = time.monotonic()
    done = real_lab.infra("verify", "--env", "local", "--only", claims, timeout=600)
    print(f"infra verify --only {claims} on the real node: {time.monotonic() - started:.0f}s")
    return real_lab.report(), junit_cases(real_lab.state / "reports" / "verify-local.xml"), done.stdout


def test_every_lab_pod_runs_on_the_real_node(real_lab: Cli, real_node: RealNode, verified) -> None:
    """What the probes saw ran for real (DaemonSet pods go where their selector says, cordoned or not)."""
    pods = [p for p in real_lab.get("pods", "-A")["items"] if p["metadata"]["namespace"] in LAB_NAMESPACES]
    placed = {
        f"{p['metadata']['namespace']}/{p['metadata']['name']}": p["spec"].get("nodeName")
        for p in pods
        if not any(ref["kind"] == "DaemonSet" for ref in p["metadata"].get("ownerReferences") or [])
    }
    assert len(placed) >= 10, placed
    assert {node for node in placed.values() if node} == {real_node.name}, placed


def test_the_probes_that_need_running_containers_pass_on_real_pods(verified) -> None:
    rows, cases, stdout = verified
    assert "containers run" in stdout, stdout[-3000:]  # verify's own check: a pod's logs answered
    for claim in ON_A_REAL_NODE:
        assert claim in rows, (claim, sorted(rows), stdout[-3000:])
        assert rows[claim][0] == "passed", (claim, rows[claim], stdout[-4000:])
    ran = {name: case for name, case in cases.items() if case[0] != "skipped"}
    assert ran, "verify ran no probe"
    assert all(outcome == "passed" for outcome, _, _ in ran.values()), ran


def test_a_claim_whose_addon_is_missing_names_it_at_once(verified) -> None:
    """Containers run here, so what blocks these is their addon (DNS, ingress-nginx, metrics-server)."""
    rows, cases, _ = verified
    for claim, prerequisite in BLOCKED_HERE.items():
        result, detail = rows[claim]
        assert result == "blocked", (claim, rows[claim])
        assert detail.startswith(f"blocked by {prerequisite}:"), (claim, detail)
    slow = {name: t for name, (outcome, t, _) in cases.items() if outcome == "skipped" and t > 5}
    assert not slow, slow


def test_the_probes_left_the_lab_as_git_has_it(real_lab: Cli, verified) -> None:
    drift = real_lab.infra("drift", "--env", "local")
    assert drift.returncode == 0, drift.stdout[-3000:]
