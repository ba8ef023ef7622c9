"""The Horizontal Pod Autoscaler's arithmetic and timings (HPA-1..3).

Controller defaults: it syncs every 15 s with a tolerance of 0.1; metrics-server resolves metrics
every 15 s; the default scale-up allows max(4 pods, 100 %) per 15 s; scale-down waits for a 300 s
stabilization window (the HPA's ``behavior`` may change both).
"""

from __future__ import annotations

import math
from typing import Any

from kubernetes.utils import parse_quantity

TOLERANCE = 0.1
SYNC_PERIOD_S = 15
METRIC_RESOLUTION_S = 15
POD_START_S = 60  # schedule + start + readiness probe of a small, already-pulled image
DEFAULT_SCALE_DOWN_STABILIZATION_S = 300


def expected_replicas(
    current_replicas: int,
    current_utilization: float,
    target_utilization: float,
    min_replicas: int,
    max_replicas: int,
    tolerance: float = TOLERANCE,
) -> int:
    """desired = ceil(current × metric / target), unchanged within the tolerance, clamped to min..max."""
    if current_replicas <= 0:
        return current_replicas  # scaled to zero: the HPA is disabled
    ratio = current_utilization / target_utilization
    desired = current_replicas if abs(ratio - 1.0) <= tolerance else math.ceil(current_replicas * ratio)
    return max(min_replicas, min(max_replicas, desired))


def cpu_utilization(hpa: dict[str, Any]) -> int | None:
    """The HPA's current average CPU utilization (percent of request), or None while it is ``<unknown>``."""
    for metric in (hpa.get("status") or {}).get("currentMetrics") or []:
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            value = (resource.get("current") or {}).get("averageUtilization")
            return int(value) if value is not None else None
    return None


def cpu_target(hpa: dict[str, Any]) -> int | None:
    for metric in (hpa.get("spec") or {}).get("metrics") or []:
        resource = metric.get("resource") or {}
        target = resource.get("target") or {}
        if (
            metric.get("type") == "Resource"
            and resource.get("name") == "cpu"
            and target.get("type") == "Utilization"
        ):
            return target.get("averageUtilization")
    return None


