"""HorizontalPodAutoscaler rules: the two lab mistakes (HPA-4) and reconcile-vs-autoscaler (GIT-4)."""

from __future__ import annotations

from collections.abc import Iterator

from infra.checks.model import (
    DocSet,
    Hit,
    Severity,
    api_group,
    as_dict,
    as_list,
    dig,
    pod_level_resources,
)
from infra.checks.registry import rule
from infra.render import Document

# Kinds with a scale subresource the HPA can drive, and their API group.
SCALABLE_GROUPS = {
    "Deployment": "apps",
    "StatefulSet": "apps",
    "ReplicaSet": "apps",
    "ReplicationController": "",
}
NOT_SCALABLE = {"DaemonSet", "Job", "CronJob", "Pod"}


def _ref(hpa: Document) -> dict:
    return as_dict(dig(hpa.obj, "spec", "scaleTargetRef"))


def _target(docs: DocSet, hpa: Document) -> Document | None:
    ref = _ref(hpa)
    if not ref.get("kind") or not ref.get("name"):
        return None
    return docs.get(str(ref["kind"]), docs.ns(hpa), str(ref["name"]))


@rule(
    "HPA-TARGET",
    Severity.ERROR,
    "scaleTargetRef has apiVersion, kind and name, and names a workload in the set",
)
def scale_target_ref(docs: DocSet) -> Iterator[Hit]:
    for hpa in docs.of_kind("HorizontalPodAutoscaler"):
        ref = _ref(hpa)
        kind, name, api_version = ref.get("kind"), ref.get("name"), ref.get("apiVersion")
        missing = [key for key in ("apiVersion", "kind", "name") if not ref.get(key)]
        if not kind or not name:
            yield Hit(
                hpa,
                f"scaleTargetRef has no {' or '.join(missing)}: "
                "the HPA cannot find what to scale (FailedGetScale)",
                "set scaleTargetRef to the workload: apiVersion: apps/v1, kind: Deployment, name: <name>",
            )
            continue
        target = docs.get(str(kind), docs.ns(hpa), str(name))
        expected = api_group(target.api_version) if target else SCALABLE_GROUPS.get(str(kind))
        right_version = target.api_version if target else ("apps/v1" if expected == "apps" else "v1")
        if not api_version:
            yield Hit(
                hpa,
                f'scaleTargetRef has no apiVersion: FailedGetScale: no matches for kind "{kind}" in group ""',
                f"set scaleTargetRef.apiVersion: {right_version}",
            )
        elif expected is not None and api_group(str(api_version)) != expected:
            yield Hit(
                hpa,
                f"scaleTargetRef.apiVersion {api_version} does not serve {kind}: FailedGetScale: "
                f'no matches for kind "{kind}" in group "{api_group(str(api_version))}"',
                f"set scaleTargetRef.apiVersion: {right_version}",
            )
        if str(kind) in NOT_SCALABLE:
            yield Hit(
                hpa,
                f"scaleTargetRef names a {kind}, which has no scale subresource: FailedGetScale",
                "point the HPA at a Deployment, StatefulSet or ReplicaSet",
            )
        elif (crd_version := _crd_version(docs, str(api_version or ""), str(kind))) is not None and not dig(
            crd_version, "subresources", "scale"
        ):
            yield Hit(
                hpa,
                f"scaleTargetRef names a {kind}, whose CustomResourceDefinition gives version "
                f"{api_version} no scale subresource: FailedGetScale",
                "add subresources.scale (specReplicasPath, statusReplicasPath, labelSelectorPath) to that "
                "version of the CustomResourceDefinition",
            )
        elif target is None:
            yield Hit(
                hpa,
                f"scaleTargetRef names {kind}/{name}, which is not in the set (namespace {docs.ns(hpa)}): "
                "FailedGetScale",
                "fix kind/name, or check the HPA together with the workload it scales",
            )


def _crd_version(docs: DocSet, api_version: str, kind: str) -> dict | None:
    """The ``spec.versions[]`` entry of a CustomResourceDefinition in the set that serves this kind."""
    group, _, version = api_version.rpartition("/")
    for crd in docs.of_kind("CustomResourceDefinition"):
        if dig(crd.obj, "spec", "group") != group or dig(crd.obj, "spec", "names", "kind") != kind:
            continue
        for entry in as_list(dig(crd.obj, "spec", "versions")):
            if isinstance(entry, dict) and entry.get("name") == version:
                return entry
    return None


