"""Nodes (ENV-1): every node Ready, with the expected control-plane and worker counts."""

from __future__ import annotations

from typing import Any

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"


def is_ready(node: dict[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


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