def condition(hpa: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for cond in (hpa.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return None


def check_metric_known(hpa: dict[str, Any]) -> int:
    """HPA-2: ScalingActive is True and the CPU metric has a value; returns it."""
    active = condition(hpa, "ScalingActive") or {}
    assert active.get("status") == "True", (
        f"ScalingActive is {active.get('status', 'absent')}: "
        f"{active.get('reason', '')} {active.get('message', '')}"
    )
    value = cpu_utilization(hpa)
    assert value is not None, "current CPU metric is <unknown>"
    return value


def check_decision(hpa: dict[str, Any]) -> int:
    """HPA-3: the recorded decision follows the formula and never exceeds maxReplicas; returns desired.

    A decision below the formula is accepted only when the HPA says a scaling policy limited it
    (``ScalingLimited``: e.g. at most max(4 pods, 100 %) per 15 s), and never below the current count.
    """
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    maximum, minimum = int(spec["maxReplicas"]), int(spec.get("minReplicas") or 1)
    desired, current = int(status.get("desiredReplicas") or 0), int(status.get("currentReplicas") or 0)
    assert desired <= maximum, f"desiredReplicas {desired} is above maxReplicas {maximum}"
    utilization, target = cpu_utilization(hpa), cpu_target(hpa)
    assert utilization is not None, "current CPU metric is <unknown>"
    assert target, "the HPA has no CPU utilization target"
    formula = expected_replicas(current, utilization, target, minimum, maximum)
    if desired == formula:
        return desired
    limited = condition(hpa, "ScalingLimited") or {}
    why = (
        f"desired {desired} != ceil({current} × {utilization}/{target}) clamped to {minimum}..{maximum}"
        f" = {formula} (ScalingLimited: {limited.get('status', 'absent')} {limited.get('reason', '')})"
    )
    assert limited.get("status") == "True", why
    assert current <= desired < formula, why
    return desired


def check_scale_out(samples: list[dict[str, Any]], before: int, ready: int) -> dict[str, Any]:
    """HPA-3: over the HPA objects polled since the load started, the scale-out followed the formula.

    * no sample ever decided above ``maxReplicas``;
    * the first scale-up decision from the resting count ``before`` (``currentReplicas == before`` and
      ``desiredReplicas`` above it) passes :func:`check_decision`. That decision is the one the formula
      describes exactly: at rest every pod is Ready with a metric. Later samples are not held to it, because
      the controller leaves pods that are not Ready or have no metric yet out of the average (and counts them
      as idle when scaling up), and when it does not rescale it records ``desiredReplicas = currentReplicas``;
    * the Deployment now has more than ``before`` ready replicas.

    Returns the last sample.
    """
    assert samples, "no HPA sample yet"
    maximum = int(samples[-1]["spec"]["maxReplicas"])
    above = [_replicas(s)[0] for s in samples if _replicas(s)[0] > maximum]
    assert not above, f"desiredReplicas went to {max(above)}, above maxReplicas {maximum}"
    first = next((s for s in samples if _replicas(s)[1] == before and _replicas(s)[0] > before), None)
    desired, current = _replicas(samples[-1])
    assert first is not None, (
        f"no scale-up decision from {before} replica(s) yet; the HPA is at {current}, desires {desired},"
        f" CPU {cpu_utilization(samples[-1])}%"
    )
    decided = check_decision(first)
    assert ready > before, (
        f"{ready} ready replica(s), started at {before}; the HPA decided {before} -> {decided}"
    )
    return samples[-1]


def _replicas(hpa: dict[str, Any]) -> tuple[int, int]:
    """(desiredReplicas, currentReplicas) of an HPA's status."""
    status = hpa.get("status") or {}
    return int(status.get("desiredReplicas") or 0), int(status.get("currentReplicas") or 0)


HPA_API_VERSION = "autoscaling/v2"


def applied_api_version(obj: dict[str, Any], manager: str) -> str | None:
    """The apiVersion ``manager`` last applied the live object with, from its ``managedFields``.

    Reading an HPA through the autoscaling/v2 API shows it as v2 whatever version its manifest used (the
    server converts); the field manager's entry keeps the version the manifest was sent as. Server-side
    apply records ``operation: Apply``; None when the manager never applied the object.
    """
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            return str(entry.get("apiVersion") or "") or None
    return None


def api_version_issues(manifest_version: str | None, applied_version: str | None, manager: str) -> list[str]:
    """HPA-1's apiVersion: the rendered manifest's own, and the one the live object was applied with."""
    issues = []
    if manifest_version != HPA_API_VERSION:
        issues.append(f"the rendered HPA manifest is {manifest_version}, expected {HPA_API_VERSION}")
    if applied_version is None:
        issues.append(f"field manager {manager} never applied the live HPA (run `infra reconcile`)")
    elif applied_version != HPA_API_VERSION:
        issues.append(f"the live HPA was applied as {applied_version}, expected {HPA_API_VERSION}")
    return issues


def spec_issues(hpa: dict[str, Any], deployment: dict[str, Any]) -> list[str]:
    """HPA-1: what is wrong with the lab's HPA and its target, as messages (empty when all is right)."""
    issues: list[str] = []
    if hpa.get("apiVersion") not in (None, "autoscaling/v2"):
        issues.append(f"HPA apiVersion is {hpa.get('apiVersion')}, expected autoscaling/v2")
    spec = hpa.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    expected_ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment["metadata"]["name"]}
    for key, value in expected_ref.items():
        if ref.get(key) != value:
            issues.append(f"scaleTargetRef.{key} is {ref.get(key)!r}, expected {value!r}")
    if spec.get("minReplicas", 1) != 1 or spec.get("maxReplicas") != 10:
        issues.append(
            f"replicas range is {spec.get('minReplicas', 1)}..{spec.get('maxReplicas')}, expected 1..10"
        )
    if cpu_target(hpa) != 50:
        issues.append(f"CPU utilization target is {cpu_target(hpa)}, expected 50")
    containers = (((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "containers"
    ) or []
    for container in containers:
        request = ((container.get("resources") or {}).get("requests") or {}).get("cpu")
        if request is None:
            issues.append(f"container {container.get('name')} has no CPU request (missing request for cpu)")
    if containers and not any(
        parse_quantity(((c.get("resources") or {}).get("requests") or {}).get("cpu", "0"))
        == parse_quantity("200m")
        for c in containers
    ):
        issues.append("no container requests 200m CPU")
    return issues


def metric_known_bound_s(
    metric_resolution: int = METRIC_RESOLUTION_S,
    sync_period: int = SYNC_PERIOD_S,
    pod_start: int = POD_START_S,
) -> int:
    """How long after a rollout the HPA may still show ``<unknown>`` (HPA-2).

    The pod must start (``pod_start``), metrics-server needs two scrapes to compute a rate
    (2 × ``metric_resolution``), and the HPA reads it at its next sync (up to 2 × ``sync_period`` when a
    sync just missed the first sample): 60 + 30 + 30 = 120 s with the defaults.
    """
    return pod_start + 2 * metric_resolution + 2 * sync_period


def scale_out_bound_s(
    metric_resolution: int = METRIC_RESOLUTION_S,
    sync_period: int = SYNC_PERIOD_S,
    pod_start: int = POD_START_S,
) -> int:
    """How long after load starts the Deployment must have more ready replicas (HPA-3).

    The fastest scale-out is metric resolution (15 s) + sync (15 s) + pod start. The bound doubles
    the two periods because load that begins mid-window shows up only in the next full window, and a sync
    can fall just before that: 2 × 15 + 2 × 15 + 60 = 120 s with the defaults.
    """
    return 2 * metric_resolution + 2 * sync_period + pod_start


def scale_in_bound_s(
    stabilization: int = DEFAULT_SCALE_DOWN_STABILIZATION_S,
    metric_resolution: int = METRIC_RESOLUTION_S,
    sync_period: int = SYNC_PERIOD_S,
    termination_grace: int = 30,
) -> int:
    """How long after load stops the replicas must be back at minReplicas (HPA-3, slow).

    The usage must drain out of the metric window (2 × resolution), the stabilization window must pass
    (the highest recommendation of the last ``stabilization`` seconds wins), then a sync decides and the
    extra pods terminate: 300 + 30 + 30 + 30 = 390 s with the defaults.
    """
    return stabilization + 2 * metric_resolution + 2 * sync_period + termination_grace


def scale_down_stabilization_s(hpa: dict[str, Any]) -> int:
    """The HPA's own scale-down stabilization window (``behavior``), or the controller default."""
    scale_down = ((hpa.get("spec") or {}).get("behavior") or {}).get("scaleDown") or {}
    value = scale_down.get("stabilizationWindowSeconds")
    return DEFAULT_SCALE_DOWN_STABILIZATION_S if value is None else int(value)


def scale_down_policy_time_s(hpa: dict[str, Any], from_replicas: int) -> int:
    """Extra time the HPA's scale-down policies need to step from ``from_replicas`` down to minReplicas.

    Each period the most permissive policy (``selectPolicy: Max``, the default) removes ``Pods`` pods or
    ``Percent`` % (rounded up); no policies means all at once. ``selectPolicy: Disabled`` never scales down.
    """
    spec = hpa.get("spec") or {}
    minimum = int(spec.get("minReplicas") or 1)
    scale_down = (spec.get("behavior") or {}).get("scaleDown") or {}
    policies = scale_down.get("policies") or []
    if scale_down.get("selectPolicy") == "Disabled":
        raise ValueError("scale-down is disabled by the HPA's behavior")
    if not policies:
        return 0
    pick = min if scale_down.get("selectPolicy") == "Min" else max
    replicas, elapsed, first = from_replicas, 0, True
    while replicas > minimum:
        steps = [
            (
                int(p["value"]) if p["type"] == "Pods" else math.ceil(replicas * int(p["value"]) / 100),
                int(p["periodSeconds"]),
            )
            for p in policies
        ]
        removed, period = pick(steps)
        replicas -= max(1, removed)
        elapsed += 0 if first else period
        first = False
    return elapsed
