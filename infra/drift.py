"""Drift: what differs between ``manifests/envs/<env>`` and the live cluster, object by object.

Three kinds of drift (GIT-1..3):

* **changed** / **missing**: ``kubectl diff --server-side`` of the rendered manifests (a server-side dry-run
  apply with the reconcile field manager, so a diff is exactly what the next reconcile would change). Its exit
  code is 0 (no diff), 1 (diff) or >1 (error). The unified diff is parsed into one entry per object with the
  YAML paths that changed. Objects whose namespace is gone are reported missing without asking the server
  (a dry run cannot create objects in a namespace that does not exist).
* **to prune**: owned objects (ownership labels) in the cluster that git no longer has, chosen by the same
  :func:`infra.reconcile.select_prunable` the reconcile deletes with.
* **orphaned namespace**: an owned Namespace gone from git; reported, never deleted automatically.

kubectl is told which diff program to run (``KUBECTL_EXTERNAL_DIFF``) so a user's own setting (dyff, meld,
colordiff) cannot change the format, and with a context large enough to show every changed line's parents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from infra.kube import KubeTarget, ObjectRef, ensure_reachable, kubectl, resolve_target
from infra.reconcile import (
    FIELD_MANAGER,
    dump,
    list_owned,
    orphaned_namespaces,
    render_desired,
    select_prunable,
)

CHANGED = "changed"
MISSING = "missing"
TO_PRUNE = "to prune"
ORPHANED = "orphaned namespace"

# kubectl splits this on spaces and passes only flag-like words; headers then read "diff -u -N -U10000 ...".
DIFF_PROGRAM = "diff -u -N -U10000"
# A changed object always carries a new generation; it says nothing about the cause. "…generation" is the same
# line seen with too little context to show its parent.
NOISE_PATHS = frozenset({"metadata.generation", "…generation", "…metadata.generation"})
EXCERPT_LINES = 40
PRUNE_NOTE = "owned, no longer in git; the next reconcile deletes it"
ORPHANED_NOTE = "owned, no longer in git; namespaces are never pruned automatically: delete it by hand"

Progress = Callable[[str], None]

_HEADER = re.compile(r"^diff(?:\s+-\S+)*\s+(?P<old>\S+)\s+(?P<new>\S+)\s*$")
_HUNK = re.compile(r"^@@ -(?P<os>\d+)(?:,(?P<ol>\d+))? \+(?P<ns>\d+)(?:,(?P<nl>\d+))? @@")
# kubectl names each file <group.>version.Kind.namespace.name (group and name may hold dots; namespace not).
_OBJECT_FILE = re.compile(
    r"^(?:(?P<group>.+?)\.)?(?P<version>v\d+(?:(?:alpha|beta)\d+)?)\.(?P<kind>[A-Z][A-Za-z0-9]*)\."
    r"(?P<namespace>[a-z0-9-]*)\.(?P<name>.+)$"
)
_KEY = re.compile(r"""^(?P<key>"[^"]*"|'[^']*'|[^\s"'#-][^:]*?|-[^\s:][^:]*?):(?P<rest>\s.*|)$""")


@dataclass(frozen=True)
class ObjectDrift:
    """One drifted object: what differs (YAML paths) and the diff lines that say so."""

    ref: ObjectRef
    status: str
    fields: tuple[str, ...] = ()
    added: int = 0
    removed: int = 0
    excerpt: tuple[str, ...] = ()
    note: str = ""


@dataclass
class DriftReport:
    env: str
    cluster: str
    compared: int  # rendered objects
    items: list[ObjectDrift] = field(default_factory=list)
    unparsed: str = ""  # kubectl reported a diff this parser could not attribute to objects

    @property
    def has_drift(self) -> bool:
        return bool(self.items or self.unparsed)

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
        parts = [f"{self.count(s)} {s}" for s in (CHANGED, MISSING, TO_PRUNE, ORPHANED) if self.count(s)]
        if self.unparsed:
            parts.append("an unattributed diff")
        noun = "object" if len(self.items) == 1 else "objects"
        return f"drift in {len(self.items)} {noun}: {', '.join(parts)}"

    def markdown(self) -> str:
        return render_markdown(self)


