"""HorizontalPodAutoscaler specs as the API server validates them (autoscaling/validation).

``validateHorizontalPodAutoscalerSpec`` (replica bounds), ``validateMetricSpec``/``validateMetricTarget``
(each metric's source and target) and ``validateScalingRules`` (behavior). ``minReplicas`` must be at least 1:
scaling to zero needs the HPAScaleToZero feature gate, alpha and off by default in v1.36.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from infra.checks.model import DocSet, Hit, Severity, as_dict, as_list
from infra.checks.quantity import parse_quantity
from infra.checks.registry import rule
from infra.checks.rules.upstream import forbidden, invalid, is_int, not_supported, required, source

UPSTREAM = source("autoscaling")
METRIC_SOURCES = {  # metric type -> the field that must hold its source
    "Object": "object",
    "Pods": "pods",
    "Resource": "resource",
    "External": "external",
    "ContainerResource": "containerResource",
}
TARGET_TYPES = ("Utilization", "Value", "AverageValue")
MAX_STABILIZATION_WINDOW = 3600
MAX_PERIOD = 1800


def replica_problems(spec: dict[str, Any]) -> Iterator[str]:
    low, high = spec.get("minReplicas"), spec.get("maxReplicas")
    if is_int(low) and low < 1:
        yield invalid("spec.minReplicas", low, "must be greater than or equal to 1")
    if is_int(high) and high == 0:
        yield required("spec.maxReplicas", "must be set and greater than 0")
    elif is_int(high) and high < 0:
        yield invalid("spec.maxReplicas", high, "must be greater than or equal to 1")
    if is_int(low) and is_int(high) and high < low:
        yield invalid("spec.maxReplicas", high, "must be greater than or equal to `minReplicas`")


@rule(
    "HPA-SPEC",
    Severity.ERROR,
    "an HPA's minReplicas >= 1 and maxReplicas >= minReplicas",
    upstream=UPSTREAM,
)
def hpa_spec(docs: DocSet) -> Iterator[Hit]:
    for hpa in docs.of_kind("HorizontalPodAutoscaler"):
        for message in replica_problems(as_dict(hpa.obj.get("spec"))):
            yield Hit(hpa, message, "set 1 <= minReplicas <= maxReplicas (minReplicas defaults to 1)")


def _positive(path: str, raw: Any) -> Iterator[str]:
    try:
        value = parse_quantity(raw)
    except ValueError:
        return  # RES-style quantity errors are the schema's (int-or-string) or reported as not positive below
    if value <= Decimal(0):
        yield invalid(path, raw, "must be positive")


def target_problems(target: dict[str, Any], path: str) -> Iterator[str]:
    """``validateMetricTarget``."""
    kind = target.get("type")
    if not kind:
        yield required(f"{path}.type", "must specify a metric target type")
    elif kind not in TARGET_TYPES:
        yield invalid(f"{path}.type", kind, "must be either Utilization, Value, or AverageValue")
    if target.get("value") is not None:
        yield from _positive(f"{path}.value", target["value"])
    if target.get("averageValue") is not None:
        yield from _positive(f"{path}.averageValue", target["averageValue"])
    utilization = target.get("averageUtilization")
    if is_int(utilization) and utilization < 1:
        yield invalid(f"{path}.averageUtilization", utilization, "must be greater than 0")


def metric_problems(metric: dict[str, Any], path: str) -> Iterator[str]:
    """``validateMetricSpec`` and the per-source checks of the resource metrics users write most."""
    kind = metric.get("type")
    if not kind:
        yield required(f"{path}.type", "must specify a metric source type")
        return
    if kind not in METRIC_SOURCES:
        yield not_supported(f"{path}.type", kind, sorted(METRIC_SOURCES))
        return
    expected = METRIC_SOURCES[kind]
    if metric.get(expected) is None:
        yield required(f"{path}.{expected}", "must populate information for the given metric source")
    for other in METRIC_SOURCES.values():
        if other != expected and metric.get(other) is not None:
            yield forbidden(f"{path}.{other}", "must populate the given metric source only")
    src = as_dict(metric.get(expected))
    if not src:
        return
    target = as_dict(src.get("target"))
    target_path = f"{path}.{expected}.target"
    yield from target_problems(target, target_path)
    if kind in ("Resource", "ContainerResource"):
        if not src.get("name"):
            yield required(f"{path}.{expected}.name", "must specify a resource name")
        if kind == "ContainerResource" and not src.get("container"):
            yield required(f"{path}.{expected}.container", "must specify a container")
        if target.get("averageUtilization") is None and target.get("averageValue") is None:
            yield required(
                f"{target_path}.averageUtilization",
                "must set either a target raw value or a target utilization",
            )
        elif target.get("averageUtilization") is not None and target.get("averageValue") is not None:
            yield forbidden(
                f"{target_path}.averageValue", "may not set both a target raw value and a target utilization"
            )
    elif kind == "Pods" and target.get("averageValue") is None:
        yield required(f"{target_path}.averageValue", "must specify a positive target averageValue")


def behavior_problems(behavior: dict[str, Any]) -> Iterator[str]:
    """``validateScalingRules`` for scaleUp and scaleDown."""
    for direction in ("scaleUp", "scaleDown"):
        rules = behavior.get(direction)
        if not isinstance(rules, dict):
            continue
        path = f"spec.behavior.{direction}"
        window = rules.get("stabilizationWindowSeconds")
        if is_int(window) and window < 0:
            yield invalid(
                f"{path}.stabilizationWindowSeconds", window, "must be greater than or equal to zero"
            )
        elif is_int(window) and window > MAX_STABILIZATION_WINDOW:
            yield invalid(
                f"{path}.stabilizationWindowSeconds",
                window,
                f"must be less than or equal to {MAX_STABILIZATION_WINDOW}",
            )
        select = rules.get("selectPolicy")
        if select is not None and select not in ("Disabled", "Max", "Min"):
            yield not_supported(f"{path}.selectPolicy", select, ["Disabled", "Max", "Min"])
        policies = as_list(rules.get("policies"))
        if "policies" in rules and not policies:
            yield required(f"{path}.policies", "must specify at least one Policy")
        for i, policy in enumerate(policies):
            policy = as_dict(policy)
            policy_path = f"{path}.policies[{i}]"
            if policy.get("type") not in ("Percent", "Pods"):
                yield not_supported(f"{policy_path}.type", policy.get("type"), ["Percent", "Pods"])
            for key in ("value", "periodSeconds"):
                value = policy.get(key)
                if is_int(value) and value <= 0:
                    yield invalid(f"{policy_path}.{key}", value, "must be greater than zero")
            period = policy.get("periodSeconds")
            if is_int(period) and period > MAX_PERIOD:
                yield invalid(
                    f"{policy_path}.periodSeconds", period, f"must be less than or equal to {MAX_PERIOD}"
                )


@rule(
    "HPA-METRIC",
    Severity.ERROR,
    "each HPA metric populates its source and a valid target; behavior policies are valid",
    upstream=UPSTREAM,
)
def hpa_metrics(docs: DocSet) -> Iterator[Hit]:
    for hpa in docs.of_kind("HorizontalPodAutoscaler"):
        spec = as_dict(hpa.obj.get("spec"))
        if hpa.api_version == "autoscaling/v1":
            target = spec.get("targetCPUUtilizationPercentage")
            if is_int(target) and target < 1:
                yield Hit(
                    hpa,
                    invalid("spec.targetCPUUtilizationPercentage", target, "must be greater than 0"),
                    "set a CPU utilization percentage of 1 or more (e.g. 50)",
                )
            continue
        for i, metric in enumerate(as_list(spec.get("metrics"))):
            for message in metric_problems(as_dict(metric), f"spec.metrics[{i}]"):
                yield Hit(
                    hpa,
                    message,
                    "e.g. type: Resource, resource: {name: cpu, target: {type: Utilization, "
                    "averageUtilization: 50}}",
                )
        for message in behavior_problems(as_dict(spec.get("behavior"))):
            yield Hit(
                hpa,
                message,
                "see `kubectl explain hpa.spec.behavior`: policies of type Pods or Percent, value > 0",
            )
