"""Deployments, ReplicaSets, StatefulSets, DaemonSets as the API server validates them (apps/validation).

Each check here is one the v1.36 API server applies on create (``ValidateDeploymentSpec``,
``ValidateStatefulSetSpec``, ``ValidateDaemonSetSpec``, ``ValidateRollingUpdate*``), after the defaults
``apps/v1`` fills in: a Deployment's rolling update defaults ``maxSurge`` and ``maxUnavailable`` to 25%, a
DaemonSet's ``maxUnavailable`` to 1 and ``maxSurge`` to 0, a pod template's ``restartPolicy`` to ``Always``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from infra.checks.model import DocSet, Hit, Severity, as_dict, dig, label_selector_matches
from infra.checks.registry import rule
from infra.checks.rules.upstream import forbidden, invalid, is_int, not_supported, required, source
from infra.render import Document

UPSTREAM = source("apps")
APPS_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")
# the word ValidateXSpec uses in "empty selector is invalid for ..." (ReplicaSet shares Deployment's)
EMPTY_SELECTOR_WORD = {
    "Deployment": "deployment",
    "ReplicaSet": "deployment",
    "StatefulSet": "statefulset",
    "DaemonSet": "daemonset",
}
# the kind named in "activeDeadlineSeconds in ... is not Supported" (Deployments share ReplicaSet's check)
DEADLINE_WORD = {
    "Deployment": "ReplicaSet",
    "ReplicaSet": "ReplicaSet",
    "StatefulSet": "StatefulSet",
    "DaemonSet": "DaemonSet",
}
PERCENT = re.compile(r"[0-9]+%")
PERCENT_MSG = (
    "a valid percent string must be a numeric string followed by an ending '%' "
    "(e.g. '1%' or '93%', regex used for validation is '[0-9]+%')"
)


def template_labels(doc: Document) -> dict[str, Any]:
    return as_dict(dig(doc.obj, "spec", "template", "metadata", "labels"))


def selector_problems(doc: Document, kind_word: str) -> Iterator[str]:
    """``spec.selector`` empty, or not matching the pod template's labels (``selector.Matches``)."""
    selector = dig(doc.obj, "spec", "selector")
    if not isinstance(selector, dict):
        return  # a missing selector is a schema error (required in apps/v1)
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        yield invalid("spec.selector", selector, f"empty selector is invalid for {kind_word}")
        return
    labels = template_labels(doc)
    if not label_selector_matches(selector, labels):
        yield invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`")


def template_problems(doc: Document) -> Iterator[str]:
    """Controllers keep pods running: ``restartPolicy`` must be Always, no ``activeDeadlineSeconds``."""
    spec = as_dict(dig(doc.obj, "spec", "template", "spec"))
    policy = spec.get("restartPolicy")
    if policy not in (None, "", "Always"):
        yield not_supported("spec.template.spec.restartPolicy", policy, ["Always"])
    if spec.get("activeDeadlineSeconds") is not None:
        yield forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            f"activeDeadlineSeconds in {DEADLINE_WORD[doc.kind]} is not Supported",
        )


@rule(
    "APPS-SELECTOR",
    Severity.ERROR,
    "a workload's selector is non-empty and matches its pod template labels; restartPolicy Always",
    upstream=UPSTREAM,
)
def workload_selector(docs: DocSet) -> Iterator[Hit]:
    for doc in docs.of_kind(*APPS_KINDS):
        for message in selector_problems(doc, EMPTY_SELECTOR_WORD[doc.kind]):
            yield Hit(
                doc,
                message,
                "make spec.selector.matchLabels a subset of spec.template.metadata.labels "
                "(the selector is immutable after create: get it right the first time)",
            )
        for message in template_problems(doc):
            yield Hit(doc, message, "remove the field: a controller restarts its pods itself")


def int_or_percent(value: Any) -> int | None:
    """``getIntOrPercentValue``: 3 -> 3, ``"25%"`` -> 25; None for a value that is neither."""
    if is_int(value):
        return int(value)
    if isinstance(value, str) and PERCENT.fullmatch(value):
        return int(value[:-1])
    return None


def int_or_percent_problems(path: str, value: Any, *, max_100: bool = True) -> Iterator[str]:
    """``ValidatePositiveIntOrPercent`` and ``IsNotMoreThan100Percent``."""
    if isinstance(value, str) and not PERCENT.fullmatch(value):
        yield invalid(path, value, PERCENT_MSG)
    elif is_int(value) and value < 0:
        yield invalid(path, value, "must be greater than or equal to 0")
    elif max_100 and isinstance(value, str) and int(value[:-1]) > 100:
        yield invalid(path, value, "must not be greater than 100%")


def nonnegative(doc: Document, *keys: str) -> Iterator[str]:
    value = dig(doc.obj, *keys)
    if is_int(value) and value < 0:
        yield invalid(".".join(keys), value, "must be greater than or equal to 0")


def deployment_problems(doc: Document) -> Iterator[str]:
    spec = as_dict(doc.obj.get("spec"))
    yield from nonnegative(doc, "spec", "replicas")
    yield from nonnegative(doc, "spec", "minReadySeconds")
    strategy = as_dict(spec.get("strategy"))
    rolling = strategy.get("rollingUpdate")
    path = "spec.strategy.rollingUpdate"
    if strategy.get("type") == "Recreate" and rolling is not None:
        yield forbidden(path, "may not be specified when strategy `type` is 'Recreate'")
    elif strategy.get("type") in (None, "RollingUpdate"):
        rolling = as_dict(rolling)
        unavailable, surge = rolling.get("maxUnavailable", "25%"), rolling.get("maxSurge", "25%")
        yield from int_or_percent_problems(f"{path}.maxUnavailable", unavailable)
        yield from int_or_percent_problems(f"{path}.maxSurge", surge, max_100=False)
        if int_or_percent(unavailable) == 0 and int_or_percent(surge) == 0:
            yield invalid(f"{path}.maxUnavailable", unavailable, "may not be 0 when `maxSurge` is 0")
    deadline, min_ready = spec.get("progressDeadlineSeconds"), spec.get("minReadySeconds", 0)
    if is_int(deadline) and is_int(min_ready) and deadline <= min_ready:
        yield invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds")


def daemonset_problems(doc: Document) -> Iterator[str]:
    yield from nonnegative(doc, "spec", "minReadySeconds")
    strategy = as_dict(dig(doc.obj, "spec", "updateStrategy"))
    if strategy.get("type") not in (None, "RollingUpdate"):
        return  # OnDelete; any other type is a schema enum error
    rolling = as_dict(strategy.get("rollingUpdate"))
    path = "spec.updateStrategy.rollingUpdate"
    unavailable, surge = rolling.get("maxUnavailable", 1), rolling.get("maxSurge", 0)
    yield from int_or_percent_problems(f"{path}.maxUnavailable", unavailable)
    yield from int_or_percent_problems(f"{path}.maxSurge", surge)
    has_unavailable, has_surge = (
        int_or_percent(unavailable) not in (0, None),
        int_or_percent(surge) not in (0, None),
    )
    if has_unavailable and has_surge:
        yield invalid(f"{path}.maxSurge", surge, "may not be set when maxUnavailable is non-zero")
    elif not has_unavailable and not has_surge:
        yield required(f"{path}.maxUnavailable", "cannot be 0 when maxSurge is 0")


def statefulset_problems(doc: Document) -> Iterator[str]:
    spec = as_dict(doc.obj.get("spec"))
    yield from nonnegative(doc, "spec", "replicas")
    yield from nonnegative(doc, "spec", "minReadySeconds")
    policy = spec.get("podManagementPolicy")
    if policy is not None and policy not in ("OrderedReady", "Parallel"):
        yield invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'")
    strategy = as_dict(spec.get("updateStrategy"))
    rolling = strategy.get("rollingUpdate")
    path = "spec.updateStrategy.rollingUpdate"
    if strategy.get("type") == "OnDelete" and rolling is not None:
        yield invalid(path, rolling, "only allowed for updateStrategy 'RollingUpdate'")
    elif isinstance(rolling, dict):
        yield from nonnegative(doc, "spec", "updateStrategy", "rollingUpdate", "partition")
        if "maxUnavailable" in rolling:
            unavailable = rolling["maxUnavailable"]
            yield from int_or_percent_problems(f"{path}.maxUnavailable", unavailable)
            if int_or_percent(unavailable) == 0:
                yield invalid(f"{path}.maxUnavailable", unavailable, "cannot be 0")


ROLLOUT_CHECKS = {
    "Deployment": deployment_problems,
    "DaemonSet": daemonset_problems,
    "StatefulSet": statefulset_problems,
}


@rule(
    "APPS-ROLLOUT",
    Severity.ERROR,
    "replicas, rolling-update parameters and deadlines are values the API server accepts",
    upstream=UPSTREAM,
)
def rollout(docs: DocSet) -> Iterator[Hit]:
    for doc in docs.of_kind(*ROLLOUT_CHECKS):
        for message in ROLLOUT_CHECKS[doc.kind](doc):
            yield Hit(doc, message, _rollout_hint(message))


def _rollout_hint(message: str) -> str:
    if "maxSurge is 0" in message or "`maxSurge` is 0" in message:
        return (
            "let the rollout make progress: set maxSurge or maxUnavailable above 0 (e.g. maxUnavailable: 1)"
        )
    if "may not be set when maxUnavailable" in message:
        return "set maxSurge > 0 with maxUnavailable: 0 (surge first), or maxSurge: 0 with maxUnavailable > 0"
    if "progressDeadlineSeconds" in message:
        return "give the rollout longer than minReadySeconds before it counts as stalled (default 600)"
    if "Recreate" in message:
        return "remove rollingUpdate, or use strategy type RollingUpdate"
    return "write a non-negative integer or a percentage such as 25%"
