"""The read-only collector: one ``kubectl get`` of every kind the detectors read, plus Secret names if needed.

Read-only by construction: the only verb is ``get`` (list requests on the API server), and the number of
kubectl calls does not depend on how many objects there are: one list per kind (``--chunk-size=0``: no
paging), and a second call for Secret names only when an Ingress uses TLS. kubectl keeps going past a kind it
may not list (``Forbidden``), prints what it got and exits 1; those kinds become the snapshot's ``gaps`` and
the detectors that need them are skipped, visibly. A kind the server does not serve at all makes kubectl
refuse the whole call ("the server doesn't have a resource type"): it is dropped and the call repeated, at
most a few times.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from infra.checks.model import as_list, dig
from infra.doctor.snapshot import RESOURCES, Snapshot, build
from infra.errors import InfraError
from infra.kube import KubeTarget, failure, kubectl, unreachable

LIST_FLAGS = ("-o", "json", "--chunk-size=0", "--request-timeout=30s")
SECRET_FIELDS = '{range .items[*]}{.metadata.namespace}{"\\t"}{.metadata.name}{"\\t"}{.type}{"\\n"}{end}'  # noqa: S105 (a jsonpath of names and types, no secret)
MAX_RETRIES = 3  # unserved kinds dropped before giving up

# kubectl's per-kind error lines, e.g.
#   Error from server (Forbidden): nodes is forbidden: User "u" cannot list resource "nodes" in API group ""
#   error: the server doesn't have a resource type "ingressclasses"
FORBIDDEN = re.compile(r'cannot list resource "([^"]+)" in API group "([^"]*)"')
NO_TYPE = re.compile(r'the server doesn\'t have a resource type "([^"]+)"')
HINT = "check the kubeconfig's user may get/list these kinds (the built-in view ClusterRole is enough)"


def scope(namespace: str | None) -> list[str]:
    return ["--namespace", namespace] if namespace else ["--all-namespaces"]


def resource_of(name: str, group: str) -> str | None:
    """``("nodes", "")`` -> ``nodes``; ``("deployments", "apps")`` -> ``deployments.apps``, if collected."""
    full = f"{name}.{group}" if group else name
    return full if full in RESOURCES else next((r for r in RESOURCES if r.split(".", 1)[0] == name), None)


def parse_errors(stderr: str) -> dict[str, str]:
    """kubectl's stderr -> ``{resource: error line}`` for the kinds it could not list."""
    gaps: dict[str, str] = {}
    for line in stderr.splitlines():
        line = line.strip()
        if match := FORBIDDEN.search(line):
            resource = resource_of(*match.groups())
            if resource:
                gaps[resource] = line
        elif match := NO_TYPE.search(line):
            resource = resource_of(match.group(1), "")
            if resource:
                gaps[resource] = line
    return gaps


def _items(stdout: str) -> list[dict[str, Any]] | None:
    try:
        data = json.loads(stdout)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if data.get("kind") == "List" or "items" in data:
        return [item for item in as_list(data.get("items")) if isinstance(item, dict)]
    return [data]


def list_objects(
    target: KubeTarget, resources: Sequence[str], namespace: str | None
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every object of ``resources`` in one ``kubectl get``; returns (objects, gaps)."""
    wanted = list(resources)
    dropped: dict[str, str] = {}
    for _attempt in range(MAX_RETRIES + 1):
        result = kubectl(
            target,
            ["get", ",".join(wanted), *scope(namespace), *LIST_FLAGS],
            what="kubectl get (doctor)",
            hint=HINT,
            ok_codes=(0, 1),
            timeout=90,
        )
        if unreachable(result.stderr):
            raise failure(target, result, "kubectl get", HINT)
        gaps = parse_errors(result.stderr)
        items = _items(result.stdout) if result.stdout.strip() else None
        if items is not None:
            if result.returncode and not gaps:
                gaps = {
                    ",".join(wanted): result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "?"
                }
            return items, {**dropped, **gaps}
        unserved = [r for r in gaps if r in wanted and NO_TYPE.search(gaps[r])]
        if not unserved or len(unserved) == len(wanted):
            raise failure(target, result, "kubectl get", HINT)
        for resource in unserved:
            dropped[resource] = gaps[resource]
            wanted.remove(resource)
    raise InfraError("kubectl get (doctor) kept failing on unserved kinds", HINT)


def list_secret_names(target: KubeTarget, namespace: str | None) -> tuple[list[dict[str, str]] | None, str]:
    """Secret namespace/name/type only (the data is never printed or stored); None and why when forbidden."""
    result = kubectl(
        target,
        [
            "get",
            "secrets",
            *scope(namespace),
            "--chunk-size=0",
            "--request-timeout=30s",
            "-o",
            f"jsonpath={SECRET_FIELDS}",
        ],
        what="kubectl get secrets (doctor)",
        hint=HINT,
        ok_codes=(0, 1),
        timeout=90,
    )
    if result.returncode:
        if unreachable(result.stderr):
            raise failure(target, result, "kubectl get secrets", HINT)
        return None, (result.stderr.strip().splitlines() or ["exit 1"])[-1]
    secrets = []
    for line in result.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1]:
            secrets.append({"namespace": parts[0], "name": parts[1], "type": parts[2]})
    return secrets, ""


def uses_tls(objects: list[dict[str, Any]]) -> bool:
    return any(o.get("kind") == "Ingress" and as_list(dig(o, "spec", "tls")) for o in objects)


def collect(target: KubeTarget, namespace: str | None = None) -> Snapshot:
    """A snapshot of the target cluster (a namespace, or all); ClusterUnavailableError when it is down."""
    objects, gaps = list_objects(target, list(RESOURCES), namespace)
    secrets: list[dict[str, str]] | None = None
    if uses_tls(objects):
        secrets, why = list_secret_names(target, namespace)
        if secrets is None:
            gaps["secrets"] = why
    return build(objects, secrets=secrets, gaps=gaps, namespace=namespace, source=target.describe())
