"""Waiting for workloads to roll out, each within a budget computed from what it is.

One fixed timeout fits no lab: a web Deployment is Ready in seconds, while MySQL's StatefulSet starts its pods
one at a time (``OrderedReady``), each cloning the previous one's data, with a startupProbe that alone allows
minutes. So each workload gets ``pods in sequence x per-pod allowance``, where the allowance is an image
pull plus what its own probes permit before Kubernetes would give up on it. Waits run concurrently, so the
whole stage takes as long as the slowest workload, not the sum.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from infra.console import waiting
from infra.kube import KubeTarget, ObjectRef, kubectl, last_lines

IMAGE_PULL_SECONDS = 180  # a first pull of a lab image on an ordinary connection
INIT_CONTAINER_SECONDS = 60  # an init container without probes (clone, config): its work, beyond the pull
READY_SECONDS = 30  # a container without probes: started and Ready
PROBE_DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "failureThreshold": 3, "timeoutSeconds": 1}
ROLLOUT_RESOURCES: dict[tuple[str, str], str] = {
    ("apps", "Deployment"): "deployment.apps",
    ("apps", "StatefulSet"): "statefulset.apps",
    ("apps", "DaemonSet"): "daemonset.apps",
}

Progress = Callable[[str], None]


def probe_seconds(probe: Mapping[str, Any] | None) -> int:
    """How long a probe lets a container fail before Kubernetes acts: delay + threshold x (period+timeout)."""
    if not probe:
        return 0
    value = {**PROBE_DEFAULTS, **{k: v for k, v in probe.items() if k in PROBE_DEFAULTS}}
    return int(
        value["initialDelaySeconds"]
        + value["failureThreshold"] * (value["periodSeconds"] + value["timeoutSeconds"])
    )


def pod_allowance(pod_spec: Mapping[str, Any]) -> int:
    """Seconds one pod may take to become Ready: pull, init containers in turn, then its slowest container."""
    init = sum(
        INIT_CONTAINER_SECONDS + probe_seconds(c.get("startupProbe"))
        for c in pod_spec.get("initContainers") or []
    )
    containers = pod_spec.get("containers") or [{}]
    start = max(
        probe_seconds(c.get("startupProbe")) + probe_seconds(c.get("readinessProbe")) or READY_SECONDS
        for c in containers
    )
    return IMAGE_PULL_SECONDS + init + start


@dataclass(frozen=True)
class Rollout:
    ref: ObjectRef
    resource: str  # "statefulset.apps"
    pods_in_sequence: int  # 1 unless pods start one after another (StatefulSet OrderedReady)
    budget: int  # seconds


def plan(objects: Sequence[Mapping[str, Any]]) -> list[Rollout]:
    """The workloads to wait for, each with its budget."""
    found = []
    for obj in objects:
        ref = ObjectRef.of(obj)
        resource = ROLLOUT_RESOURCES.get((ref.group, ref.kind))
        if not resource:
            continue
        spec = obj.get("spec") or {}
        pod_spec = ((spec.get("template") or {}).get("spec")) or {}
        replicas = spec.get("replicas", 1)
        replicas = replicas if isinstance(replicas, int) and replicas > 0 else 1
        ordered = (
            ref.kind == "StatefulSet" and spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        )
        in_sequence = replicas if ordered else 1
        found.append(Rollout(ref, resource, in_sequence, in_sequence * pod_allowance(pod_spec)))
    return sorted(found, key=lambda r: r.ref)


@dataclass(frozen=True)
class Waited:
    rollout: Rollout
    ok: bool
    seconds: float
    detail: str


def wait_one(target: KubeTarget, rollout: Rollout) -> Waited:
    ref = rollout.ref
    args = ["rollout", "status", f"{rollout.resource}/{ref.name}", "--namespace", ref.namespace]
    args.append(f"--timeout={rollout.budget}s")
    started = time.monotonic()
    outcome = kubectl(target, args, what=f"waiting for {ref}", ok_codes=(0, 1), timeout=rollout.budget + 60)
    elapsed = time.monotonic() - started
    return Waited(rollout, outcome.ok, elapsed, "" if outcome.ok else last_lines(outcome, 1))


def wait_all(target: KubeTarget, rollouts: Sequence[Rollout], *, progress: Progress) -> list[Waited]:
    """Wait for every rollout at once; each line says what is awaited and its deadline, then how it ended.

    Meanwhile a live line per pending rollout shows elapsed / deadline on a terminal; in a log, a "still
    waiting" line every 30 s (:func:`infra.console.waiting`).
    """
    for r in rollouts:
        pods = f"{r.pods_in_sequence} pods one at a time, " if r.pods_in_sequence > 1 else ""
        progress(f"waiting for {r.ref} ({pods}deadline {r.budget}s)")
    results: list[Waited] = []
    with waiting(progress) as board, ThreadPoolExecutor(max_workers=max(1, min(8, len(rollouts)))) as pool:

        def watched(rollout: Rollout) -> Waited:
            wait = board.add(str(rollout.ref), rollout.budget)
            try:
                return wait_one(target, rollout)
            finally:
                wait.finish()

        for waited in pool.map(watched, rollouts):
            state = "rolled out" if waited.ok else f"not ready: {waited.detail}"
            progress(f"{waited.rollout.ref}: {state} after {waited.seconds:.0f}s of {waited.rollout.budget}s")
            results.append(waited)
    return results
