"""What the doctor works on: the cluster's objects as collected, plain dicts, saved and re-read as JSON.

A snapshot is everything the detectors see, so a saved one reproduces a diagnosis exactly (``--save`` /
``--from-file``) and recorded ones are the unit tests' fixtures. It holds no Secret data: only the names and
types of Secrets (ING-TLS needs to know a certificate Secret exists, never its content).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.checks.model import as_dict, as_list, dig
from infra.errors import InfraError

FORMAT = "infra-doctor-snapshot/1"

# What the collector lists (kubectl resource names, fully qualified so no CRD can shadow them) and the kind
# each returns. Cluster-scoped kinds ignore --namespace: nodes and storage classes matter to every namespace.
RESOURCES: dict[str, str] = {
    "nodes": "Node",
    "pods": "Pod",
    "deployments.apps": "Deployment",
    "replicasets.apps": "ReplicaSet",
    "statefulsets.apps": "StatefulSet",
    "daemonsets.apps": "DaemonSet",
    "jobs.batch": "Job",
    "horizontalpodautoscalers.autoscaling": "HorizontalPodAutoscaler",
    "persistentvolumeclaims": "PersistentVolumeClaim",
    "persistentvolumes": "PersistentVolume",
    "storageclasses.storage.k8s.io": "StorageClass",
    "services": "Service",
    "endpointslices.discovery.k8s.io": "EndpointSlice",
    "ingresses.networking.k8s.io": "Ingress",
    "ingressclasses.networking.k8s.io": "IngressClass",
    "events": "Event",
    "apiservices.apiregistration.k8s.io": "APIService",
}
KIND_RESOURCE = {kind: resource for resource, kind in RESOURCES.items()}
CLUSTER_SCOPED = frozenset({"Node", "PersistentVolume", "StorageClass", "IngressClass", "APIService"})

# Bulky fields no detector reads; dropped so saved snapshots stay small and attachable to a bug report.
DROPPED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


class SnapshotError(InfraError):
    """A file given to ``--from-file`` that is not a doctor snapshot."""


def ref(obj: dict[str, Any]) -> str:
    """``Kind/namespace/name`` (``Kind/name`` when cluster-scoped), as ``infra check`` names subjects."""
    meta = as_dict(obj.get("metadata"))
    kind, namespace, name = obj.get("kind") or "?", meta.get("namespace"), meta.get("name") or "?"
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


def name_of(obj: dict[str, Any]) -> str:
    return str(dig(obj, "metadata", "name"))


def namespace_of(obj: dict[str, Any]) -> str:
    """The object's namespace; ``default`` when its manifest leaves it out (as kubectl applies it)."""
    return str(dig(obj, "metadata", "namespace") or "default")


