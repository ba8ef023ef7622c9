"""What the checks work on (a set of documents, indexed) and what they produce (findings)."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from infra.environments import Environment
from infra.render import Document

SUPPLIED_AT_RUNTIME = "infra.lab/supplied-at-runtime"

# Kinds that carry a pod template, and where it lives in the object.
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


class Severity(enum.IntEnum):
    """Errors fail a check (exit 1); warnings fail only with ``--strict``; info never fails."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Finding:
    """One line of output: ``where subject RULE: message — hint``."""

    rule: str
    severity: Severity
    message: str
    hint: str
    where: str  # "path#doc", or a path for findings about a whole set
    subject: str  # "Kind/namespace/name", "Kind/name", or "-"
    order: int = 0  # position of the document in the checked set (output order)

    def line(self) -> str:
        return f"{self.where} {self.subject} {self.rule}: {self.message} — {self.hint}"


@dataclass(frozen=True)
class Hit:
    """What a rule reports; the runner adds the rule's ID and severity."""

    doc: Document | None
    message: str
    hint: str


def dig(obj: Any, *keys: str | int) -> Any:
    """``obj[k1][k2]...`` or None when any step is missing or of the wrong type (documents may be invalid)."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(obj, list) or key >= len(obj):
                return None
        elif not isinstance(obj, dict):
            return None
        obj = obj[key] if isinstance(key, int) else obj.get(key)
    return obj


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def subject(doc: Document) -> str:
    return f"{doc.kind}/{doc.namespace}/{doc.name}" if doc.namespace else f"{doc.kind}/{doc.name}"


def api_group(api_version: str) -> str:
    """``apps/v1`` -> ``apps``; ``v1`` -> ``""`` (the core group)."""
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


@dataclass(frozen=True)
class PodTemplate:
    """A pod template inside a workload (or a bare Pod): its labels and pod spec."""

    doc: Document
    labels: dict[str, Any]
    spec: dict[str, Any]
    path: str  # where the pod spec sits, for messages ("spec.template.spec")

    def containers(self, *, init: bool = True) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(field, container)`` for containers, then init and ephemeral containers."""
        fields = ("containers", "initContainers", "ephemeralContainers") if init else ("containers",)
        for name in fields:
            for container in as_list(self.spec.get(name)):
                if isinstance(container, dict):
                    yield name, container

    def running_containers(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Containers that run beside the app: ``containers`` and sidecars (init, ``restartPolicy: Always``).

        These are the containers whose named ports a Service can target and whose requests an HPA sums
        (Kubernetes' ``FindPort`` and the replica calculator both add restartable init containers).
        """
        yield from self.containers(init=False)
        for container in as_list(self.spec.get("initContainers")):
            if isinstance(container, dict) and container.get("restartPolicy") == "Always":
                yield "initContainers", container


CONTAINER_FIELDS = {
    "containers": "container",
    "initContainers": "init container",
    "ephemeralContainers": "ephemeral container",
}


def container_label(field_name: str, container: dict[str, Any]) -> str:
    """``("initContainers", {"name": "clone"})`` -> ``init container clone``."""
    return f"{CONTAINER_FIELDS.get(field_name, field_name)} {container.get('name')}"


def pod_template(doc: Document) -> PodTemplate | None:
    if doc.kind == "Pod":
        return PodTemplate(doc, as_dict(doc.metadata.get("labels")), as_dict(doc.obj.get("spec")), "spec")
    path = POD_TEMPLATE_PATHS.get(doc.kind)
    if path is None:
        return None
    template = dig(doc.obj, *path)
    if not isinstance(template, dict):
        return None
    labels = as_dict(dig(template, "metadata", "labels"))
    return PodTemplate(doc, labels, as_dict(template.get("spec")), ".".join((*path, "spec")))


POD_LEVEL_RESOURCES_SINCE = (1, 34)  # PodLevelResources: alpha in 1.32 (off), beta and on by default in 1.34


def pod_level_resources(kube_version: str) -> bool:
    """Whether the target honours pod-level ``spec.resources`` by default (QoS class, HPA requests).

    Before 1.34 the feature gate is off by default and the API server drops the field.
    """
    major, _, minor = kube_version.removeprefix("v").partition(".")
    try:
        return (int(major), int(minor.split(".")[0])) >= POD_LEVEL_RESOURCES_SINCE
    except ValueError:
        return True


def labels_match(selector: dict[str, Any], labels: dict[str, Any]) -> bool:
    """A map selector (Service ``spec.selector``, ``matchLabels``) against a label set."""
    return all(str(labels.get(k)) == str(v) for k, v in selector.items()) if selector else False


def label_selector_matches(selector: dict[str, Any], labels: dict[str, Any]) -> bool:
    """A full ``LabelSelector`` (matchLabels + matchExpressions) against a label set."""
    match_labels = as_dict(selector.get("matchLabels"))
    if any(str(labels.get(k)) != str(v) for k, v in match_labels.items()):
        return False
    for expr in as_list(selector.get("matchExpressions")):
        key, op, values = expr.get("key"), expr.get("operator"), [str(v) for v in as_list(expr.get("values"))]
        present = key in labels
        if (
            (op == "In" and (not present or str(labels[key]) not in values))
            or (op == "NotIn" and present and str(labels[key]) in values)
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
        ):
            return False
    return bool(match_labels or selector.get("matchExpressions"))


@dataclass
class DocSet:
    """The whole set under check, indexed for the cross-object rules."""

    docs: list[Document]
    kube_version: str
    env: Environment | None = None  # the target environment, when known (its StorageClasses, IngressClasses)
    _by_key: dict[tuple[str, str, str], list[Document]] = field(default_factory=lambda: defaultdict(list))
    _order: dict[int, int] = field(default_factory=dict)
    templates: list[PodTemplate] = field(default_factory=list)

    def __post_init__(self) -> None:
        for position, doc in enumerate(self.docs):
            self._order[id(doc)] = position
            self._by_key[(doc.kind, self.ns(doc), doc.name)].append(doc)
            template = pod_template(doc)
            if template is not None:
                self.templates.append(template)

    @staticmethod
    def ns(doc: Document) -> str:
        """Namespace used for matching: as written, else ``default`` (kubectl's default context)."""
        return doc.namespace or "default"

    def order(self, doc: Document | None) -> int:
        return -1 if doc is None else self._order.get(id(doc), -1)

    def get(self, kind: str, namespace: str, name: str) -> Document | None:
        found = self._by_key.get((kind, namespace, name))
        return found[0] if found else None

    def of_kind(self, *kinds: str) -> Iterator[Document]:
        return (doc for doc in self.docs if doc.kind in kinds)

    def templates_in(self, namespace: str) -> Iterator[PodTemplate]:
        return (t for t in self.templates if self.ns(t.doc) == namespace)

    def template_of(self, doc: Document) -> PodTemplate | None:
        return next((t for t in self.templates if t.doc is doc), None)


def supplied_at_runtime(*objects: dict[str, Any]) -> tuple[set[tuple[str, str]], list[str]]:
    """Objects declared as supplied at run time by ``infra.lab/supplied-at-runtime`` on referencing objects.

    The value is a comma-separated list of ``Kind/name`` (``Secret/web-tls, Secret/mysql-credentials``).
    Returns the declared ``(kind, name)`` pairs and the entries that do not parse.
    """
    declared: set[tuple[str, str]] = set()
    bad: list[str] = []
    for obj in objects:
        value = dig(obj, "metadata", "annotations", SUPPLIED_AT_RUNTIME)
        if value is None:
            continue
        for entry in str(value).split(","):
            entry = entry.strip()
            if not entry:
                continue
            kind, sep, name = entry.partition("/")
            if not sep or not kind or not name or "/" in name:
                bad.append(entry)
            else:
                declared.add((kind, name))
    return declared, bad
