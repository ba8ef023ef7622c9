"""Quality-of-Service classes (QOS-1) and the oversize pod (QOS-2).

The kubelet's rule (``k8s.io/kubernetes/pkg/apis/core/helper/qos``): **Guaranteed** when every container
(init containers included) sets cpu and memory limits and requests equal to them (a request left out
defaults to the limit); **BestEffort** when no container sets any cpu or memory request or limit;
**Burstable** otherwise. The probe compares the class the API server recorded with the one the spec implies.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kubernetes.utils import parse_quantity

GUARANTEED = "Guaranteed"
BURSTABLE = "Burstable"
BEST_EFFORT = "BestEffort"
_RESOURCES = ("cpu", "memory")


def expected_qos_class(pod: dict[str, Any]) -> str:
    """The QoS class the pod's spec implies (API JSON, as from ``kubectl get pod -o json``).

    Follows the kubelet's ``GetPodQOS``: zero quantities do not count; requests and limits are summed over
    containers; every container needs both cpu and memory limits for Guaranteed. An omitted request
    defaults to its limit (the API server's defaulting, applied here so a manifest gives the same answer).
    """
    spec = pod.get("spec") or {}
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    for container in containers:
        resources = container.get("resources") or {}
        own_limits = _positive(resources.get("limits"))
        written = resources.get("requests") or {}
        defaulted = {k: v for k, v in own_limits.items() if k not in written}
        own_requests = {**defaulted, **_positive(written)}
        for name, value in own_requests.items():
            requests[name] = requests.get(name, Decimal(0)) + value
        for name, value in own_limits.items():
            limits[name] = limits.get(name, Decimal(0)) + value
        if not set(_RESOURCES) <= set(own_limits):
            guaranteed = False
    if not requests and not limits:
        return BEST_EFFORT
    if guaranteed and requests == limits:
        return GUARANTEED
    return BURSTABLE


def _positive(quantities: dict[str, Any] | None) -> dict[str, Decimal]:
    parsed = {k: parse_quantity(v) for k, v in (quantities or {}).items() if k in _RESOURCES}
    return {k: v for k, v in parsed.items() if v > 0}


def recorded_qos_class(pod: dict[str, Any]) -> str | None:
    return (pod.get("status") or {}).get("qosClass")


def check_qos(pod: dict[str, Any], expected: str) -> None:
    """The pod's recorded class is ``expected`` and agrees with what its spec implies."""
    name = (pod.get("metadata") or {}).get("name", "?")
    implied = expected_qos_class(pod)
    recorded = recorded_qos_class(pod)
    assert implied == expected, f"{name}: its spec implies {implied}, the lab expects {expected}"
    assert recorded == expected, f"{name}: status.qosClass is {recorded}, expected {expected}"


_MARGIN = {"cpu": Decimal(1), "memory": Decimal(2**30)}  # one core, one GiB


def oversize_request(allocatable: list[str], resource: str) -> str:
    """A request above the largest node's allocatable ``resource`` (by a core / a GiB): no node can fit it."""
    if not allocatable:
        raise ValueError("no nodes to size the oversize pod against")
    largest = max(parse_quantity(value) for value in allocatable) + _MARGIN[resource]
    return f"{int(largest * 1000)}m" if resource == "cpu" else str(int(largest))


def pending_reason(pod: dict[str, Any]) -> str | None:
    """Why a Pending pod is not scheduled: the PodScheduled=False condition's message (or None)."""
    status = pod.get("status") or {}
    if status.get("phase") != "Pending":
        return None
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return f"{condition.get('reason', '')}: {condition.get('message', '')}"
    return None


def check_unschedulable_for(pod: dict[str, Any], resource: str) -> None:
    """Pending, Unschedulable, and the scheduler names ``Insufficient <resource>``."""
    reason = pending_reason(pod)
    phase = (pod.get("status") or {}).get("phase")
    assert reason is not None, f"pod is {phase}, not Pending with a PodScheduled=False condition"
    assert reason.startswith("Unschedulable"), f"pod is Pending for another reason: {reason}"
    assert f"Insufficient {resource}" in reason, f"scheduler does not name Insufficient {resource}: {reason}"
