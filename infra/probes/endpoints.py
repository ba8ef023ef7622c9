"""Which pods a Service sends traffic to, from its EndpointSlices (TLS-1; the cluster DNS prerequisite).

EndpointSlices (``discovery.k8s.io/v1``) replace the v1 Endpoints API, deprecated since Kubernetes 1.33. A
Service's slices carry the label ``kubernetes.io/service-name: <service>``; each lists ports and endpoints,
and an endpoint receives traffic when ``conditions.ready`` is true (the API says an unset ``ready`` means
true). A Service may have several slices (one per address family, or more than 100 endpoints).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def selector(service: str) -> str:
    """The label selector of a Service's EndpointSlices."""
    return f"{SERVICE_NAME_LABEL}={service}"


def _ready(endpoint: Mapping[str, Any]) -> bool:
    return (endpoint.get("conditions") or {}).get("ready") is not False


def ready_endpoints(slices: Sequence[Mapping[str, Any]]) -> list[tuple[str, int]]:
    """(address, port) of every ready endpoint on every port of the slices, without repeats."""
    found: list[tuple[str, int]] = []
    for endpoint_slice in slices:
        ports = [int(p["port"]) for p in endpoint_slice.get("ports") or [] if p.get("port") is not None]
        for endpoint in endpoint_slice.get("endpoints") or []:
            if not _ready(endpoint):
                continue
            for address in endpoint.get("addresses") or []:
                for port in ports:
                    if (address, port) not in found:
                        found.append((address, port))
    return found


def ready_addresses(slices: Sequence[Mapping[str, Any]]) -> list[str]:
    """Addresses of the ready endpoints (whatever their ports), without repeats."""
    found: list[str] = []
    for endpoint_slice in slices:
        for endpoint in endpoint_slice.get("endpoints") or []:
            if _ready(endpoint):
                found += [a for a in endpoint.get("addresses") or [] if a not in found]
    return found
