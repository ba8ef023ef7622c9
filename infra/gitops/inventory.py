"""The record of what the last reconcile applied, kept in the cluster: the only source of prune candidates.

Labels alone cannot say what the toolkit wrote: anyone can copy them onto an object in ``kube-system``. So,
as Flux keeps an inventory in its Kustomization's status and kubectl's ApplySet keeps one on a parent object,
every apply also writes the list of objects it applied to one ConfigMap (:data:`NAMESPACE`/:data:`NAME`).
The next reconcile prunes only objects that are in that list, no longer in git, still carry the ownership
labels, and live in a namespace of the record; whatever the labels say, nothing else is ever deleted.

The record is applied in the same server-side apply as the manifests (so a reconcile costs no extra call),
lives in its own namespace (never one of the labs', so deleting a lab never deletes it), and carries only the
``managed-by`` label: it is not a lab object and is never pruned itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from infra.errors import InfraError
from infra.kube import ObjectRef
from infra.ownership import MANAGED_BY, MANAGED_BY_LABEL

NAMESPACE = "infra-system"
NAME = "lab-inventory"
KEY = "objects.json"
ENV_LABEL = "infra.lab/environment"


def ref_key(ref: ObjectRef) -> str:
    """``apps/Deployment/lab-hpa/hpa-demo`` (core group empty: ``/ConfigMap/ns/name``)."""
    return f"{ref.group}/{ref.kind}/{ref.namespace}/{ref.name}"


def parse_key(key: str) -> ObjectRef:
    group, kind, namespace, name = key.split("/", 3)
    return ObjectRef(group, kind, namespace, name)


@dataclass(frozen=True)
class Inventory:
    env: str
    refs: frozenset[ObjectRef]

    @property
    def namespaces(self) -> frozenset[str]:
        names = {r.namespace for r in self.refs} - {""}
        return frozenset(names | {r.name for r in self.refs if r.kind == "Namespace" and r.group == ""})


def ref() -> ObjectRef:
    return ObjectRef("", "ConfigMap", NAMESPACE, NAME)


def objects(env: str, refs: Iterable[ObjectRef]) -> list[dict[str, Any]]:
    """The record's Namespace and ConfigMap, ready to apply with the manifests (placed first)."""
    labels = {MANAGED_BY_LABEL: MANAGED_BY}
    payload = json.dumps(sorted(ref_key(r) for r in refs), indent=0)
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": labels}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": NAME,
                "namespace": NAMESPACE,
                "labels": {**labels, ENV_LABEL: env},
            },
            "data": {KEY: payload},
        },
    ]


def from_object(obj: dict[str, Any] | None, env: str) -> Inventory | None:
    """The record read back; None when there is none yet (first reconcile of this cluster)."""
    if obj is None:
        return None
    labels = (obj.get("metadata") or {}).get("labels") or {}
    recorded_env = labels.get(ENV_LABEL)
    if recorded_env and recorded_env != env:
        raise InfraError(
            f"this cluster holds the lab of the {recorded_env} environment "
            f"(ConfigMap {NAMESPACE}/{NAME}), not {env}",
            f"use --env {recorded_env}, or name the {env} cluster with --kubeconfig/--context",
        )
    try:
        keys = json.loads(((obj.get("data") or {}).get(KEY)) or "[]")
        return Inventory(env, frozenset(parse_key(str(k)) for k in keys))
    except (ValueError, TypeError) as exc:
        raise InfraError(
            f"ConfigMap {NAMESPACE}/{NAME} is unreadable ({exc}); nothing will be pruned until it is fixed",
            f"delete it (`kubectl delete configmap -n {NAMESPACE} {NAME}`) and reconcile again",
        ) from None