# ---------------------------------------------------------------------------------------------- parsing


def parse_object_file(path: str) -> ObjectRef | None:
    """``/tmp/LIVE-1/apps.v1.Deployment.lab-hpa.hpa-demo`` -> its ref (None when not kubectl's form)."""
    match = _OBJECT_FILE.match(PurePosixPath(path).name)
    if not match:
        return None
    return ObjectRef(match["group"] or "", match["kind"], match["namespace"], match["name"])


@dataclass
class _Hunk:
    old_len: int
    new_len: int
    lines: list[str] = field(default_factory=list)  # with their ' ', '-', '+' marker


@dataclass
class _Block:
    ref: ObjectRef | None
    header: str
    hunks: list[_Hunk] = field(default_factory=list)


def _blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    current: _Block | None = None
    for line in text.splitlines():
        header = _HEADER.match(line) if line.startswith("diff ") else None
        if header:
            ref = parse_object_file(header["new"]) or parse_object_file(header["old"])
            current = _Block(ref, line)
            blocks.append(current)
            continue
        if current is None:
            continue
        hunk = _HUNK.match(line)
        if hunk:
            old_len = int(hunk["ol"]) if hunk["ol"] is not None else 1
            new_len = int(hunk["nl"]) if hunk["nl"] is not None else 1
            current.hunks.append(_Hunk(old_len, new_len))
        elif current.hunks and line[:1] in (" ", "-", "+"):
            current.hunks[-1].lines.append(line)
        # '--- a', '+++ b' before the first hunk and '\ No newline at end of file' are skipped
    return blocks


@dataclass(frozen=True)
class _Line:
    indent: int
    item: bool  # a sequence entry ("- ...")
    key: str | None
    key_only: bool  # "key:" (or "key: |") whose value is on the following, deeper lines
    item_name: str | None  # "- name: web" -> "web"


def _parse_line(text: str) -> _Line | None:
    stripped = text.lstrip(" ")
    if not stripped or stripped.startswith("#"):
        return None
    indent = len(text) - len(stripped)
    item = stripped == "-" or stripped.startswith("- ")
    body = stripped[1:].lstrip(" ") if item else stripped
    match = _KEY.match(body)
    if not match:
        return _Line(indent, item, None, False, None)
    key = match["key"].strip("\"'")
    rest = match["rest"].strip()
    key_only = rest == "" or rest[0] in "|>" or rest.startswith("#")
    item_name = rest.strip("\"'") if item and key == "name" and rest else None
    return _Line(indent, item, key, key_only, item_name)


def _item_label(view: Sequence[str], index: int) -> str:
    """``[name]`` of the sequence entry starting at ``index`` when it has a name, else ``[position]``."""
    start = _parse_line(view[index])
    assert start is not None
    if start.item_name:
        return f"[{start.item_name}]"
    for text in view[index + 1 :]:
        line = _parse_line(text)
        if line is None:
            continue
        if line.indent <= start.indent:
            break
        if line.key == "name" and line.indent == start.indent + 2 and not line.item:
            value = text.split(":", 1)[1].strip().strip("\"'")
            if value:
                return f"[{value}]"
    position = 0
    for text in reversed(view[:index]):
        line = _parse_line(text)
        if line is None or line.indent > start.indent:
            continue
        if line.indent == start.indent and line.item:
            position += 1
            continue
        return f"[{position}]"
    return "[?]"


