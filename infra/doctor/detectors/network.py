"""Traffic that cannot arrive: Services without (ready) endpoints, LoadBalancers without an address, the AWS
Load Balancer Controller's failures, Ingresses without a class, an address or their TLS Secret.

Semantics: the EndpointSlice controller labels a Service's slices ``kubernetes.io/service-name`` and marks
each endpoint ``conditions.ready``; a LoadBalancer Service gets ``status.loadBalancer.ingress`` only from a
controller that serves it (cloud controller manager ``EnsuringLoadBalancer`` / ``SyncLoadBalancerFailed``
events, or the AWS Load Balancer Controller for ``loadBalancerClass: service.k8s.aws/nlb``); an Ingress
controller writes the Ingress's address once it admits it; ingress-nginx serves its default self-signed
certificate for a TLS host whose Secret is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from infra.checks.model import Severity, as_dict, as_list, dig, labels_match
from infra.doctor.registry import Hit, detector
from infra.doctor.snapshot import Snapshot, condition, event_text, name_of, namespace_of

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
DEFAULT_INGRESS_CLASS = "ingressclass.kubernetes.io/is-default-class"
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"

# Warning reasons of the AWS Load Balancer Controller (pkg/k8s/events.go) on Ingress, Service and
# TargetGroupBinding objects; SuccessfullyReconciled clears them.
AWS_LBC_FAILURES: dict[str, tuple[str, str]] = {
    "FailedBuildModel": (
        "the controller cannot turn the object into a load balancer model: annotations, subnets it cannot "
        "discover (tags kubernetes.io/role/elb or kubernetes.io/role/internal-elb), or a certificate",
        "fix what the message names (annotation values, subnet tags, certificate ARN)",
    ),
    "FailedDeployModel": (
        "AWS refused to create or change the load balancer: usually the controller's IAM permissions "
        "(AccessDenied), a quota, or a conflicting security group or target group",
        "grant the controller's IAM role the policy of its release, or fix the AWS error in the message",
    ),
    "FailedAddFinalizer": ("the controller cannot add its finalizer (RBAC or a webhook)", "check its RBAC"),
    "FailedRemoveFinalizer": ("the controller cannot remove its finalizer", "check its RBAC and logs"),
    "FailedUpdateStatus": ("the controller cannot write the address back to the object", "check its RBAC"),
    "FailedCleanupStatus": ("the controller cannot clear the object's status", "check its RBAC and logs"),
    "FailedLoadGroupID": (
        "the Ingress group annotation is invalid",
        "fix alb.ingress.kubernetes.io/group.name",
    ),
    "ConflictingIngressClass": (
        "the Ingress names a class both by annotation and by spec.ingressClassName, differently",
        "keep only spec.ingressClassName",
    ),
    "BackendNotFound": (
        "a TargetGroupBinding names a Service that does not exist",
        "fix the TargetGroupBinding's serviceRef",
    ),
    "FailedNetworkReconcile": (
        "the controller cannot open the security groups for the targets",
        "check the controller's IAM permissions for ec2:AuthorizeSecurityGroupIngress",
    ),
}
AWS_LBC_OK = "SuccessfullyReconciled"
# The cloud controller manager's service controller, on LoadBalancer Services.
SERVICE_CONTROLLER_REASONS = ("EnsuringLoadBalancer", "SyncLoadBalancerFailed", "UnAvailableLoadBalancer")


def _selector_text(selector: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in selector.items())


def _selecting_services(snapshot: Snapshot) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for svc in snapshot.of_kind("Service"):
        selector = as_dict(dig(svc, "spec", "selector"))
        if dig(svc, "spec", "type") != "ExternalName" and selector:
            yield svc, selector


def _slices(snapshot: Snapshot, svc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s
        for s in snapshot.of_kind("EndpointSlice")
        if dig(s, "metadata", "namespace") == namespace_of(svc)
        and dig(s, "metadata", "labels", SERVICE_NAME_LABEL) == name_of(svc)
    ]


def _pod_ready(pod: dict[str, Any]) -> bool:
    cond = condition(pod, "Ready")
    return bool(cond and cond.get("status") == "True")


def _ready_endpoints(slices: list[dict[str, Any]]) -> int:
    return sum(
        1
        for s in slices
        for endpoint in as_list(s.get("endpoints"))
        if dig(endpoint, "conditions", "ready") is not False
    )


@detector(
    "SVC-SELECTOR",
    Severity.ERROR,
    "a Service selector matches pods (else the Service has no endpoints)",
    fix="make spec.selector a subset of the pod template labels of the workload it fronts",
    needs=("Service", "Pod"),
)
def service_selector(snapshot: Snapshot) -> Iterator[Hit]:
    for svc, selector in _selecting_services(snapshot):
        pods = snapshot.pods_in(namespace_of(svc))
        if any(labels_match(selector, as_dict(dig(p, "metadata", "labels"))) for p in pods):
            continue
        slices = _slices(snapshot, svc)
        seen = f"{len(slices)} EndpointSlice(s), {_ready_endpoints(slices)} endpoints; 0 pods match"
        yield Hit(
            svc,
            seen,
            f"selector {_selector_text(selector)} matches no pod in namespace {namespace_of(svc)}: "
            "the Service has no endpoints",
        )


@detector(
    "SVC-ENDPOINTS",
    Severity.ERROR,
    "a Service whose selected pods are all unready (no ready endpoints)",
    fix="fix the pods' readiness (see their findings); traffic flows once one is Ready",
    needs=("Service", "Pod", "EndpointSlice"),
)
def service_endpoints(snapshot: Snapshot) -> Iterator[Hit]:
    for svc, selector in _selecting_services(snapshot):
        pods = [
            p
            for p in snapshot.pods_in(namespace_of(svc))
            if labels_match(selector, as_dict(dig(p, "metadata", "labels")))
        ]
        slices = _slices(snapshot, svc)
        # No slice at all (controller lagging, or a snapshot without them): the pods' Ready condition decides.
        ready = _ready_endpoints(slices) if slices else sum(1 for p in pods if _pod_ready(p))
        if not pods or ready:
            continue
        names = ", ".join(name_of(p) for p in pods[:5])
        yield Hit(
            svc,
            f"{len(slices)} EndpointSlice(s), 0 ready endpoints; {len(pods)} pod(s) match, none Ready: "
            f"{names}",
            "the Service selects pods but none is Ready: connections are refused or time out",
        )


@detector(
    "SVC-LB-PENDING",
    Severity.ERROR,
    "a LoadBalancer Service without an external address (no controller, or the controller fails)",
    fix="run a load-balancer controller for it (cloud controller manager or AWS Load Balancer Controller; "
    "on kind: cloud-provider-kind or MetalLB), or use an Ingress/NodePort",
    needs=("Service", "Event"),
)
def service_lb_pending(snapshot: Snapshot) -> Iterator[Hit]:
    for svc in snapshot.of_kind("Service"):
        if dig(svc, "spec", "type") != "LoadBalancer" or as_list(
            dig(svc, "status", "loadBalancer", "ingress")
        ):
            continue
        lb_class = dig(svc, "spec", "loadBalancerClass")
        events = snapshot.events_for(svc, *SERVICE_CONTROLLER_REASONS, *AWS_LBC_FAILURES)
        if events:
            evidence = f"status.loadBalancer.ingress empty; event {event_text(events[-1])}"
            meaning = "the load-balancer controller tried and has not produced an address (see the event)"
        else:
            evidence = "status.loadBalancer.ingress empty; no events about it"
            meaning = (
                f"no controller acts on loadBalancerClass {lb_class}"
                if lb_class
                else "no load-balancer controller acted on this Service (none installed?)"
            )
            meaning += ": it stays <pending> forever"
        yield Hit(svc, evidence, meaning)


@detector(
    "AWS-LBC",
    Severity.ERROR,
    "the AWS Load Balancer Controller's last word on an object is a failure (FailedBuildModel, "
    "FailedDeployModel...)",
    fix="fix what the controller's message names; it retries on its own",
    needs=("Event",),
)
def aws_load_balancer_controller(snapshot: Snapshot) -> Iterator[Hit]:
    for kind in ("Service", "Ingress", "TargetGroupBinding"):
        for obj in snapshot.of_kind(kind):
            events = snapshot.events_for(obj, AWS_LBC_OK, *AWS_LBC_FAILURES)
            if not events or events[-1].get("reason") == AWS_LBC_OK:
                continue
            meaning, fix = AWS_LBC_FAILURES[str(events[-1].get("reason"))]
            yield Hit(obj, f"event {event_text(events[-1])}", meaning, fix)


def ingress_class(snapshot: Snapshot, ingress: dict[str, Any]) -> tuple[str | None, str]:
    """(class name or None, how it was chosen) as controllers resolve it."""
    if name := dig(ingress, "spec", "ingressClassName"):
        return str(name), "spec.ingressClassName"
    if legacy := dig(ingress, "metadata", "annotations", LEGACY_CLASS_ANNOTATION):
        return str(legacy), f"annotation {LEGACY_CLASS_ANNOTATION}"
    default = next(
        (
            c
            for c in snapshot.of_kind("IngressClass")
            if str(dig(c, "metadata", "annotations", DEFAULT_INGRESS_CLASS)).lower() == "true"
        ),
        None,
    )
    return (name_of(default), "the default IngressClass") if default else (None, "no class and no default")


@detector(
    "ING-CLASS",
    Severity.ERROR,
    "an Ingress whose class matches an IngressClass (or a default exists)",
    fix="set spec.ingressClassName to an existing IngressClass (kubectl get ingressclass)",
    needs=("Ingress", "IngressClass"),
)
def ingress_class_missing(snapshot: Snapshot) -> Iterator[Hit]:
    classes = [name_of(c) for c in snapshot.of_kind("IngressClass")]
    for ingress in snapshot.of_kind("Ingress"):
        name, how = ingress_class(snapshot, ingress)
        if name is None:
            yield Hit(
                ingress,
                f"no spec.ingressClassName, no {LEGACY_CLASS_ANNOTATION} annotation, no default IngressClass "
                f"(classes: {', '.join(classes) or 'none'})",
                "no Ingress controller claims this Ingress: it gets no address and serves nothing",
            )
        elif how == "spec.ingressClassName" and name not in classes:
            yield Hit(
                ingress,
                f"spec.ingressClassName {name}; IngressClasses: {', '.join(classes) or 'none'}",
                f"IngressClass {name} does not exist: no controller serves this Ingress",
            )


@detector(
    "ING-ADDRESS",
    Severity.ERROR,
    "an Ingress with a class but no address (its controller has not admitted it)",
    fix="make sure the Ingress controller of that class runs (kubectl get pods -A -l app.kubernetes.io/name="
    "ingress-nginx) and watches this class",
    needs=("Ingress", "IngressClass"),
)
def ingress_address(snapshot: Snapshot) -> Iterator[Hit]:
    classes = {name_of(c): c for c in snapshot.of_kind("IngressClass")}
    for ingress in snapshot.of_kind("Ingress"):
        name, how = ingress_class(snapshot, ingress)
        if name is None or (how == "spec.ingressClassName" and name not in classes):
            continue  # ING-CLASS reports it
        if as_list(dig(ingress, "status", "loadBalancer", "ingress")):
            continue
        controller = dig(classes.get(name) or {}, "spec", "controller") or "its controller"
        events = [e for e in snapshot.events_for(ingress) if e.get("type") == "Warning"]
        evidence = f"class {name} ({how}); status.loadBalancer.ingress empty"
        if events:
            evidence += f"; event {event_text(events[-1])}"
        yield Hit(
            ingress,
            evidence,
            f"{controller} has not admitted the Ingress (not running, or it failed: see the event)",
        )


@detector(
    "ING-TLS",
    Severity.ERROR,
    "an Ingress TLS secretName is an existing kubernetes.io/tls Secret (else the default certificate is "
    "served)",
    fix="create the Secret (kubectl create secret tls NAME --cert=FILE --key=FILE -n NS; infra reconcile "
    "creates the lab's), or fix secretName",
    needs=("Ingress", "Secret"),
)
def ingress_tls(snapshot: Snapshot) -> Iterator[Hit]:
    for ingress in snapshot.of_kind("Ingress"):
        for tls in as_list(dig(ingress, "spec", "tls")):
            name = dig(tls, "secretName")
            if not name:
                continue
            hosts = ", ".join(str(h) for h in as_list(dig(tls, "hosts"))) or "all hosts"
            secret = snapshot.secret(namespace_of(ingress), str(name))
            if secret is None:
                yield Hit(
                    ingress,
                    f"spec.tls secretName {name} ({hosts}); "
                    f"no Secret {name} in namespace {namespace_of(ingress)}",
                    f"TLS secretName {name} names no Secret: the controller serves its default (self-signed) "
                    f"certificate for {hosts}, and clients reject it",
                )
            elif secret.get("type") != "kubernetes.io/tls":
                yield Hit(
                    ingress,
                    f"spec.tls secretName {name}; Secret {name} is of type {secret.get('type') or 'Opaque'}",
                    f"TLS Secret {name} is not of type kubernetes.io/tls: the controller may not load it and "
                    "serve its default certificate",
                    "recreate it as type kubernetes.io/tls with tls.crt and tls.key",
                )
