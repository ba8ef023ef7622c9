"""Cross-object wiring: Services select pods, Ingresses reach Services, StatefulSets get headless Services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from infra.checks.model import (
    DocSet,
    Hit,
    Severity,
    as_dict,
    as_list,
    dig,
    labels_match,
    supplied_at_runtime,
)
from infra.checks.registry import rule
from infra.render import Document


def _selector_text(selector: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in selector.items())


def _services(docs: DocSet) -> Iterator[tuple[Document, dict[str, Any]]]:
    for svc in docs.of_kind("Service"):
        spec = as_dict(svc.obj.get("spec"))
        selector = as_dict(spec.get("selector"))
        if spec.get("type") != "ExternalName" and selector:
            yield svc, selector


@rule("SVC-SELECTOR", Severity.ERROR, "a Service selector matches a pod template in the set")
def service_selector(docs: DocSet) -> Iterator[Hit]:
    for svc, selector in _services(docs):
        if not any(labels_match(selector, t.labels) for t in docs.templates_in(docs.ns(svc))):
            yield Hit(
                svc,
                f"selector {_selector_text(selector)} matches no pod template in namespace {docs.ns(svc)}: "
                "the Service would have no endpoints",
                "make spec.selector a subset of the pod template labels of the workload it fronts",
            )


@rule("SVC-PORT", Severity.ERROR, "a named targetPort is a named container port of the selected pods")
def service_named_port(docs: DocSet) -> Iterator[Hit]:
    for svc, selector in _services(docs):
        matched = [t for t in docs.templates_in(docs.ns(svc)) if labels_match(selector, t.labels)]
        if not matched:
            continue  # SVC-SELECTOR reports it
        # (name, protocol) as Kubernetes' FindPort matches them: containers and sidecars, protocol default TCP
        named = {
            (port.get("name"), port.get("protocol") or "TCP")
            for t in matched
            for _field, container in t.running_containers()
            for port in as_list(container.get("ports"))
            if isinstance(port, dict) and port.get("name")
        }
        for port in as_list(dig(svc.obj, "spec", "ports")):
            target, protocol = dig(port, "targetPort"), dig(port, "protocol") or "TCP"
            if isinstance(target, str) and not target.isdigit() and (target, protocol) not in named:
                listed = ", ".join(sorted(f"{n}/{p}" for n, p in named)) or "none"
                yield Hit(
                    svc,
                    f"targetPort {target!r} is not a named container port of the selected pods with protocol "
                    f"{protocol} (named ports: {listed})",
                    "name the container port (ports[].name, same protocol) or use the port number",
                )


@rule("STS-SERVICE", Severity.ERROR, "a StatefulSet's serviceName is a headless Service selecting its pods")
def statefulset_service(docs: DocSet) -> Iterator[Hit]:
    for sts in docs.of_kind("StatefulSet"):
        name = dig(sts.obj, "spec", "serviceName")
        if not name:
            continue
        svc = docs.get("Service", docs.ns(sts), str(name))
        template = docs.template_of(sts)
        labels = template.labels if template else {}
        if svc is None:
            yield Hit(
                sts,
                f"serviceName {name} names no Service in namespace {docs.ns(sts)}: "
                "pods get no stable DNS names",
                f"add a headless Service {name} (clusterIP: None) selecting the StatefulSet's pods",
            )
        elif (cluster_ip := dig(svc.obj, "spec", "clusterIP")) != "None":
            yield Hit(
                sts,
                f"serviceName {name} is not headless (clusterIP: {cluster_ip or 'auto'}): "
                f"no per-pod DNS records <pod>.{name}",
                f"set spec.clusterIP: None on Service {name} (use a second Service for a single virtual IP)",
            )
        elif not labels_match(as_dict(dig(svc.obj, "spec", "selector")), labels):
            yield Hit(
                sts,
                f"headless Service {name} does not select this StatefulSet's pods "
                f"(selector {_selector_text(as_dict(dig(svc.obj, 'spec', 'selector'))) or 'none'})",
                "make the Service selector a subset of spec.template.metadata.labels",
            )


def _ingress_backends(ingress: Document) -> Iterator[dict[str, Any]]:
    spec = as_dict(ingress.obj.get("spec"))
    default = dig(spec, "defaultBackend", "service")
    if isinstance(default, dict):
        yield default
    for ingress_rule in as_list(spec.get("rules")):
        for path in as_list(dig(ingress_rule, "http", "paths")):
            service = dig(path, "backend", "service")
            if isinstance(service, dict):
                yield service


PATH_TYPES = ("Exact", "Prefix", "ImplementationSpecific")
INVALID_PATH_PARTS = ("//", "/./", "/../", "%2f", "%2F")  # apiserver's invalidPathSequences
INVALID_PATH_ENDS = ("/..", "/.")


def path_problem(path: Any, path_type: Any) -> str | None:
    """Why the API server rejects an Ingress path (``validateHTTPIngressPath``), or None.

    A missing ``pathType`` is left to the schema, which requires it.
    """
    if path_type is None:
        return None
    if path_type not in PATH_TYPES:
        return f"pathType {path_type} is not one of {', '.join(PATH_TYPES)}"
    text = "" if path is None else str(path)
    if (path_type != "ImplementationSpecific" or text) and not text.startswith("/"):
        return f"path {text!r} (pathType {path_type}) must be an absolute path"
    if path_type != "ImplementationSpecific":
        if bad := next((part for part in INVALID_PATH_PARTS if part in text), None):
            return f"path {text!r} must not contain {bad!r}"
        if bad := next((end for end in INVALID_PATH_ENDS if text.endswith(end)), None):
            return f"path {text!r} cannot end with {bad!r}"
    return None


@rule(
    "ING-BACKEND",
    Severity.ERROR,
    "Ingress paths are valid and backends name Services and ports in the set",
)
def ingress_backend(docs: DocSet) -> Iterator[Hit]:
    for ingress in docs.of_kind("Ingress"):
        for ingress_rule in as_list(dig(ingress.obj, "spec", "rules")):
            for path in as_list(dig(ingress_rule, "http", "paths")):
                if problem := path_problem(dig(path, "path"), dig(path, "pathType")):
                    yield Hit(
                        ingress,
                        f"{problem}: the API server rejects the Ingress",
                        "write an absolute, normalized path (e.g. /api) and a pathType of Prefix, Exact or "
                        "ImplementationSpecific",
                    )
        for backend in _ingress_backends(ingress):
            name, port = backend.get("name"), as_dict(backend.get("port"))
            svc = docs.get("Service", docs.ns(ingress), str(name))
            if svc is None:
                yield Hit(
                    ingress,
                    f"backend Service {name} is not in the set (namespace {docs.ns(ingress)}): "
                    "the controller answers 503",
                    "fix the backend service name, or check the Ingress together with its Service",
                )
                continue
            ports = [p for p in as_list(dig(svc.obj, "spec", "ports")) if isinstance(p, dict)]
            number, port_name = port.get("number"), port.get("name")
            if (number is not None and not any(p.get("port") == number for p in ports)) or (
                port_name is not None and not any(p.get("name") == port_name for p in ports)
            ):
                listed = ", ".join(
                    f"{p.get('port')}" + (f"/{p['name']}" if p.get("name") else "") for p in ports
                )
                wanted = number if number is not None else port_name
                yield Hit(
                    ingress,
                    f"backend Service {name} has no port {wanted} (its ports: {listed or 'none'})",
                    "use one of the Service's ports[].port numbers or ports[].name",
                )


@rule(
    "ING-TLS",
    Severity.ERROR,
    "an Ingress TLS secretName is a kubernetes.io/tls Secret in the set or run-time",
)
def ingress_tls(docs: DocSet) -> Iterator[Hit]:
    for ingress in docs.of_kind("Ingress"):
        declared, _bad = supplied_at_runtime(ingress.obj)
        for tls in as_list(dig(ingress.obj, "spec", "tls")):
            name = dig(tls, "secretName")
            if not name:
                continue
            secret = docs.get("Secret", docs.ns(ingress), str(name))
            if secret is not None:
                if secret.obj.get("type") != "kubernetes.io/tls":
                    yield Hit(
                        ingress,
                        f"TLS Secret {name} is of type {secret.obj.get('type') or 'Opaque'}, "
                        "not kubernetes.io/tls",
                        "make it type: kubernetes.io/tls with tls.crt and tls.key",
                    )
            elif ("Secret", str(name)) not in declared:
                elsewhere = sorted(
                    docs.ns(s)
                    for s in docs.of_kind("Secret")
                    if s.name == str(name) and docs.ns(s) != docs.ns(ingress)
                )
                other = (
                    f" (a Secret {name} is in namespace {', '.join(elsewhere)}: an Ingress can only use "
                    f"Secrets of its own namespace {docs.ns(ingress)})"
                    if elsewhere
                    else ""
                )
                yield Hit(
                    ingress,
                    f"TLS secretName {name} names no Secret in the set, "
                    f"and none is declared supplied at run time{other}",
                    f'annotate the Ingress infra.lab/supplied-at-runtime: "Secret/{name}" if it is created '
                    "at run time (keys never go in git), or fix the name",
                )
