"""Pods, Services and object metadata as the API server validates them (core/validation), plus probe ports.

Ported from ``ValidatePodSpec`` (container and volume names, ``validateContainerPorts``,
``ValidateVolumeMounts``, ``validateProbe``), ``ValidateService`` (``validateServicePort``) and
``ValidateObjectMeta`` (names and labels). One check is not the API server's: a probe naming a port the
container does not declare is accepted on create but can never succeed (the kubelet resolves a named probe
port among that container's own ``ports``), so ``POD-PROBE`` reports it as well.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from infra.checks.model import DocSet, Hit, PodTemplate, Severity, as_dict, as_list, dig
from infra.checks.registry import rule
from infra.checks.rules.upstream import (
    dns1035_label,
    dns1123_label,
    dns1123_subdomain,
    duplicate,
    forbidden,
    invalid,
    is_int,
    label_key,
    label_value,
    not_found,
    port_name,
    port_number,
    required,
    source,
)
from infra.render import Document

UPSTREAM = source("core")
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
APP_CONTAINERS = ("initContainers", "containers")


def _containers(template: PodTemplate) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """``(path, index, container)`` of init containers and containers, with the pod spec path prefix."""
    for field in APP_CONTAINERS:
        for i, container in enumerate(as_list(template.spec.get(field))):
            if isinstance(container, dict):
                yield f"{template.path}.{field}[{i}]", i, container


def name_problems(template: PodTemplate) -> Iterator[str]:
    """Container names unique across containers and init containers; volume names unique; all DNS labels."""
    seen: set[str] = set()
    for path, _i, container in _containers(template):
        name = container.get("name")
        if not isinstance(name, str):
            continue
        for msg in dns1123_label(name):
            yield invalid(f"{path}.name", name, msg)
        if name in seen:
            yield duplicate(f"{path}.name", name)
        seen.add(name)
    volumes: set[str] = set()
    for i, volume in enumerate(as_list(template.spec.get("volumes"))):
        name = dig(volume, "name")
        if not isinstance(name, str):
            continue
        path = f"{template.path}.volumes[{i}].name"
        for msg in dns1123_label(name):
            yield invalid(path, name, msg)
        if name in volumes:
            yield duplicate(path, name)
        volumes.add(name)


@rule(
    "POD-NAMES",
    Severity.ERROR,
    "container and volume names are unique DNS-1123 labels within a pod",
    upstream=UPSTREAM,
)
def pod_names(docs: DocSet) -> Iterator[Hit]:
    for template in docs.templates:
        for message in name_problems(template):
            yield Hit(
                template.doc,
                message,
                "give every container and every volume of the pod its own lowercase name",
            )


def _volume_names(template: PodTemplate) -> set[str]:
    names = {str(dig(v, "name")) for v in as_list(template.spec.get("volumes")) if dig(v, "name")}
    if template.doc.kind == "StatefulSet":  # each claim template becomes a volume of that name
        claims = as_list(dig(template.doc.obj, "spec", "volumeClaimTemplates"))
        names |= {str(dig(c, "metadata", "name")) for c in claims if dig(c, "metadata", "name")}
    return names


def mount_problems(template: PodTemplate) -> Iterator[str]:
    volumes = _volume_names(template)
    for path, _i, container in _containers(template):
        mount_paths: set[str] = set()
        for m, mount in enumerate(as_list(container.get("volumeMounts"))):
            name, mount_path = dig(mount, "name"), dig(mount, "mountPath")
            where = f"{path}.volumeMounts[{m}]"
            if isinstance(name, str) and name not in volumes:
                yield not_found(f"{where}.name", name)
            if isinstance(mount_path, str):
                if mount_path in mount_paths:
                    yield invalid(f"{where}.mountPath", mount_path, "must be unique")
                mount_paths.add(mount_path)


@rule(
    "POD-MOUNTS",
    Severity.ERROR,
    "every volumeMount names a volume of the pod (or a StatefulSet claim template); mount paths are unique",
    upstream=UPSTREAM,
)
def pod_mounts(docs: DocSet) -> Iterator[Hit]:
    for template in docs.templates:
        for message in mount_problems(template):
            hint = (
                "add the volume to spec.volumes (or volumeClaimTemplates) or fix the mount's name"
                if "Not found" in message
                else "mount each path once per container"
            )
            yield Hit(template.doc, message, hint)


def port_problems(template: PodTemplate) -> Iterator[str]:
    """``validateContainerPorts``: IANA service names, unique per container; port numbers 1-65535."""
    for path, _i, container in _containers(template):
        names: set[str] = set()
        for p, port in enumerate(as_list(container.get("ports"))):
            port = as_dict(port)
            where = f"{path}.ports[{p}]"
            name = port.get("name")
            if isinstance(name, str) and name:
                problems = port_name(name)
                for msg in problems:
                    yield invalid(f"{where}.name", name, msg)
                if not problems and name in names:
                    yield duplicate(f"{where}.name", name)
                names.add(name)
            for key in ("containerPort", "hostPort"):
                number = port.get(key)
                if is_int(number) and (key == "containerPort" or number != 0):
                    for msg in port_number(number):
                        yield invalid(f"{where}.{key}", number, msg)


@rule(
    "POD-PORTS",
    Severity.ERROR,
    "container port names are valid and unique per container, port numbers 1-65535",
    upstream=UPSTREAM,
)
def pod_ports(docs: DocSet) -> Iterator[Hit]:
    for template in docs.templates:
        for message in port_problems(template):
            yield Hit(
                template.doc,
                message,
                "name ports with up to 15 lowercase letters, digits and single hyphens (e.g. http, metrics)",
            )


def _probe_ports(probe: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for handler in ("httpGet", "tcpSocket", "grpc"):
        port = dig(probe, handler, "port")
        if port is not None:
            yield f"{handler}.port", port


def probe_problems(template: PodTemplate) -> Iterator[tuple[str, bool]]:
    """``(message, mirrors upstream)`` for every probe of every container."""
    for path, _i, container in _containers(template):
        named = {str(dig(p, "name")) for p in as_list(container.get("ports")) if dig(p, "name")}
        for kind in PROBES:
            probe = container.get(kind)
            if not isinstance(probe, dict):
                continue
            where = f"{path}.{kind}"
            for key in (
                "initialDelaySeconds",
                "timeoutSeconds",
                "periodSeconds",
                "successThreshold",
                "failureThreshold",
            ):
                value = probe.get(key)
                if is_int(value) and value < 0:
                    yield invalid(f"{where}.{key}", value, "must be greater than or equal to 0"), True
            threshold = probe.get("successThreshold")
            if kind != "readinessProbe" and is_int(threshold) and threshold != 1:
                yield invalid(f"{where}.successThreshold", threshold, "must be 1"), True
            for field, port in _probe_ports(probe):
                if is_int(port):
                    for msg in port_number(port):
                        yield invalid(f"{where}.{field}", port, msg), True
                elif isinstance(port, str):
                    problems = port_name(port)
                    for msg in problems:
                        yield invalid(f"{where}.{field}", port, msg), True
                    if not problems and port not in named:
                        listed = ", ".join(sorted(named)) or "none"
                        yield (
                            f"{where}.{field}: {port!r} is not a named port of container "
                            f"{container.get('name')} (its named ports: {listed}): the probe never succeeds",
                            False,
                        )


@rule(
    "POD-PROBE",
    Severity.ERROR,
    "probe ports are valid and name a port of the same container; liveness/startup successThreshold is 1",
    upstream=UPSTREAM,
)
def pod_probes(docs: DocSet) -> Iterator[Hit]:
    for template in docs.templates:
        for message, _upstream in probe_problems(template):
            if "is not a named port" in message:
                hint = "name the port in this container's ports[] or use the port number"
            elif "must be 1" in message:
                hint = "liveness and startup probes succeed on the first success: set successThreshold: 1"
            else:
                hint = "use a port number 1-65535 or the name of one of the container's ports"
            yield Hit(template.doc, message, hint)


def service_problems(svc: Document) -> Iterator[str]:
    spec = as_dict(svc.obj.get("spec"))
    kind = spec.get("type") or "ClusterIP"
    ports = [as_dict(p) for p in as_list(spec.get("ports"))]
    names: set[str] = set()
    seen: set[tuple[Any, str]] = set()
    headless = spec.get("clusterIP") == "None"
    if headless and kind in ("LoadBalancer", "NodePort"):
        yield invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {kind} services")
    for i, port in enumerate(ports):
        path = f"spec.ports[{i}]"
        name = port.get("name")
        if len(ports) > 1 and not name:
            yield required(f"{path}.name")
        elif isinstance(name, str) and name:
            for msg in dns1123_label(name):
                yield invalid(f"{path}.name", name, msg)
            if name in names:
                yield duplicate(f"{path}.name", name)
            names.add(name)
        number = port.get("port")
        if is_int(number):
            for msg in port_number(number):
                yield invalid(f"{path}.port", number, msg)
            key = (number, port.get("protocol") or "TCP")
            if key in seen:
                yield duplicate(path, {"port": number, "protocol": key[1]})
            seen.add(key)
        target = port.get("targetPort")
        if is_int(target):
            for msg in port_number(target):
                yield invalid(f"{path}.targetPort", target, msg)
        elif isinstance(target, str) and not target.isdigit():
            for msg in port_name(target):
                yield invalid(f"{path}.targetPort", target, msg)
        if kind == "ClusterIP" and port.get("nodePort"):
            yield forbidden(f"{path}.nodePort", "may not be used when `type` is 'ClusterIP'")


@rule(
    "SVC-SPEC",
    Severity.ERROR,
    "Service ports: named when several, unique names and port/protocol, valid numbers and targetPorts",
    upstream=UPSTREAM,
)
def service_spec(docs: DocSet) -> Iterator[Hit]:
    for svc in docs.of_kind("Service"):
        for message in service_problems(svc):
            yield Hit(svc, message, "give each port a unique lowercase name and a unique port/protocol pair")


# Which name syntax ValidateObjectMeta applies per kind (the kinds labs and users write by hand).
NAME_RULES: dict[str, tuple[str, Callable[[str], list[str]]]] = {
    "Service": ("DNS-1035 label", dns1035_label),
    "Namespace": ("DNS-1123 label", dns1123_label),
    "StatefulSet": ("DNS-1123 label", dns1123_label),
    **{
        kind: ("DNS-1123 subdomain", dns1123_subdomain)
        for kind in (
            "Pod",
            "Deployment",
            "ReplicaSet",
            "DaemonSet",
            "Job",
            "CronJob",
            "ConfigMap",
            "Secret",
            "PersistentVolumeClaim",
            "PersistentVolume",
            "ServiceAccount",
            "Ingress",
            "IngressClass",
            "StorageClass",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "PriorityClass",
        )
    },
}


def label_problems(labels: Any, path: str) -> Iterator[str]:
    """``ValidateLabels``: each key a qualified name, each value a label value (strings, 63 characters)."""
    for key, value in as_dict(labels).items():
        for msg in label_key(str(key)):
            yield invalid(path, str(key), msg)
        if isinstance(value, str):
            for msg in label_value(value):
                yield invalid(path, value, msg)


def meta_problems(doc: Document) -> Iterator[str]:
    name = doc.metadata.get("name")
    if isinstance(name, str) and name and doc.kind in NAME_RULES:
        for msg in NAME_RULES[doc.kind][1](name):
            yield invalid("metadata.name", name, msg)
    yield from label_problems(doc.metadata.get("labels"), "metadata.labels")
    if doc.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"):
        yield from label_problems(
            dig(doc.obj, "spec", "template", "metadata", "labels"), "spec.template.labels"
        )
        yield from label_problems(
            dig(doc.obj, "spec", "selector", "matchLabels"), "spec.selector.matchLabels"
        )
    elif doc.kind == "Service":
        yield from label_problems(dig(doc.obj, "spec", "selector"), "spec.selector")


@rule(
    "META-NAMES",
    Severity.ERROR,
    "object names are DNS-1123 (Services: DNS-1035) names; label keys and values are valid",
    upstream=UPSTREAM,
)
def meta_names(docs: DocSet) -> Iterator[Hit]:
    for doc in docs.docs:
        for message in meta_problems(doc):
            hint = (
                "use lowercase letters, digits and '-' ('.' too where a subdomain is allowed)"
                if message.startswith("metadata.name")
                else "label keys: [prefix/]name; values: up to 63 of A-Z a-z 0-9 - _ . (alphanumeric ends)"
            )
            yield Hit(doc, message, hint)
