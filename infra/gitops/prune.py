"""Prune policy, pure: which live objects a reconcile may delete. Drift reports with the same function.

An object is pruned only when **all** hold:

* the last apply wrote it (it is in the :mod:`~infra.gitops.inventory` record) and git no longer has it;
* it lives in one of the environment's own namespaces (those of the record and of git), never elsewhere;
* it still carries both ownership labels (:mod:`infra.ownership`), so a person can keep an object by
  removing a label;
* its kind is in :data:`PRUNE_KINDS`: never a Secret (run-time credentials), PersistentVolumeClaim (lab data)
  or Namespace (deleting one deletes everything in it, owned or not);
* no controller owns it (pods of a ReplicaSet, PVCs of a StatefulSet) and it is not already being deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from infra.errors import InfraError
from infra.kube import ObjectRef
from infra.ownership import is_owned


@dataclass(frozen=True)
class PruneKind:
    group: str
    kind: str
    resource: str  # what kubectl get/delete take: "deployments.apps"


PRUNE_KINDS: tuple[PruneKind, ...] = (
    PruneKind("", "ConfigMap", "configmaps"),
    PruneKind("", "Service", "services"),
    PruneKind("", "ServiceAccount", "serviceaccounts"),
    PruneKind("", "Pod", "pods"),
    PruneKind("", "ResourceQuota", "resourcequotas"),
    PruneKind("", "LimitRange", "limitranges"),
    PruneKind("apps", "Deployment", "deployments.apps"),
    PruneKind("apps", "ReplicaSet", "replicasets.apps"),
    PruneKind("apps", "StatefulSet", "statefulsets.apps"),
    PruneKind("apps", "DaemonSet", "daemonsets.apps"),
    PruneKind("batch", "Job", "jobs.batch"),
    PruneKind("batch", "CronJob", "cronjobs.batch"),
    PruneKind("networking.k8s.io", "Ingress", "ingresses.networking.k8s.io"),
    PruneKind("networking.k8s.io", "NetworkPolicy", "networkpolicies.networking.k8s.io"),
    PruneKind("autoscaling", "HorizontalPodAutoscaler", "horizontalpodautoscalers.autoscaling"),
    PruneKind("policy", "PodDisruptionBudget", "poddisruptionbudgets.policy"),
    PruneKind("rbac.authorization.k8s.io", "Role", "roles.rbac.authorization.k8s.io"),
    PruneKind("rbac.authorization.k8s.io", "RoleBinding", "rolebindings.rbac.authorization.k8s.io"),
)
PRUNE_RESOURCES: dict[tuple[str, str], str] = {(k.group, k.kind): k.resource for k in PRUNE_KINDS}


def prunable_kind(ref: ObjectRef) -> bool:
    return (ref.group, ref.kind) in PRUNE_RESOURCES


def candidates(
    recorded: Iterable[ObjectRef], desired: Iterable[ObjectRef], own_namespaces: Iterable[str]
) -> list[ObjectRef]:
    """Refs worth looking up: recorded, gone from git, of a prune kind, in an own namespace."""
    wanted, own = set(desired), set(own_namespaces)
    return sorted(
        r
        for r in set(recorded)
        if r not in wanted and prunable_kind(r) and r.namespace and r.namespace in own
    )


def _controlled(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("ownerReferences"))


def _deleting(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def select_prunable(
    live: Mapping[ObjectRef, Mapping[str, Any]],
    recorded: Iterable[ObjectRef],
    desired: Iterable[ObjectRef],
    own_namespaces: Iterable[str],
) -> list[ObjectRef]:
    """The objects a reconcile deletes, given the live state of the :func:`candidates` (missing: gone)."""
    selected = []
    for ref in candidates(recorded, desired, own_namespaces):
        obj = live.get(ref)
        if obj is not None and is_owned(dict(obj)) and not _controlled(obj) and not _deleting(obj):
            selected.append(ref)
    return selected


def kept_by_hand(
    live: Mapping[ObjectRef, Mapping[str, Any]],
    recorded: Iterable[ObjectRef],
    desired: Iterable[ObjectRef],
    own_namespaces: Iterable[str],
) -> list[ObjectRef]:
    """Recorded objects gone from git that a person kept by removing an ownership label (reported)."""
    return sorted(
        ref
        for ref in candidates(recorded, desired, own_namespaces)
        if ref in live and not is_owned(dict(live[ref]))
    )


def orphaned_namespaces(recorded: Iterable[ObjectRef], desired: Iterable[ObjectRef]) -> list[ObjectRef]:
    """Namespaces the last apply wrote that git no longer has: reported, never deleted automatically."""
    wanted = set(desired)
    return sorted(r for r in set(recorded) if r.kind == "Namespace" and r.group == "" and r not in wanted)


def delete_stub(ref: ObjectRef) -> dict[str, Any]:
    """A minimal object naming ``ref`` for ``kubectl delete -f -``; only kinds of the allowlist."""
    if not prunable_kind(ref):
        raise InfraError(f"refusing to delete {ref}: {ref.kind} is not in the prune allowlist", "a bug")
    return stub(ref)


def stub(ref: ObjectRef) -> dict[str, Any]:
    """``apiVersion``/``kind``/``metadata`` of a ref, for ``kubectl get -f -`` (any served version works)."""
    meta: dict[str, Any] = {"name": ref.name}
    if ref.namespace:
        meta["namespace"] = ref.namespace
    return {"apiVersion": api_version(ref.group), "kind": ref.kind, "metadata": meta}


# The served version kubectl should use to name an object of each group (the object itself may be newer).
_GROUP_VERSIONS = {
    "": "v1",
    "apps": "apps/v1",
    "batch": "batch/v1",
    "networking.k8s.io": "networking.k8s.io/v1",
    "autoscaling": "autoscaling/v2",
    "policy": "policy/v1",
    "rbac.authorization.k8s.io": "rbac.authorization.k8s.io/v1",
    "storage.k8s.io": "storage.k8s.io/v1",
    "discovery.k8s.io": "discovery.k8s.io/v1",
}


def api_version(group: str) -> str:
    return _GROUP_VERSIONS.get(group, f"{group}/v1")
