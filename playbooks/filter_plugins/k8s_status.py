"""Readiness decisions on objects returned by ``kubernetes.core.k8s_info``.

The roles poll with ``until:`` and then ``assert`` with a clear message; the decision of "is it ready"
lives here, in plain Python, so it is unit-tested against recorded API responses
(tests/unit/playbooks/test_k8s_status_filters.py) instead of being a long Jinja expression in YAML.

Every filter takes the ``resources`` list of a ``k8s_info`` result (or one object) and never raises on
a missing field: an object that is not there yet is simply "not ready".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any


def _first(resources: Any) -> Mapping[str, Any]:
    """The first object of a ``k8s_info`` ``resources`` list, or the object itself."""
    if isinstance(resources, Mapping):
        return resources
    if isinstance(resources, list) and resources and isinstance(resources[0], Mapping):
        return resources[0]
    return {}


def k8s_condition_true(resources: Any, condition_type: str) -> bool:
    """True when the object's ``status.conditions`` has ``condition_type`` with status "True".

    Used for APIService ``Available`` (metrics-server) and CRD ``Established``.
    """
    conditions = (_first(resources).get("status") or {}).get("conditions") or []
    return any(c.get("type") == condition_type and str(c.get("status")) == "True" for c in conditions)


def k8s_rollout_complete(resources: Any) -> bool:
    """True when a Deployment or DaemonSet has rolled out its current spec and every replica is available.

    The same test as ``kubectl rollout status``: the controller has observed the latest generation, all
    replicas are updated, and all are available (Deployment) or ready (DaemonSet).
    """
    obj = _first(resources)
    if not obj:
        return False
    status = obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation", 0)
    if status.get("observedGeneration", -1) < generation:
        return False
    if obj.get("kind") == "DaemonSet":
        desired = status.get("desiredNumberScheduled", 0)
        return (
            desired > 0
            and status.get("updatedNumberScheduled", 0) == desired
            and status.get("numberReady", 0) == desired
        )
    wanted = (obj.get("spec") or {}).get("replicas", 1)
    return (
        wanted > 0
        and status.get("updatedReplicas", 0) == wanted
        and status.get("availableReplicas", 0) == wanted
        and status.get("replicas", 0) == wanted  # no old pods left over
    )


def k8s_lb_address(resources: Any) -> str:
    """The first load-balancer hostname (AWS NLB) or IP of a Service; "" until one is assigned."""
    ingress = ((_first(resources).get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    for entry in ingress:
        address = entry.get("hostname") or entry.get("ip")
        if address:
            return str(address)
    return ""


def k8s_ready_endpoints(resources: Any) -> int:
    """How many ready endpoints a list of EndpointSlices has (e.g. behind a webhook Service)."""
    slices = resources if isinstance(resources, list) else [resources]
    count = 0
    for item in slices:
        for endpoint in (item or {}).get("endpoints") or []:
            ready = (endpoint.get("conditions") or {}).get("ready")
            if ready is None or ready:  # absent means ready (discovery.k8s.io/v1)
                count += len(endpoint.get("addresses") or [])
    return count


def is_ip_address(value: Any) -> bool:
    """True for an IPv4/IPv6 address: the kubelet resolves NFS server names with the node's resolver,
    not cluster DNS, so the provisioner is given an IP."""
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


class FilterModule:
    """Ansible entry point: the filters above, by name."""

    def filters(self) -> dict[str, Any]:
        return {
            "k8s_condition_true": k8s_condition_true,
            "k8s_rollout_complete": k8s_rollout_complete,
            "k8s_lb_address": k8s_lb_address,
            "k8s_ready_endpoints": k8s_ready_endpoints,
            "is_ip_address": is_ip_address,
        }
