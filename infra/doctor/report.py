"""Running the detectors over a snapshot, and the report in three shapes: a table, JSON, Markdown."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from infra.checks.model import Severity
from infra.doctor import detectors
from infra.doctor.registry import DETECTORS, Finding, finding
from infra.doctor.snapshot import KIND_RESOURCE, Snapshot
from infra.errors import EXIT_FINDINGS, EXIT_OK

_REGISTERED = detectors  # importing the package registers the detectors
SEVERITY_STYLE = {Severity.ERROR: "error", Severity.WARNING: "warn", Severity.INFO: "info"}


@dataclass
class DoctorReport:
    """The findings (most severe first), the detectors a collection gap silenced, and what was read."""

    findings: list[Finding]
    skipped: dict[str, str] = field(default_factory=dict)  # detector ID -> why it did not run
    gaps: dict[str, str] = field(default_factory=dict)  # kubectl resource -> error
    source: str = ""
    namespace: str | None = None
    collected_at: str = ""
    counts: dict[str, int] = field(default_factory=dict)  # kind -> objects read

    @property
    def exit_code(self) -> int:
        """1 when any finding is an error; warnings and info are shown but do not fail."""
        return EXIT_FINDINGS if any(f.severity is Severity.ERROR for f in self.findings) else EXIT_OK

    def summary(self) -> str:
        by = Counter(f.severity for f in self.findings)
        errors, warnings, infos = by[Severity.ERROR], by[Severity.WARNING], by[Severity.INFO]
        scope = f"namespace {self.namespace}" if self.namespace else "all namespaces"
        objects = sum(v for k, v in self.counts.items() if k != "Event")
        return (
            f"{objects} objects and {self.counts.get('Event', 0)} events ({scope}), {len(DETECTORS)} "
            "detectors: "
            f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}, {infos} info"
        )

    def verdict(self) -> str:
        return "FAILED" if self.exit_code else "healthy"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "namespace": self.namespace,
            "collectedAt": self.collected_at,
            "counts": self.counts,
            "findings": [f.to_dict() for f in self.findings],
            "skipped": self.skipped,
            "gaps": self.gaps,
            "summary": self.summary(),
            "verdict": self.verdict(),
        }

    def json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def markdown(self) -> str:
        lines = [
            f"## infra doctor: {self.verdict()}",
            "",
            f"{self.summary()}. Cluster: `{self.source or '-'}`.",
            "",
        ]
        if self.findings:
            lines += ["| severity | ID | object | evidence | meaning | fix |", "|---|---|---|---|---|---|"]
            for f in self.findings:
                cells = (f.severity.label, f"`{f.id}`", f"`{f.object}`", f.evidence, f.meaning, f.fix)
                lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
            lines.append("")
        for note in self.notes():
            lines.append(f"- {_cell(note)}")
        return "\n".join(lines).rstrip() + "\n"

    def notes(self) -> list[str]:
        """What the report could not look at, so a clean result is never silently partial."""
        out = [f"not collected: {resource} ({error})" for resource, error in self.gaps.items()]
        out += [f"skipped {rule}: {why}" for rule, why in self.skipped.items()]
        return out

    def print(self, console: Console) -> None:
        """A table on a terminal; in logs (no terminal, narrow) one block per finding, greppable by ID."""
        if self.findings and not console.is_terminal:
            for f in self.findings:
                console.print(
                    Text.assemble(
                        (f"{f.severity.label:7} {f.id}", SEVERITY_STYLE[f.severity]), f" {f.object}"
                    )
                )
                for label, value in (("evidence", f.evidence), ("meaning", f.meaning), ("fix", f.fix)):
                    console.print(Text(f"  {label + ':':9} {value}"))
        elif self.findings:
            table = Table(show_lines=True, title_justify="left", expand=False)
            table.add_column("ID", no_wrap=True)
            table.add_column("object", overflow="fold")
            table.add_column("evidence", overflow="fold")
            table.add_column("meaning / fix", overflow="fold")
            for f in self.findings:
                table.add_row(
                    Text(f.id, style=SEVERITY_STYLE[f.severity]),
                    Text(f.object),
                    Text(f.evidence),
                    Text.assemble(f.meaning, "\n", ("fix: " + f.fix, "dim")),
                )
            console.print(table)
        for note in self.notes():
            console.print(Text(note, style="warn"))
        console.print(
            Text(f"{self.summary()} — ") + Text(self.verdict(), style="error" if self.exit_code else "ok")
        )


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def run(snapshot: Snapshot) -> DoctorReport:
    """Every registered detector over the snapshot; one whose kinds could not be collected is skipped."""
    findings: list[Finding] = []
    skipped: dict[str, str] = {}
    for det in DETECTORS.values():
        missing = [KIND_RESOURCE.get(k, k) for k in det.needs if not snapshot.collected(k)]
        if missing == ["Secret"] and "secrets" not in snapshot.gaps:
            continue  # not listed because no Ingress uses TLS: nothing to check, nothing to say
        if missing:
            skipped[det.id] = f"could not list {', '.join(missing)}"
            continue
        findings.extend(finding(det, hit) for hit in det.func(snapshot))
    findings.sort(key=lambda f: (-f.severity, f.namespace, f.object, f.id))
    counts = Counter(str(o.get("kind")) for o in snapshot.objects)
    return DoctorReport(
        findings,
        skipped,
        dict(snapshot.gaps),
        snapshot.source,
        snapshot.namespace,
        snapshot.collected_at,
        dict(sorted(counts.items())),
    )


def relevant(
    report: DoctorReport,
    *,
    namespace: str | None = None,
    kind: str | None = None,
    name: str | None = None,
    cluster: bool = True,
) -> list[Finding]:
    """The findings that can explain a failure in a namespace (or of one object).

    Cluster-wide findings (nodes, the metrics API) are included unless ``cluster`` is False: a NotReady node
    explains a failure anywhere.
    """
    out = []
    for f in report.findings:
        if not f.namespace:
            if cluster:
                out.append(f)
            continue
        f_kind, _, rest = f.object.partition("/")
        f_name = rest.partition("/")[2]
        if namespace and f.namespace != namespace:
            continue
        if kind and f_kind != kind:
            continue
        if name and f_name != name:
            continue
        out.append(f)
    return out
