"""StatefulSet ordering and identity (STS-2..5, SQL-4).

With ``podManagementPolicy: OrderedReady`` (the default) the controller creates ``-N`` only after ``-(N-1)``
is Ready, and on scale-down terminates the highest ordinal first, starting the next only once the previous
pod is gone. The live probe watches the pods while scaling and records one :class:`Observation` per watch
event; these functions reduce that stream to lifecycle steps and check their order.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

CREATED, READY, TERMINATING, GONE = "created", "ready", "terminating", "gone"


@dataclass(frozen=True)
class Observation:
    """One pod watch event: ADDED / MODIFIED / DELETED, the pod's name, readiness and deletion mark."""

    event: str
    pod: str
    ready: bool = False
    terminating: bool = False


def observe(event_type: str, pod: dict[str, Any]) -> Observation:
    """A watch event (``{"type", "object"}`` with the pod as API JSON) -> :class:`Observation`."""
    metadata = pod.get("metadata") or {}
    conditions = (pod.get("status") or {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return Observation(event_type, metadata.get("name", ""), ready, bool(metadata.get("deletionTimestamp")))


def ordinal(statefulset: str, pod: str) -> int | None:
    match = re.fullmatch(rf"{re.escape(statefulset)}-(\d+)", pod)
    return int(match.group(1)) if match else None


def lifecycle(observations: list[Observation], statefulset: str) -> list[tuple[str, int]]:
    """The first ``created`` / ``ready`` / ``terminating`` / ``gone`` step of each pod, in watch order."""
    steps: list[tuple[str, int]] = []
    seen: set[tuple[str, int]] = set()

    def note(step: str, number: int) -> None:
        if (step, number) not in seen:
            seen.add((step, number))
            steps.append((step, number))

    for obs in observations:
        number = ordinal(statefulset, obs.pod)
        if number is None:
            continue
        if obs.event == "ADDED" and not obs.terminating:
            note(CREATED, number)
        if obs.event == "DELETED":
            note(GONE, number)
        elif obs.terminating:
            note(TERMINATING, number)
        elif obs.ready:
            note(READY, number)
    return steps


def check_scale_up(steps: list[tuple[str, int]], before: int, after: int) -> None:
    """Scaling ``before`` -> ``after`` created ``-before..-(after-1)``, each once the previous was Ready."""
    created = [n for step, n in steps if step == CREATED]
    expected = list(range(before, after))
    assert created == expected, (
        f"created ordinals {created}, expected {expected} in that order; steps: {steps}"
    )
    for number in expected[1:]:
        assert steps.index((CREATED, number)) > _index(steps, READY, number - 1), (
            f"-{number} was created before -{number - 1} was Ready; steps: {steps}"
        )
    gone = [n for step, n in steps if step in (TERMINATING, GONE)]
    assert not gone, f"scaling up terminated {gone}; steps: {steps}"


def check_scale_down(steps: list[tuple[str, int]], before: int, after: int) -> None:
    """Scaling ``before`` -> ``after`` removed the highest ordinals first, one at a time, and nothing else."""
    expected = list(range(before - 1, after - 1, -1))
    gone = [n for step, n in steps if step == GONE]
    assert gone == expected, f"removed ordinals {gone}, expected {expected} in that order; steps: {steps}"
    for higher, lower in itertools.pairwise(expected):
        started = _index(steps, TERMINATING, lower)
        if started == len(steps):  # the watch saw no separate "terminating" event: use its removal
            started = steps.index((GONE, lower))
        assert started > steps.index((GONE, higher)), (
            f"-{lower} started terminating before -{higher} was gone; steps: {steps}"
        )
    created = [n for step, n in steps if step == CREATED]
    assert not created, f"scaling down created {created}; steps: {steps}"


def _index(steps: list[tuple[str, int]], step: str, number: int) -> int:
    """Position of a step, or ``len(steps)`` when it never happened (so "after it" comparisons fail)."""
    try:
        return steps.index((step, number))
    except ValueError:
        return len(steps)


def claim_names(statefulset: dict[str, Any], ordinals: range | list[int]) -> list[str]:
    """PVC names the ``volumeClaimTemplates`` give each ordinal: ``<template>-<statefulset>-<N>``."""
    name = statefulset["metadata"]["name"]
    templates = [
        t["metadata"]["name"] for t in (statefulset.get("spec") or {}).get("volumeClaimTemplates") or []
    ]
    return [f"{template}-{name}-{n}" for n in ordinals for template in templates]


def check_claims(
    statefulset: dict[str, Any], pods: list[dict[str, Any]], pvcs: list[dict[str, Any]], storage_class: str
) -> None:
    """STS-4: one Bound RWO PVC of ``storage_class`` per pod, mounted by it, and no PVC without a pod."""
    name = statefulset["metadata"]["name"]
    ordinals = sorted(n for p in pods if (n := ordinal(name, p["metadata"]["name"])) is not None)
    expected = set(claim_names(statefulset, ordinals))
    templates = [t["metadata"]["name"] for t in statefulset["spec"].get("volumeClaimTemplates") or []]
    assert templates, f"StatefulSet {name} has no volumeClaimTemplates"
    ours = {
        p["metadata"]["name"]: p
        for p in pvcs
        if ordinal(name, _sts_part(p["metadata"]["name"], templates)) is not None
    }
    assert set(ours) == expected, (
        f"PVCs {sorted(ours)} != one per pod {sorted(expected)} ({len(ordinals)} pods)"
    )
    for claim_name, pvc in sorted(ours.items()):
        spec, status = pvc.get("spec") or {}, pvc.get("status") or {}
        assert status.get("phase") == "Bound", f"{claim_name} is {status.get('phase')}, not Bound"
        assert spec.get("storageClassName") == storage_class, (
            f"{claim_name} uses storageClass {spec.get('storageClassName')}, expected {storage_class}"
        )
        assert spec.get("accessModes") == ["ReadWriteOnce"], (
            f"{claim_name} has accessModes {spec.get('accessModes')}"
        )
    for pod in pods:
        pod_name = pod["metadata"]["name"]
        mounted = {
            (v.get("persistentVolumeClaim") or {}).get("claimName")
            for v in (pod.get("spec") or {}).get("volumes") or []
        }
        own = set(claim_names(statefulset, [ordinal(name, pod_name) or 0]))
        assert own <= mounted, (
            f"{pod_name} mounts {sorted(c for c in mounted if c)}, not its own {sorted(own)}"
        )


def _sts_part(claim_name: str, templates: list[str]) -> str:
    for template in templates:
        if claim_name.startswith(f"{template}-"):
            return claim_name[len(template) + 1 :]
    return ""
