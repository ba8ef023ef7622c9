"""NLB in IP mode (NLB-1) and the AWS facts around the controller (ADD-4).

Registered targets vs pod IPs (NLB-2) is decided by :func:`infra.aws.compare_targets`, next to the boto3
calls that gather the targets; what is left here is what the Service and the instance roles must say.
"""

from __future__ import annotations

import re
from typing import Any

TYPE_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-type"
TARGET_TYPE_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"
SCHEME_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-scheme"
NLB_CLASS = "service.k8s.aws/nlb"


def service_issues(service: dict[str, Any]) -> list[str]:
    """NLB-1: a LoadBalancer Service asking the AWS LB Controller for an internet-facing IP-mode NLB."""
    spec = service.get("spec") or {}
    annotations = (service.get("metadata") or {}).get("annotations") or {}
    issues = []
    if spec.get("type") != "LoadBalancer":
        issues.append(f"type is {spec.get('type')}, expected LoadBalancer")
    by_class = spec.get("loadBalancerClass") == NLB_CLASS
    if not by_class and annotations.get(TYPE_ANNOTATION) != "external":
        issues.append(f"neither loadBalancerClass {NLB_CLASS} nor {TYPE_ANNOTATION}: external")
    if annotations.get(TARGET_TYPE_ANNOTATION) != "ip":
        issues.append(
            f"{TARGET_TYPE_ANNOTATION} is {annotations.get(TARGET_TYPE_ANNOTATION)!r}, expected 'ip'"
        )
    if annotations.get(SCHEME_ANNOTATION) != "internet-facing":
        issues.append(
            f"{SCHEME_ANNOTATION} is {annotations.get(SCHEME_ANNOTATION)!r}, expected 'internet-facing'"
            " (the controller's default is internal)"
        )
    return issues


def load_balancer_hostname(service: dict[str, Any]) -> str | None:
    """The NLB's DNS name once the controller has provisioned it (``status.loadBalancer.ingress``)."""
    for entry in ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
        if entry.get("hostname"):
            return entry["hostname"]
    return None


_PROVIDER_ID = re.compile(r"^aws:///(?P<zone>[a-z]{2}(?:-[a-z]+)+-\d[a-z])/(?P<instance>i-[0-9a-f]+)$")


def instance_of(provider_id: str) -> tuple[str, str]:
    """``aws:///eu-west-1a/i-0abc`` -> (region ``eu-west-1``, instance ``i-0abc``)."""
    match = _PROVIDER_ID.match(provider_id or "")
    if not match:
        raise ValueError(f"not an AWS providerID: {provider_id!r}")
    return match.group("zone")[:-1], match.group("instance")


def policy_attached(attached: list[dict[str, Any]], name_fragment: str) -> bool:
    """``list_attached_role_policies``' AttachedPolicies holds a policy whose name contains the fragment.

    The stack names the controller's policy (``...LoadBalancerController...``); matching a fragment
    case-insensitively accepts the lab's ``AWSLoadBalancerControllerIAMPolicy`` and a stack-prefixed name.
    """
    wanted = name_fragment.lower()
    return any(wanted in str(p.get("PolicyName", "")).lower() for p in attached)
