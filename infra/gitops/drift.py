"""Drift: what differs between the manifests and the live cluster, object by object, field by field.

Read-only. Three calls at most: the live objects (``kubectl get -f -``, managed fields included) and a
server-side dry-run apply of the manifests with the reconcile's field manager (both at once), then, only when
the inventory names objects gone from git, a look at those. What each kind of drift means:

* **changed**: the dry-run result (what the next reconcile would leave) differs from the live object: the
  changed paths are listed with both values. Server-maintained metadata and ``status`` are never compared.
* **added by hand**: fields a person set (``kubectl label``, ``set env``, ``edit``... recognised by kubectl's
  field-manager names) that git never declares; a plain server-side apply would leave them, so reconcile
  takes them back (:func:`infra.gitops.apply.hand_additions`, the same function).
* **missing**: in git, not in the cluster (its namespace may be missing too).
* **to prune**: applied by the last reconcile, gone from git, still labelled (:mod:`~infra.gitops.prune`).
* **orphaned namespace**: a namespace of the last apply gone from git: never deleted automatically.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.errors import InfraError
from infra.gitops import inventory, prune
from infra.gitops.apply import compare_dry_run, describe_target, dry_runnable, hand_additions
from infra.gitops.desired import render_desired
from infra.gitops.fields import changed_paths, comparable
from infra.kube import KubeTarget, ObjectRef, get_objects, public_outputs, resolve_target

CHANGED = "changed"
ADDED = "added by hand"
MISSING = "missing"
TO_PRUNE = "to prune"
ORPHANED = "orphaned namespace"
STATUSES = (CHANGED, ADDED, MISSING, TO_PRUNE, ORPHANED)

EXCERPT_LINES = 40
VALUE_WIDTH = 60
PRUNE_NOTE = "applied before, no longer in git; the next reconcile deletes it"
ORPHANED_NOTE = "no longer in git; namespaces are never pruned automatically: delete it by hand"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ObjectDrift:
    """One drifted object: what differs (paths) and, for changes, the live and git values."""

    ref: ObjectRef
    status: str
    fields: tuple[str, ...] = ()
    excerpt: tuple[str, ...] = ()
    note: str = ""


@dataclass
class DriftReport:
    env: str
    cluster: str
    compared: int  # rendered objects
    items: list[ObjectDrift] = field(default_factory=list)

    @property
    def has_drift(self) -> bool:
        return bool(self.items)

    @property
    def exit_code(self) -> int:
        return 1 if self.has_drift else 0

    def count(self, status: str) -> int:
        return sum(1 for item in self.items if item.status == status)

    def headline(self) -> str:
        if not self.has_drift:
            return (
                f"no drift: the cluster matches manifests/envs/{self.env} ({self.compared} objects compared)"
            )
        parts = [f"{self.count(s)} {s}" for s in STATUSES if self.count(s)]
        noun = "object" if len(self.items) == 1 else "objects"
        return f"drift in {len(self.items)} {noun}: {', '.join(parts)}"

    def markdown(self) -> str:
        return render_markdown(self)


def _value(obj: Any, path: str) -> str:
    """The value at a :func:`changed_paths` path, short, for the excerpt."""
    current = obj
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[name=") and isinstance(current, list):
            name = part[6:-1]
            current = next((i for i in current if isinstance(i, dict) and i.get("name") == name), None)
        elif part.startswith("[") and isinstance(current, list):
            try:
                current = current[int(part[1:-1])]
            except (ValueError, IndexError):
                current = None
        elif isinstance(current, dict):
            current = current.get(part)
        else:
            current = None
        if current is None:
            return "(absent)"
    text = json.dumps(current, sort_keys=True)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"


def compare(ref: ObjectRef, live: Mapping[str, Any], after: Mapping[str, Any]) -> list[ObjectDrift]:
    """Drift of one object: ``after`` is the dry-run result, what the next reconcile would leave."""
    items = []
    paths = tuple(changed_paths(comparable(live), comparable(after)))
    if paths:
        excerpt = tuple(f"{p}: {_value(live, p)} -> {_value(after, p)}" for p in paths)
        items.append(ObjectDrift(ref, CHANGED, paths, excerpt))
    for added in hand_additions([after]):
        items.append(ObjectDrift(ref, ADDED, added.paths, note="the next reconcile removes them"))
    return items


def _dry_run(target: KubeTarget, objects: list[dict[str, Any]]) -> list[dict[str, Any]] | InfraError:
    try:
        return compare_dry_run(target, objects)
    except InfraError as error:  # decided after the lookup: a missing namespace is drift, not an error
        return error


def drift(
    env: str, *, target: KubeTarget | None = None, entry: Path | None = None, progress: Progress | None = None
) -> DriftReport:
    """Compare the environment's manifests with the live cluster; errors raise (exit 2), drift is reported."""
    say = progress or (lambda _line: None)
    target = target or resolve_target(env, read_only=True)
    cluster = describe_target(target, say)
    host = str(public_outputs(env).get("ingress_host") or "") or None
    desired = render_desired(env, ingress_host=host, entry=entry)
    report = DriftReport(env, cluster, len(desired.objects))

    namespaces = [ObjectRef("", "Namespace", "", n) for n in sorted(desired.namespace_names)]
    stubs = [prune.stub(r) for r in [*sorted(desired.refs), inventory.ref(), *namespaces]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        looked_up = pool.submit(
            get_objects, target, stubs, what="reading the live objects", managed_fields=True
        )
        dry = pool.submit(_dry_run, target, list(desired.objects))
        live = looked_up.result()
        after = dry.result()
    if isinstance(after, InfraError):
        placeable, skipped = dry_runnable(list(desired.objects), live)
        if not skipped:
            raise after
        after = compare_dry_run(target, placeable)
    results = {ObjectRef.of(obj, default_namespace=""): obj for obj in after}

    for obj in desired.objects:
        ref = ObjectRef.of(obj)
        if ref not in live:
            gone = ref.namespace and ObjectRef("", "Namespace", "", ref.namespace) not in live
            note = f"namespace {ref.namespace} does not exist" if gone else "the next reconcile creates it"
            report.items.append(ObjectDrift(ref, MISSING, note=note))
        elif ref in results:
            report.items += compare(ref, live[ref], results[ref])

    previous = inventory.from_object(live.get(inventory.ref()), env)
    if previous is not None:
        own = desired.namespace_names | previous.namespaces
        stale = prune.candidates(previous.refs, desired.refs, own)
        found = get_objects(target, [prune.stub(r) for r in stale], what="looking up objects to prune")
        report.items += [
            ObjectDrift(r, TO_PRUNE, note=PRUNE_NOTE)
            for r in prune.select_prunable(found, previous.refs, desired.refs, own)
        ]
        report.items += [
            ObjectDrift(r, ORPHANED, note=ORPHANED_NOTE)
            for r in prune.orphaned_namespaces(previous.refs, desired.refs)
        ]
    say(f"compared {len(desired.objects)} objects: {report.headline()}")
    return report


# ---------------------------------------------------------------------------------------------- output


def describe(item: ObjectDrift) -> str:
    """What differs, in one line."""
    if item.status in (CHANGED, ADDED):
        text = ", ".join(item.fields)
        return f"{text}; {item.note}" if item.note else text
    return item.note


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: DriftReport) -> str:
    """A Markdown section for a GitHub job summary or a report file."""
    out = [f"## Drift: `{report.env}`", ""]
    if not report.has_drift:
        out += [
            f"**No drift.** The cluster ({_cell(report.cluster)}) matches `manifests/envs/{report.env}`: "
            f"{report.compared} objects compared, nothing applied before is left outside git.",
            "",
        ]
        return "\n".join(out)
    headline = report.headline()
    out += [f"**{headline[:1].upper()}{headline[1:]}** (cluster: {_cell(report.cluster)}).", ""]
    out += ["| object | status | what differs |", "| --- | --- | --- |"]
    out += [f"| `{item.ref}` | {item.status} | {_cell(describe(item))} |" for item in report.items]
    out.append("")
    for item in report.items:
        if not item.excerpt:
            continue
        shown = list(item.excerpt[:EXCERPT_LINES])
        if len(item.excerpt) > EXCERPT_LINES:
            shown.append(f"... {len(item.excerpt) - EXCERPT_LINES} more changed fields")
        out += [
            f"<details><summary>{item.ref} (live -> git)</summary>",
            "",
            "```",
            *shown,
            "```",
            "",
            "</details>",
        ]
        out.append("")
    out += [
        "Changed, added-by-hand and missing objects are put back by `infra reconcile`; objects to prune are "
        "deleted by it; an orphaned namespace must be deleted by hand.",
        "",
    ]
    return "\n".join(out)