def slim(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without managedFields and last-applied annotations (a copy; the input is untouched)."""
    meta = dict(as_dict(obj.get("metadata")))
    meta.pop("managedFields", None)
    annotations = {k: v for k, v in as_dict(meta.get("annotations")).items() if k not in DROPPED_ANNOTATIONS}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return {**obj, "metadata": meta}


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The ``status.conditions`` entry of a type (``Ready``, ``AbleToScale``...), or None."""
    return next(
        (
            c
            for c in as_list(dig(obj, "status", "conditions"))
            if isinstance(c, dict) and c.get("type") == kind
        ),
        None,
    )


def condition_text(cond: dict[str, Any]) -> str:
    """``AbleToScale=False FailedGetScale: <message>``: a condition as seen on the object."""
    text = f"{cond.get('type')}={cond.get('status')}"
    if cond.get("reason"):
        text += f" {cond['reason']}"
    if cond.get("message"):
        text += f": {cond['message']}"
    return text


def event_count(event: dict[str, Any]) -> int:
    """How often an event was seen: ``count`` (core/v1 writers), else ``series.count`` (events.k8s.io)."""
    for value in (event.get("count"), dig(event, "series", "count")):
        if isinstance(value, int) and value > 0:
            return value
    return 1


def event_time(event: dict[str, Any]) -> str:
    """When an event was last seen, as an RFC 3339 string that sorts chronologically.

    Old-style writers fill ``lastTimestamp``; the events.k8s.io API (the scheduler, for one) leaves it null
    and fills ``series.lastObservedTime`` or ``eventTime`` instead.
    """
    for value in (
        event.get("lastTimestamp"),
        dig(event, "series", "lastObservedTime"),
        event.get("eventTime"),
        event.get("firstTimestamp"),
        dig(event, "metadata", "creationTimestamp"),
    ):
        if value:
            return _normal_time(str(value))
    return ""


def _normal_time(value: str) -> str:
    """``2025-01-02T03:04:05.123456Z`` and ``...05Z`` sort the same way: trim to seconds."""
    return value[:19] + "Z" if len(value) >= 19 else value


def event_text(event: dict[str, Any]) -> str:
    """``Warning FailedGetScale ×12: <message>``: an event as seen, with its count."""
    count = event_count(event)
    text = f"{event.get('type') or 'Normal'} {event.get('reason')}"
    if count > 1:
        text += f" ×{count}"
    if event.get("message"):
        text += f": {str(event['message']).strip()}"
    return text


@dataclass
class Snapshot:
    """The collected objects (each with its ``kind``), Secret names, and what could not be collected.

    ``secrets`` is None when Secrets were not listed (no Ingress uses TLS, or the user may not list them);
    ``gaps`` maps a kubectl resource name to the error that kept it out, so a detector that needs that kind
    stays quiet instead of reporting an absence it did not see.
    """

    objects: list[dict[str, Any]]
    secrets: list[dict[str, str]] | None = None
    gaps: dict[str, str] = field(default_factory=dict)
    namespace: str | None = None
    source: str = ""
    collected_at: str = ""
    _by_kind: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list), repr=False)
    _by_key: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict, repr=False)
    _events: dict[tuple[str, str, str], list[dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(list), repr=False
    )
    _pods_by_owner: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(list), repr=False
    )

    def __post_init__(self) -> None:
        for obj in self.objects:
            kind, ns, name = self.key(obj)
            self._by_kind[kind].append(obj)
            self._by_key[(kind, ns, name)] = obj
            if kind == "Event":
                involved = as_dict(obj.get("involvedObject") or obj.get("regarding"))
                involved_ns = (
                    "" if involved.get("kind") in CLUSTER_SCOPED else str(involved.get("namespace") or ns)
                )
                self._events[(str(involved.get("kind")), involved_ns, str(involved.get("name")))].append(obj)
            elif kind == "Pod":
                for owner in as_list(dig(obj, "metadata", "ownerReferences")):
                    if isinstance(owner, dict) and owner.get("uid"):
                        self._pods_by_owner[str(owner["uid"])].append(obj)
        for events in self._events.values():
            events.sort(key=event_time)

    @staticmethod
    def key(obj: dict[str, Any]) -> tuple[str, str, str]:
        meta = as_dict(obj.get("metadata"))
        return str(obj.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name") or "")

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return self._by_kind.get(kind, [])

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self._by_key.get((kind, "" if kind in CLUSTER_SCOPED else namespace, name))

    def collected(self, kind: str) -> bool:
        """Whether the kind was listed (a gap means it could not be: absence proves nothing then)."""
        if kind == "Secret":  # only names and types, listed when an Ingress uses TLS
            return self.secrets is not None and "secrets" not in self.gaps
        return KIND_RESOURCE.get(kind, kind) not in self.gaps

    def events_for(self, obj: dict[str, Any], *reasons: str) -> list[dict[str, Any]]:
        """Events about an object, oldest first; only the given reasons when any are named."""
        kind, ns, name = self.key(obj)
        events = self._events.get((kind, ns, name), [])
        return [e for e in events if e.get("reason") in reasons] if reasons else list(events)

    def pods_of(self, owner: dict[str, Any]) -> list[dict[str, Any]]:
        """Pods whose ownerReferences name this object (by UID)."""
        uid = dig(owner, "metadata", "uid")
        return list(self._pods_by_owner.get(str(uid), [])) if uid else []

    def pods_in(self, namespace: str) -> Iterator[dict[str, Any]]:
        return (p for p in self.of_kind("Pod") if dig(p, "metadata", "namespace") == namespace)

    def secret(self, namespace: str, name: str) -> dict[str, str] | None:
        return next(
            (s for s in self.secrets or [] if s.get("namespace") == namespace and s.get("name") == name), None
        )

    # -- persistence -------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "collectedAt": self.collected_at,
            "source": self.source,
            "namespace": self.namespace,
            "gaps": dict(self.gaps),
            "secrets": self.secrets,
            "items": self.objects,
        }

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "snapshot") -> Snapshot:
        if (
            not isinstance(data, dict)
            or data.get("format") != FORMAT
            or not isinstance(data.get("items"), list)
        ):
            raise SnapshotError(
                f"{where} is not an infra doctor snapshot (no format: {FORMAT})",
                "pass a file written by `infra doctor --save FILE`",
            )
        secrets = data.get("secrets")
        return cls(
            objects=[o for o in data["items"] if isinstance(o, dict)],
            secrets=[s for s in secrets if isinstance(s, dict)] if isinstance(secrets, list) else None,
            gaps={str(k): str(v) for k, v in as_dict(data.get("gaps")).items()},
            namespace=data.get("namespace") or None,
            source=str(data.get("source") or ""),
            collected_at=str(data.get("collectedAt") or ""),
        )

    @classmethod
    def load(cls, path: Path) -> Snapshot:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SnapshotError(
                f"snapshot {path} does not exist", "pass a file written by `infra doctor --save FILE`"
            ) from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise SnapshotError(
                f"snapshot {path} is not readable JSON: {exc}", "re-save it with --save"
            ) from None
        return cls.from_dict(data, where=str(path))


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build(
    objects: Iterable[dict[str, Any]],
    *,
    secrets: list[dict[str, str]] | None = None,
    gaps: dict[str, str] | None = None,
    namespace: str | None = None,
    source: str = "",
) -> Snapshot:
    """A snapshot of freshly listed objects (slimmed), stamped with the time of collection."""
    return Snapshot(
        [slim(o) for o in objects if isinstance(o, dict)],
        secrets=secrets,
        gaps=dict(gaps or {}),
        namespace=namespace,
        source=source,
        collected_at=now(),
    )
