"""A kind cluster as a Pulumi component: ``kind create`` / ``kind delete`` around the rendered cluster config.

kind has no Pulumi provider; ``pulumi_command.local.Command`` running the kind CLI is the common pattern.
kind cannot change a running cluster, so any change of the rendered config replaces the cluster
(delete first: the new one reuses the name and the host ports).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi_command import local

from infra.envconfig.local import LocalConfig
from infra.renderers import render_kind_config
from infra.state import EnvState

# ``kind create cluster --wait`` returns once the control plane is Ready; the addons need a working API.
CREATE_WAIT = "180s"


def kind_kubeconfig() -> Path:
    """Where kind writes its kubeconfig: the environment's own folder, never the user's ``~/.kube/config``.

    Without ``--kubeconfig``, kind merges a ``kind-<name>`` context into ``$KUBECONFIG`` or
    ``~/.kube/config`` and switches the user's current context to it.
    """
    return EnvState.of("local").kind_kubeconfig


@dataclass
class KindClusterArgs:
    config: LocalConfig


class KindCluster(pulumi.ComponentResource):
    """Creates the cluster, then reads its kubeconfig (a secret: it holds the cluster-admin key)."""

    kubeconfig: pulumi.Output[str]
    context: str
    nodes: list[str]

    def __init__(self, name: str, args: KindClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lab:local:KindCluster", name, None, opts)
        cfg = args.config
        rendered = render_kind_config(cfg)
        kubeconfig = shlex.quote(str(kind_kubeconfig()))
        self.cluster = local.Command(
            f"{name}-cluster",
            create=(
                f"kind create cluster --name {cfg.cluster_name} --config - --wait {CREATE_WAIT} "
                f"--kubeconfig {kubeconfig}"
            ),
            delete=f"kind delete cluster --name {cfg.cluster_name} --kubeconfig {kubeconfig}",
            stdin=rendered,
            triggers=[rendered],
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True, replace_on_changes=["*"]),
        )
        # Re-read whenever the cluster is re-created: a new cluster has new certificates.
        kubeconfig_cmd = local.Command(
            f"{name}-kubeconfig",
            create=f"kind get kubeconfig --name {cfg.cluster_name}",
            triggers=[self.cluster.id],
            logging=local.Logging.NONE,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.cluster],
                additional_secret_outputs=["stdout"],
                replace_on_changes=["*"],
            ),
        )
        self.kubeconfig = pulumi.Output.secret(kubeconfig_cmd.stdout)
        self.context = cfg.context
        self.nodes = cfg.node_names
        self.register_outputs({"kubeconfig": self.kubeconfig, "context": self.context, "nodes": self.nodes})
