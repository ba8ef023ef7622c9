"""Per-container rules: pinned images, requests within limits, and the pod's QoS class (QOS-1)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from infra.checks.model import (
    DocSet,
    Hit,
    PodTemplate,
    Severity,
    as_dict,
    container_label,
    pod_level_resources,
)
from infra.checks.quantity import parse_quantity
from infra.checks.registry import rule

QOS_RESOURCES = ("cpu", "memory")
HUGEPAGES = "hugepages-"


def image_problem(image: str) -> str | None:
    """Why an image reference is not pinned, or None. ``nginx`` and ``nginx:latest`` are not pinned."""
    if "@" in image:
        return None  # a digest pins the content whatever the tag says
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag (implicitly :latest)"
    tag = last.rsplit(":", 1)[1]
    if tag == "latest":
        return "uses the :latest tag"
    if not tag:
        return "has an empty tag (not a valid image reference)"
    return None


@rule("IMAGE-TAG", Severity.ERROR, "images are pinned by an explicit tag or digest, never latest")
def image_tag(docs: DocSet) -> Iterator[Hit]:
    for template in docs.templates:
        for field, container in template.containers():
            image = container.get("image")
            if isinstance(image, str) and (problem := image_problem(image)):
                yield Hit(
                    template.doc,
                    f"{container_label(field, container)} image {image} {problem}",
                    "pin the image by version tag (e.g. nginx:1.27.3) or by digest (image@sha256:...)",
                )


@rule("RES-LIMITS", Severity.ERROR, "resource quantities parse and requests <= limits")
def requests_within_limits(docs: DocSet) -> Iterator[Hit]:
    for template in docs.templates:
        for field, container in template.containers():
            resources = as_dict(container.get("resources"))
            parsed: dict[str, dict[str, Decimal]] = {"requests": {}, "limits": {}}
            for section, values in parsed.items():
                for name, raw in as_dict(resources.get(section)).items():
                    try:
                        values[name] = parse_quantity(raw)
                    except ValueError as exc:
                        yield Hit(
                            template.doc,
                            f"{container_label(field, container)} resources.{section}.{name}: {exc}",
                            "write a Kubernetes quantity: cpu 250m or 0.5, memory 256Mi or 1Gi",
                        )
            label = container_label(field, container)
            for section, values in parsed.items():
                for name, value in values.items():
                    if value < 0:
                        yield Hit(
                            template.doc,
                            f"{label} resources.{section}.{name} {resources[section][name]} is negative: "
                            "the API server rejects the pod",
                            "write a quantity of zero or more",
                        )
            for name, request in parsed["requests"].items():
                limit = parsed["limits"].get(name)
                if limit is not None and not overcommit_allowed(name) and request != limit:
                    yield Hit(
                        template.doc,
                        f"{label} requests {name} {resources['requests'][name]} but limits it to "
                        f"{resources['limits'][name]}: {name} cannot be overcommitted, "
                        "the API server rejects the pod",
                        f"set the {name} request equal to its limit (or write only the limit)",
                    )
                elif limit is not None and request > limit:
                    yield Hit(
                        template.doc,
                        f"{label} requests {name} {resources['requests'][name]} "
                        f"above its limit {resources['limits'][name]}: the API server rejects the pod",
                        "lower the request or raise the limit (requests <= limits)",
                    )
                elif limit is None and not overcommit_allowed(name):
                    yield Hit(
                        template.doc,
                        f"{label} requests {name} without a limit: {name} cannot be overcommitted, the API "
                        "server rejects the pod",
                        f"set resources.limits.{name} equal to the request (or write only the limit)",
                    )
            names = set(parsed["requests"]) | set(parsed["limits"])
            if any(n.startswith(HUGEPAGES) for n in names) and not names & set(QOS_RESOURCES):
                yield Hit(
                    template.doc,
                    f"{label} asks for huge pages without a cpu or memory request or limit: "
                    "the API server rejects the pod (HugePages require cpu or memory)",
                    "add a memory (or cpu) request and limit beside the hugepages-<size> limit",
                )


def overcommit_allowed(name: str) -> bool:
    """Kubernetes' ``IsOvercommitAllowed``: native resources except huge pages.

    Extended resources (``nvidia.com/gpu``) and ``hugepages-<size>`` need a limit, and a request equal to it.
    """
    native = "/" not in name or "kubernetes.io/" in name
    return native and not name.startswith(HUGEPAGES)


def qos_class(template: PodTemplate, *, pod_level: bool = True) -> str:
    """The pod's QoS class, computed as Kubernetes does (``GetPodQOS``), after requests default to limits.

    Sums cpu/memory requests and limits over containers and init containers (zero quantities do not count);
    no requests and no limits -> BestEffort; every container limits cpu and memory and the sums of
    requests equal the sums of limits -> Guaranteed; anything else -> Burstable. Pod-level ``spec.resources``
    replaces the containers' when set and ``pod_level`` (the target enables PodLevelResources, 1.34+).
    A request defaults to its limit only when it is not written: an explicit ``cpu: 0`` stays zero.
    """
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    pod_resources = as_dict(template.spec.get("resources")) if pod_level else {}
    if pod_resources:
        units = [pod_resources]
    else:
        units = [as_dict(c.get("resources")) for f, c in template.containers() if f != "ephemeralContainers"]
    for resources in units:
        written = as_dict(resources.get("requests"))
        limit = _nonzero(as_dict(resources.get("limits")))
        request = {**{k: v for k, v in limit.items() if k not in written}, **_nonzero(written)}
        for name, value in request.items():
            requests[name] = requests.get(name, Decimal(0)) + value
        for name, value in limit.items():
            limits[name] = limits.get(name, Decimal(0)) + value
        if not all(name in limit for name in QOS_RESOURCES):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and all(limits.get(name) == value for name, value in requests.items()):
        return "Guaranteed" if len(requests) == len(limits) else "Burstable"
    return "Burstable"


def _nonzero(values: dict) -> dict[str, Decimal]:
    parsed: dict[str, Decimal] = {}
    for name in QOS_RESOURCES:
        if name in values:
            try:
                quantity = parse_quantity(values[name])
            except ValueError:
                continue  # RES-LIMITS reports it
            if quantity != 0:
                parsed[name] = quantity
    return parsed


QOS_HINTS = {
    "Guaranteed": "requests == limits for cpu and memory in every container: evicted last on node pressure",
    "Burstable": "for Guaranteed set requests equal to limits for cpu and memory in every container",
    "BestEffort": "no cpu/memory requests or limits: evicted first; set requests (and limits) for Burstable",
}


@rule("QOS-CLASS", Severity.INFO, "each pod template's QoS class (Guaranteed, Burstable, BestEffort)")
def qos(docs: DocSet) -> Iterator[Hit]:
    for template in docs.templates:
        qos_name = qos_class(template, pod_level=pod_level_resources(docs.kube_version))
        yield Hit(template.doc, f"QoS class {qos_name}", QOS_HINTS[qos_name])
