"""HorizontalPodAutoscalers that cannot scale, and the metrics API they depend on.

Status semantics of the HPA controller: ``AbleToScale=False`` reason ``FailedGetScale`` ("the HPA controller
was unable to get the target's current scale: ...") when scaleTargetRef does not resolve;
``ScalingActive=False`` reason ``FailedGetResourceMetric`` ("the HPA was unable to compute the replica count:
failed to get cpu utilization: ...") when metrics are missing or a container has no request ("missing request
for cpu in container app of Pod ..."); ``ScalingLimited=True`` reason ``TooManyReplicas`` when it wants more
than maxReplicas. Resource metrics come from the APIService ``v1beta1.metrics.k8s.io`` (metrics-server), whose
``Available`` condition says whether the aggregator can reach it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from infra.checks.model import Severity, api_group, as_dict, dig
from infra.doctor.registry import Hit, detector
from infra.doctor.snapshot import Snapshot, condition, condition_text, event_text, name_of, namespace_of

METRICS_APISERVICE = "v1beta1.metrics.k8s.io"
METRIC_FAILURES = (
    "FailedGetResourceMetric",
    "FailedGetContainerResourceMetric",
    "FailedGetPodsMetric",
    "FailedGetObjectMetric",
    "FailedGetExternalMetric",
)
MISSING_REQUEST = re.compile(r'missing request for (\S+) in container "?([^"\s]+)"? of Pod "?([^"\s]+)"?')
SCALABLE_GROUPS = {
    "Deployment": "apps",
    "StatefulSet": "apps",
    "ReplicaSet": "apps",
    "ReplicationController": "",
}


def _evidence(snapshot: Snapshot, hpa: dict[str, Any], cond: dict[str, Any] | None, reason: str) -> str:
    parts = [condition_text(cond)] if cond else []
    if events := snapshot.events_for(hpa, reason):
        parts.append(f"event {event_text(events[-1])}")
    return "; ".join(parts)


@detector(
    "HPA-TARGET",
    Severity.ERROR,
    "scaleTargetRef has apiVersion, kind and name, and names a workload that exists (FailedGetScale)",
    fix="set scaleTargetRef to the workload: apiVersion: apps/v1, kind: Deployment, name: <name>",
    needs=("HorizontalPodAutoscaler",),
)
def hpa_target(snapshot: Snapshot) -> Iterator[Hit]:
    for hpa in snapshot.of_kind("HorizontalPodAutoscaler"):
        cond = condition(hpa, "AbleToScale")
        failing = cond and cond.get("status") == "False" and cond.get("reason") == "FailedGetScale"
        events = snapshot.events_for(hpa, "FailedGetScale", "SuccessfulRescale")
        if not failing and not (cond is None and events and events[-1].get("reason") == "FailedGetScale"):
            continue
        ref = as_dict(dig(hpa, "spec", "scaleTargetRef"))
        kind, name, api_version = ref.get("kind"), ref.get("name"), ref.get("apiVersion")
        group = SCALABLE_GROUPS.get(str(kind))
        right = "apps/v1" if group == "apps" else "v1"
        if not api_version:
            meaning = (
                f'scaleTargetRef has no apiVersion: FailedGetScale: no matches for kind "{kind}" in group '
                '"": the HPA cannot find what to scale'
            )
            fix = f"set scaleTargetRef.apiVersion: {right}"
        elif group is not None and api_group(str(api_version)) != group:
            meaning = f"scaleTargetRef.apiVersion {api_version} does not serve {kind}: FailedGetScale"
            fix = f"set scaleTargetRef.apiVersion: {right}"
        elif snapshot.collected(str(kind)) and snapshot.get(str(kind), namespace_of(hpa), str(name)) is None:
            meaning = (
                f"scaleTargetRef names {kind}/{name}, which does not exist in namespace {namespace_of(hpa)}"
            )
            fix = "fix scaleTargetRef.name/kind, or create the workload"
        else:
            meaning = "the HPA controller cannot read the scale subresource of its target"
            fix = None
        yield Hit(hpa, _evidence(snapshot, hpa, cond if failing else None, "FailedGetScale"), meaning, fix)


def _scaling_inactive(hpa: dict[str, Any]) -> dict[str, Any] | None:
    cond = condition(hpa, "ScalingActive")
    if cond and cond.get("status") == "False" and cond.get("reason") in METRIC_FAILURES:
        return cond
    return None


@detector(
    "HPA-REQUEST",
    Severity.ERROR,
    "every container of a utilization-scaled target requests that resource (missing request for cpu)",
    fix="set resources.requests.cpu on every container of the target's pod template (e.g. 200m)",
    needs=("HorizontalPodAutoscaler",),
)
def hpa_request(snapshot: Snapshot) -> Iterator[Hit]:
    for hpa in snapshot.of_kind("HorizontalPodAutoscaler"):
        cond = _scaling_inactive(hpa)
        match = MISSING_REQUEST.search(str(cond.get("message"))) if cond else None
        if not cond or not match:
            continue
        resource, container, pod = match.groups()
        target = as_dict(dig(hpa, "spec", "scaleTargetRef"))
        yield Hit(
            hpa,
            _evidence(snapshot, hpa, cond, str(cond.get("reason"))),
            f'missing request for {resource}: container "{container}" (pod {pod}) has no '
            f"resources.requests.{resource}, so HorizontalPodAutoscaler/{name_of(hpa)} cannot compute "
            f"{resource} "
            "utilization",
            f"set resources.requests.{resource} on every container of "
            f"{target.get('kind')}/{target.get('name')}'s "
            f"pod template (e.g. {'200m' if resource == 'cpu' else '256Mi'})",
        )


def metrics_api_state(snapshot: Snapshot) -> tuple[str, str]:
    """``("missing" | "unavailable" | "available" | "unknown", evidence)`` of the resource metrics API."""
    if not snapshot.collected("APIService"):
        return "unknown", "APIServices could not be listed"
    api = snapshot.get("APIService", "", METRICS_APISERVICE)
    if api is None:
        return "missing", f"no APIService {METRICS_APISERVICE}"
    cond = condition(api, "Available")
    if cond and cond.get("status") == "True":
        return "available", f"APIService {METRICS_APISERVICE} {condition_text(cond)}"
    return "unavailable", f"APIService {METRICS_APISERVICE} " + (
        condition_text(cond) if cond else "has no Available condition"
    )


METRICS_FIX = {
    "missing": "install metrics-server (the lab's addons do; on kind it needs --kubelet-insecure-tls)",
    "unavailable": "fix metrics-server: kubectl -n kube-system get pods,endpoints -l k8s-app=metrics-server; "
    "kubectl -n kube-system logs deploy/metrics-server",
}


@detector(
    "HPA-METRICS",
    Severity.ERROR,
    "an HPA that gets no metrics (FailedGetResourceMetric): metrics-server missing, unavailable, or no "
    "data yet",
    fix="make the metrics API serve the target's pods (metrics-server installed and Available)",
    needs=("HorizontalPodAutoscaler",),
)
def hpa_metrics(snapshot: Snapshot) -> Iterator[Hit]:
    state, api_evidence = metrics_api_state(snapshot)
    for hpa in snapshot.of_kind("HorizontalPodAutoscaler"):
        cond = _scaling_inactive(hpa)
        if not cond or MISSING_REQUEST.search(str(cond.get("message"))):
            continue
        evidence = _evidence(snapshot, hpa, cond, str(cond.get("reason")))
        if state in ("missing", "unavailable"):
            meaning = f"the resource metrics API is {state} ({api_evidence}): the HPA has nothing to scale on"
        elif state == "available":
            meaning = (
                "the metrics API is up but has no usable metrics for the target's pods: pods too new, not "
                "Running, or metrics-server cannot scrape their kubelets"
            )
        else:
            meaning = "the HPA gets no metrics for its target"
        yield Hit(hpa, evidence, meaning, METRICS_FIX.get(state))


@detector(
    "METRICS-API",
    Severity.ERROR,
    f"the resource metrics API ({METRICS_APISERVICE}) exists and is Available when HPAs need it",
    fix=METRICS_FIX["unavailable"],
    needs=("APIService", "HorizontalPodAutoscaler"),
)
def metrics_api(snapshot: Snapshot) -> Iterator[Hit]:
    state, evidence = metrics_api_state(snapshot)
    api = snapshot.get("APIService", "", METRICS_APISERVICE)
    if state == "unavailable" and api is not None:
        yield Hit(
            api,
            evidence,
            "the aggregator cannot reach metrics-server: kubectl top and every resource-metric HPA fail, and "
            "API discovery reports the group as unavailable",
        )
    elif state == "missing" and (hpas := snapshot.of_kind("HorizontalPodAutoscaler")):
        names = ", ".join(f"{namespace_of(h)}/{name_of(h)}" for h in hpas[:5])
        yield Hit(
            hpas[0],
            f"{evidence}; HorizontalPodAutoscalers: {names}",
            "no metrics-server is installed, so no HorizontalPodAutoscaler can compute utilization",
            METRICS_FIX["missing"],
        )


@detector(
    "HPA-LIMITED",
    Severity.WARNING,
    "an HPA held at maxReplicas while it wants more (ScalingLimited TooManyReplicas)",
    fix="raise maxReplicas (and check the nodes can hold them), or make each pod do more",
    needs=("HorizontalPodAutoscaler",),
)
def hpa_limited(snapshot: Snapshot) -> Iterator[Hit]:
    for hpa in snapshot.of_kind("HorizontalPodAutoscaler"):
        cond = condition(hpa, "ScalingLimited")
        if not cond or cond.get("status") != "True" or cond.get("reason") != "TooManyReplicas":
            continue
        yield Hit(
            hpa,
            condition_text(cond),
            f"the load needs more than maxReplicas {dig(hpa, 'spec', 'maxReplicas')} pods "
            f"(current {dig(hpa, 'status', 'currentReplicas')}): the HPA is capped and the pods stay hot",
        )