def _format(parts: Sequence[str]) -> str:
    out = ""
    for part in parts:
        if part.startswith("["):
            out += part
        elif "." in part or "/" in part:
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def yaml_path(view: Sequence[str], index: int) -> str:
    """The path of line ``index`` in a YAML document shown as lines (``spec.template.spec.containers[web]``).

    Parents are found by indentation, as kubectl prints YAML (two spaces; sequence entries at their parent
    key's indentation, or deeper). The walk alternates between looking for the parent of a mapping key
    (a key-only line further left) and the parent of a sequence entry (the key-only line that holds the
    sequence). When the visible lines do not reach the top level the path starts with "…".
    """
    line = _parse_line(view[index])
    if line is None:
        return "…"
    parts: list[str] = []
    column: int | None = line.indent  # looking for the parent of a key at this column
    dash: int | None = None  # ... or for the key holding a sequence entry at this column
    if line.item:
        parts += [line.key] if line.key else []
        parts.append(_item_label(view, index))
        column, dash = None, line.indent
    elif line.key:
        parts.append(line.key)
    for j in range(index - 1, -1, -1):
        if column == 0:
            break
        above = _parse_line(view[j])
        if above is None:
            continue
        key_column = above.indent + 2 if above.item else above.indent
        if dash is not None:
            if above.key and above.key_only and key_column <= dash:
                parts.append(above.key)
                if above.item:
                    parts.append(_item_label(view, j))
                    dash = above.indent
                else:
                    column, dash = above.indent, None
            elif above.indent < dash and not above.item:
                break  # a scalar further left: not a shape this walk knows; stop rather than guess
            continue
        assert column is not None
        if above.item and above.indent < column:
            if key_column == column:  # a sibling key inside this entry: the entry is the parent
                parts.append(_item_label(view, j))
                column, dash = None, above.indent
            elif above.key and above.key_only and key_column < column:
                parts += [above.key, _item_label(view, j)]
                column, dash = None, above.indent
        elif not above.item and above.key and above.key_only and above.indent < column:
            parts.append(above.key)
            column = above.indent
    path = _format(list(reversed(parts)))
    return path if column == 0 else f"…{path}"


def _views(hunk: _Hunk) -> tuple[list[str], list[int], list[str], list[int]]:
    """The old and new text of a hunk, and the indexes of the removed and added lines in them."""
    old: list[str] = []
    new: list[str] = []
    removed: list[int] = []
    added: list[int] = []
    for line in hunk.lines:
        marker, text = line[:1], line[1:]
        if marker in (" ", "-"):
            if marker == "-":
                removed.append(len(old))
            old.append(text)
        if marker in (" ", "+"):
            if marker == "+":
                added.append(len(new))
            new.append(text)
    return old, removed, new, added


def _collapse(paths: Iterable[str]) -> tuple[str, ...]:
    """Unique paths in first-seen order, without those inside another changed path."""
    unique = list(dict.fromkeys(p for p in paths if p not in NOISE_PATHS))

    def inside(path: str, other: str) -> bool:
        return path != other and (path.startswith(other + ".") or path.startswith(other + "["))

    return tuple(p for p in unique if not any(inside(p, other) for other in unique))


def parse_diff(text: str) -> list[ObjectDrift]:
    """``kubectl diff`` output -> one entry per object: changed (with YAML paths), missing, or to prune."""
    items: list[ObjectDrift] = []
    for block in _blocks(text):
        if block.ref is None or not block.hunks:
            continue
        paths: list[str] = []
        excerpt: list[str] = []
        added = removed = 0
        for hunk in block.hunks:
            old, removed_at, new, added_at = _views(hunk)
            paths += [yaml_path(old, i) for i in removed_at]
            paths += [yaml_path(new, i) for i in added_at]
            added += len(added_at)
            removed += len(removed_at)
            excerpt += [line for line in hunk.lines if line[:1] in ("-", "+")]
        if all(h.old_len == 0 for h in block.hunks):
            status, fields = MISSING, ()
        elif all(h.new_len == 0 for h in block.hunks):
            status, fields = TO_PRUNE, ()
        else:
            status, fields = CHANGED, _collapse(paths)
        items.append(ObjectDrift(block.ref, status, fields, added, removed, tuple(excerpt)))
    return items


# ---------------------------------------------------------------------------------------------- the check


def diff_command() -> list[str]:
    return ["diff", "--server-side", f"--field-manager={FIELD_MANAGER}", "--force-conflicts", "-f", "-"]


