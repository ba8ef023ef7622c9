"""Nodes (ENV-1): every node Ready, with the expected control-plane and worker counts.

A node whose Ready condition is ``Unknown`` is one the node controller has stopped hearing from: its kubelet
posted no status for the controller's grace period (50 s by default; reason ``NodeStatusUnknown``). Such a
node is not on its way up, as a new node reporting ``False`` is, so ENV-1 says so at once instead of waiting
out its deadline.
"""

from __future__ import annotations

from typing import Any

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"


def is_ready(node: dict[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def silent_nodes(nodes: list[dict[str, Any]]) -> list[str]:
    """``name (reason: message)`` of each node whose kubelet the node controller no longer hears from."""
    silent = []
    for node in nodes:
        conditions = (node.get("status") or {}).get("conditions") or []
        ready = next((c for c in conditions if c.get("type") == "Ready"), None)
        if ready is not None and ready.get("status") == "Unknown":
            why = f"{ready.get('reason', '')}: {ready.get('message', '')}".strip(": ")
            silent.append(f"{node['metadata']['name']} ({why})" if why else node["metadata"]["name"])
    return sorted(silent)


def is_control_plane(node: dict[str, Any]) -> bool:
    return CONTROL_PLANE_LABEL in ((node.get("metadata") or {}).get("labels") or {})


def check_nodes(
    nodes: list[dict[str, Any]],
    *,
    control_planes: int | None = None,
    workers: int | None = None,
    expected_names: list[str] | None = None,
) -> None:
    """All nodes Ready and at least one control plane; the role counts and names when they are known."""
    names = sorted(n["metadata"]["name"] for n in nodes)
    assert names, "the cluster has no nodes"
    not_ready = sorted(n["metadata"]["name"] for n in nodes if not is_ready(n))
    assert not not_ready, f"nodes not Ready: {not_ready} (of {names})"
    cps = sum(1 for n in nodes if is_control_plane(n))
    assert cps >= 1, f"no node carries {CONTROL_PLANE_LABEL}: {names}"
    if control_planes is not None:
        assert cps == control_planes, f"{cps} control-plane nodes, expected {control_planes}: {names}"
    if workers is not None:
        assert len(nodes) - cps == workers, f"{len(nodes) - cps} workers, expected {workers}: {names}"
    if expected_names:
        assert names == sorted(expected_names), f"nodes {names} != the stack's nodes {sorted(expected_names)}"
