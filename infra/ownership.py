"""The labels that mark an object as the toolkit's own. Reconcile prunes only objects carrying them."""

from __future__ import annotations

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
PART_OF_LABEL = "app.kubernetes.io/part-of"
MANAGED_BY = "infra"
PART_OF = "k8s-labs"

OWNERSHIP_LABELS: dict[str, str] = {MANAGED_BY_LABEL: MANAGED_BY, PART_OF_LABEL: PART_OF}
OWNERSHIP_SELECTOR = ",".join(f"{k}={v}" for k, v in OWNERSHIP_LABELS.items())


def is_owned(obj: dict) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in OWNERSHIP_LABELS.items())