def live_namespaces(target: KubeTarget) -> set[str]:
    result = kubectl(target, ["get", "namespaces", "-o", "name"], what="listing namespaces")
    return {line.strip().removeprefix("namespace/") for line in result.stdout.splitlines() if line.strip()}


def drift(env: str, *, target: KubeTarget | None = None, progress: Progress | None = None) -> DriftReport:
    """Compare ``manifests/envs/<env>`` with the live cluster; errors raise (exit 2), drift is reported."""
    say = progress or (lambda _line: None)
    target = target or resolve_target(env)
    version = ensure_reachable(target)
    say(f"cluster {target.describe()} answers (Kubernetes {version})")
    desired = render_desired(env)
    report = DriftReport(env, target.describe(), len(desired.objects))

    present = live_namespaces(target)
    diffable = []
    for obj in desired.objects:
        ref = ObjectRef.of(obj)
        if ref.namespace and ref.namespace not in present:
            report.items.append(ObjectDrift(ref, MISSING, note=f"namespace {ref.namespace} does not exist"))
        else:
            diffable.append(obj)
    if diffable:
        text = desired.text if len(diffable) == len(desired.objects) else dump(diffable)
        result = kubectl(
            target,
            diff_command(),
            input=text,
            env={"KUBECTL_EXTERNAL_DIFF": DIFF_PROGRAM},
            ok_codes=(0, 1),
            what="kubectl diff --server-side",
            hint="kubectl diff exits 0 (no diff), 1 (diff), >1 (error): fix the error above and re-run",
        )
        if result.returncode == 1:
            parsed = parse_diff(result.stdout)
            report.items += parsed
            if not parsed:
                report.unparsed = result.stdout.strip() or "(kubectl diff exited 1 and printed nothing)"
    say(f"kubectl diff: {len(report.items)} object(s) differ")

    live = list_owned(target)
    report.items += [
        ObjectDrift(ref, TO_PRUNE, note=PRUNE_NOTE) for ref in select_prunable(live, desired.refs)
    ]
    report.items += [
        ObjectDrift(ref, ORPHANED, note=ORPHANED_NOTE) for ref in orphaned_namespaces(live, desired.refs)
    ]
    return report


# ---------------------------------------------------------------------------------------------- output


def describe(item: ObjectDrift) -> str:
    """What differs, in one line."""
    if item.status == CHANGED:
        fields = ", ".join(item.fields) if item.fields else "(see diff)"
        return f"{fields} (+{item.added} -{item.removed})"
    if item.status == MISSING:
        return item.note or "not in the cluster; the next reconcile creates it"
    return item.note or "owned, no longer in git"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: DriftReport) -> str:
    """A Markdown section for a GitHub job summary or a report file."""
    out = [f"## Drift: `{report.env}`", ""]
    if not report.has_drift:
        out += [
            f"**No drift.** The cluster ({_cell(report.cluster)}) matches `manifests/envs/{report.env}`: "
            f"{report.compared} objects compared, no owned object outside git.",
            "",
        ]
        return "\n".join(out)
    headline = report.headline()
    out += [f"**{headline[:1].upper()}{headline[1:]}** (cluster: {_cell(report.cluster)}).", ""]
    if report.items:
        out += ["| object | status | what differs |", "| --- | --- | --- |"]
        out += [f"| `{item.ref}` | {item.status} | {_cell(describe(item))} |" for item in report.items]
        out.append("")
    for item in report.items:
        if item.status != CHANGED or not item.excerpt:
            continue
        shown = list(item.excerpt[:EXCERPT_LINES])
        if len(item.excerpt) > EXCERPT_LINES:
            shown.append(f"# ... {len(item.excerpt) - EXCERPT_LINES} more changed lines")
        out += [f"<details><summary>{item.ref}</summary>", "", "```diff", *shown, "```", "", "</details>", ""]
    if report.unparsed:
        out += ["Unattributed `kubectl diff` output:", "", "```diff", report.unparsed, "```", ""]
    out += [
        "Changed and missing objects are put back by `infra reconcile`; objects to prune are deleted by it; "
        "an orphaned namespace must be deleted by hand.",
        "",
    ]
    return "\n".join(out)