def utilization_metrics(hpa: Document) -> list[tuple[str, str | None]]:
    """``(resource, container or None)`` the HPA computes as a utilization of the pods' requests.

    With no metrics at all the controller defaults to 80% average CPU utilization, which needs CPU requests
    just the same.
    """
    spec = as_dict(hpa.obj.get("spec"))
    if hpa.api_version == "autoscaling/v1":
        return [("cpu", None)]
    metrics = as_list(spec.get("metrics"))
    if not metrics:
        return [("cpu", None)]
    found: list[tuple[str, str | None]] = []
    for metric in metrics:
        kind = dig(metric, "type")
        source = as_dict(dig(metric, "resource" if kind == "Resource" else "containerResource"))
        if kind in ("Resource", "ContainerResource") and dig(source, "target", "type") == "Utilization":
            container = source.get("container") if kind == "ContainerResource" else None
            found.append((str(source.get("name")), str(container) if container else None))
    return found


@rule("HPA-REQUEST", Severity.ERROR, "every container of a utilization-scaled target requests that resource")
def target_requests(docs: DocSet) -> Iterator[Hit]:
    for hpa in docs.of_kind("HorizontalPodAutoscaler"):
        target = _target(docs, hpa)
        template = docs.template_of(target) if target else None
        if template is None:
            continue
        pod_level = as_dict(template.spec.get("resources")) if pod_level_resources(docs.kube_version) else {}
        running = list(template.running_containers())  # containers and sidecars, as the HPA sums them
        for resource, only in utilization_metrics(hpa):
            if only and not any(container.get("name") == only for _field, container in running):
                names = ", ".join(str(c.get("name")) for _f, c in running) or "none"
                yield Hit(
                    hpa,
                    f"ContainerResource metric names container {only}, which the pods of {target.kind}/"
                    f"{target.name} do not run (containers: {names}): the HPA cannot compute {resource} "
                    "utilization",
                    "set containerResource.container to one of the target's container names",
                )
                continue
            if not only and any(resource in as_dict(pod_level.get(part)) for part in ("requests", "limits")):
                continue  # pod-level requests (defaulted from pod-level limits) are used instead (1.34+)
            for field, container in running:
                if only and container.get("name") != only:
                    continue
                resources = as_dict(container.get("resources"))
                # requests default to limits when only a limit is written
                if resource in as_dict(resources.get("requests")) or resource in as_dict(
                    resources.get("limits")
                ):
                    continue
                yield Hit(
                    target,
                    f"missing request for {resource}: {'sidecar ' if field == 'initContainers' else ''}"
                    f'container "{container.get("name")}" has no '
                    f"resources.requests.{resource}, so HorizontalPodAutoscaler/{hpa.name} cannot compute "
                    f"{resource} utilization",
                    f"set resources.requests.{resource} on every container of {template.path} (e.g. "
                    f"{'200m' if resource == 'cpu' else '256Mi'})",
                )


@rule(
    "HPA-REPLICAS",
    Severity.ERROR,
    "a workload scaled by an HPA sets no spec.replicas (GitOps would fight it)",
)
def no_replicas(docs: DocSet) -> Iterator[Hit]:
    for hpa in docs.of_kind("HorizontalPodAutoscaler"):
        target = _target(docs, hpa)
        if target is not None and "replicas" in as_dict(target.obj.get("spec")):
            yield Hit(
                target,
                f"spec.replicas is set although HorizontalPodAutoscaler/{hpa.name} scales this workload: "
                "every reconcile resets the replica count the autoscaler chose",
                "remove spec.replicas; the HPA's minReplicas sets the floor",
            )


@rule(
    "HPA-VERSION",
    Severity.WARNING,
    "HorizontalPodAutoscalers use autoscaling/v2 (v1 knows only a CPU percentage: no metrics, no behavior)",
)
def hpa_api_version(docs: DocSet) -> Iterator[Hit]:
    for hpa in docs.of_kind("HorizontalPodAutoscaler"):
        if hpa.api_version == "autoscaling/v1":
            yield Hit(
                hpa,
                "autoscaling/v1 HorizontalPodAutoscaler: only targetCPUUtilizationPercentage, no metrics or "
                "behavior; the HPA lab (HPA-1) is an autoscaling/v2 HPA",
                "apiVersion: autoscaling/v2 with spec.metrics: [{type: Resource, resource: {name: cpu, "
                "target: {type: Utilization, averageUtilization: 50}}}]",
            )
