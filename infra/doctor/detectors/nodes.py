"""Nodes that cannot run pods well: NotReady, resource pressure, no pod network.

Node conditions as the kubelet and node lifecycle controller write them: ``Ready`` (``False`` reason
``KubeletNotReady``; ``Unknown`` reason ``NodeStatusUnknown``, "Kubelet stopped posting node status."),
``MemoryPressure`` / ``DiskPressure`` / ``PIDPressure`` (``True`` with reasons
``KubeletHasInsufficientMemory``, ``KubeletHasDiskPressure``, ``KubeletHasInsufficientPID``; the node is
tainted and the kubelet evicts pods), ``NetworkUnavailable`` (``True`` until the network plugin or route
controller configures the node).
"""

from __future__ import annotations

from collections.abc import Iterator

from infra.checks.model import Severity, dig
from infra.doctor.registry import Hit, detector
from infra.doctor.snapshot import Snapshot, condition, condition_text

PRESSURES = {
    "MemoryPressure": ("memory", "node.kubernetes.io/memory-pressure"),
    "DiskPressure": ("disk space or inodes", "node.kubernetes.io/disk-pressure"),
    "PIDPressure": ("process IDs", "node.kubernetes.io/pid-pressure"),
}


@detector(
    "NODE-NOT-READY",
    Severity.ERROR,
    "a node that is not Ready (kubelet down, unreachable, or no network plugin)",
    fix="check the node and its kubelet (journalctl -u kubelet; on kind: docker logs NODE)",
    needs=("Node",),
)
def node_not_ready(snapshot: Snapshot) -> Iterator[Hit]:
    for node in snapshot.of_kind("Node"):
        cond = condition(node, "Ready")
        if cond is None or cond.get("status") == "True":
            continue
        message = str(cond.get("message") or "").lower()
        if cond.get("status") == "Unknown":
            meaning = "the kubelet stopped reporting: the machine is down or cannot reach the API server"
            fix = None
        elif "network" in message or "cni" in message:
            meaning = "the kubelet runs but the pod network (CNI plugin) is not ready"
            fix = "install or repair the network plugin (kubectl get pods -n kube-system)"
        else:
            meaning = "the kubelet reports the node unable to run pods"
            fix = None
        yield Hit(node, condition_text(cond), meaning + "; pods on it are evicted after a grace period", fix)


@detector(
    "NODE-PRESSURE",
    Severity.WARNING,
    "a node under MemoryPressure, DiskPressure or PIDPressure (tainted; the kubelet evicts pods)",
    fix="free the resource on the node or move load away; set requests/limits so the scheduler knows",
    needs=("Node",),
)
def node_pressure(snapshot: Snapshot) -> Iterator[Hit]:
    for node in snapshot.of_kind("Node"):
        for kind, (resource, taint) in PRESSURES.items():
            cond = condition(node, kind)
            if cond and cond.get("status") == "True":
                yield Hit(
                    node,
                    condition_text(cond),
                    f"the node is short of {resource}: it is tainted {taint}:NoSchedule and the kubelet "
                    "evicts "
                    "pods (BestEffort first, then Burstable over their requests)",
                )


@detector(
    "NODE-NETWORK",
    Severity.ERROR,
    "a node whose pod network is not configured (NetworkUnavailable)",
    fix="install or repair the network plugin / cloud routes for the node",
    needs=("Node",),
)
def node_network(snapshot: Snapshot) -> Iterator[Hit]:
    for node in snapshot.of_kind("Node"):
        cond = condition(node, "NetworkUnavailable")
        if cond and cond.get("status") == "True":
            yield Hit(
                node,
                condition_text(cond),
                f"pods on {dig(node, 'metadata', 'name')} cannot reach other nodes' pods "
                "(the node is tainted node.kubernetes.io/network-unavailable)",
            )
