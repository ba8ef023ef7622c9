"""The verification report as one HTML page: claims, their evidence and timelines, doctor and drift.

One self-contained file: the CSS is inline, the charts are inline SVG (:mod:`infra.report.charts`), nothing
is fetched (no URL in any ``src`` or ``href``, no web font), so it opens from a CI artifact or a laptop
offline. The recorded series are also embedded as JSON (``<script type="application/json"
id="infra-series">``), so a program can read what the charts show.

Inputs are taken as they are: ``infra verify``'s report (:class:`infra.verify.Report`, parsed from JUnit),
the recorded series (:mod:`infra.series`), and, when they ran in the same run, ``infra doctor``'s
:class:`~infra.doctor.report.DoctorReport` and ``infra drift``'s :class:`~infra.gitops.drift.DriftReport`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any

from infra.labs import BY_ID, CLAIMS
from infra.report.charts import Chart, natural_key
from infra.series import Point, Series

if TYPE_CHECKING:  # the types only: importing them would pull the Kubernetes client into start-up
    from infra.doctor.report import DoctorReport
    from infra.gitops.drift import DriftReport
    from infra.verify import CaseResult, ClaimResult, Report

STEPS_SHOWN = 7  # distinct values listed in a series' evidence line before it is shortened

CSS = """
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #57606a; --line: #d0d7de; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #1f2328; margin: 0 auto; padding: 24px; max-width: 1200px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
.verdict { font-size: 16px; font-weight: 600; padding: 8px 12px; border-radius: 6px; margin: 8px 0; }
.verdict.passed { background: #dafbe1; color: var(--ok); }
.verdict.failed { background: #ffebe9; color: var(--bad); }
.meta, .muted { color: var(--muted); } nav a { margin-right: 12px; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; } td.num { text-align: right; white-space: nowrap; }
td.id { font-weight: 600; white-space: nowrap; } code { font-size: 12px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
         white-space: nowrap; border: 1px solid var(--line); }
.badge.passed { color: var(--ok); } .badge.failed, .badge.error { color: var(--bad); }
.badge.blocked, .badge.skipped { color: var(--warn); }
.badge.sev-error { color: var(--bad); } .badge.sev-warning { color: var(--warn); }
.evidence ul { margin: 0; padding-left: 16px; } .evidence li { margin: 1px 0; }
tr.charts > td { background: #fff; border-bottom: 2px solid var(--line); }
.chart-grid { display: flex; flex-wrap: wrap; gap: 8px; }
figure.chart { margin: 0; flex: 0 1 calc(50% - 4px); min-width: 420px; }
figure.chart svg { width: 100%; height: auto; }
pre { background: var(--bg); padding: 8px; overflow-x: auto; font-size: 12px; }
details { margin: 4px 0; }
"""


def render_page(
    report: Report,
    series: Series,
    charts: Sequence[Chart],
    *,
    doctor: DoctorReport | None = None,
    drift: DriftReport | None = None,
    generated_at: datetime | None = None,
    attached: Mapping[str, str] | None = None,
) -> str:
    """The whole page as text. ``attached``: sections rendered earlier (:func:`section`) by anchor."""
    attached = attached or {}
    when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    by_claim: dict[str, list[Chart]] = {}
    for chart in charts:
        by_claim.setdefault(chart.claim, []).append(chart)
    title = f"Lab verification — {report.env}"
    sections = [
        ("claims", "Claims", _claims(report, series, by_claim)),
        ("recorded", "Other recorded series", _orphans(report, series, by_claim)),
        ("prerequisites", "Prerequisites", _prerequisites(report)),
        ("doctor", "infra doctor", _doctor(doctor) if doctor is not None else attached.get("doctor", "")),
        ("drift", "infra drift", _drift(drift) if drift is not None else attached.get("drift", "")),
    ]
    shown = [(anchor, heading, body) for anchor, heading, body in sections if body]
    nav = " ".join(f'<a href="#{anchor}">{escape(heading)}</a>' for anchor, heading, _ in shown)
    verdict = "passed" if report.ok else "failed"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="verdict {verdict}">{escape(report.summary_line())}</p>',
        f'<p class="meta">generated {escape(when)} · {len(report.claims)} claims · {len(charts)} charts</p>',
        f"<nav>{nav}</nav>",
        "</header>",
        "<main>",
        *(f'<section id="{a}">\n<h2>{escape(h)}</h2>\n{body}\n</section>' for a, h, body in shown),
        "</main>",
        f'<script type="application/json" id="infra-series">{_json_for_html(series_json(series))}</script>',
        "</body>",
        "</html>",
    ]  # fmt: skip
    return "\n".join(parts) + "\n"


# --- claims -------------------------------------------------------------------------------------------


def _claims(report: Report, series: Series, by_claim: dict[str, list[Chart]]) -> str:
    rows = [
        '<table class="claims">',
        "<thead><tr><th>Claim</th><th>What</th><th>Result</th><th>Time</th><th>Evidence</th></tr></thead>",
        "<tbody>",
    ]
    for claim in report.claims:
        rows.append(_claim_row(claim, series.get(claim.claim, {})))
        if by_claim.get(claim.claim):
            rows.append(_chart_row(by_claim[claim.claim]))
    for case in report.unclaimed:
        rows.append(
            f'<tr class="outcome-{escape(case.outcome)}"><td class="id">?</td><td><code>{escape(case.name)}'
            f"</code> (names no claim)</td><td>{_badge(case.outcome)}</td>"
            f'<td class="num">{case.seconds:.1f} s</td><td class="evidence">{escape(case.message)}</td></tr>'
        )
    rows += ["</tbody>", "</table>"]
    ran = {c.claim for c in report.claims}
    not_run = [c.id for c in CLAIMS if c.id not in ran]
    if not_run:
        rows.append(f'<p class="muted">Not run (deselected, slow, or filtered out): {", ".join(not_run)}</p>')
    return "\n".join(rows)


def _claim_row(claim: ClaimResult, recorded: dict[str, list[Point]]) -> str:
    items = [f"<li>{escape(line)}</li>" for line in evidence_lines(claim, recorded)]
    evidence = f"<ul>{''.join(items)}</ul>" if items else ""
    return (
        f'<tr id="claim-{escape(claim.claim)}" class="outcome-{escape(claim.outcome)}">'
        f'<td class="id">{escape(claim.claim)}</td><td>{escape(claim.title)}</td>'
        f'<td>{_badge(claim.outcome)}</td><td class="num">{claim.seconds:.1f} s</td>'
        f'<td class="evidence">{evidence}</td></tr>'
    )


def _chart_row(charts: Sequence[Chart]) -> str:
    figures = [
        f'<figure class="chart" id="chart-{escape(c.slug)}" data-claim="{escape(c.claim)}" '
        f'data-chart="{escape(c.name)}" data-kind="{escape(c.kind)}">{c.inline()}</figure>'
        for c in charts
    ]
    return f'<tr class="charts"><td colspan="5"><div class="chart-grid">{"".join(figures)}</div></td></tr>'


def _badge(outcome: str) -> str:
    return f'<span class="badge {escape(outcome)}">{escape(outcome)}</span>'


def evidence_lines(claim: ClaimResult, recorded: dict[str, list[Point]]) -> list[str]:
    """What the claim's probes saw: each case's message (or name, for several cases), then each series."""
    lines = [_case_line(case, len(claim.cases) > 1) for case in claim.cases]
    lines = [line for line in lines if line]
    lines += [f"{name}: {summarise(points)}" for name, points in recorded.items() if points]
    return lines


def _case_line(case: CaseResult, several: bool) -> str:
    if several:
        text = f"{case.name}: {case.outcome} ({case.seconds:.1f} s)"
        return f"{text} — {case.message}" if case.message else text
    return case.message


def summarise(points: Sequence[Point]) -> str:
    """A series in one line: the values it went through (numbers), the changes (names), the last counts."""
    first = points[0]
    if isinstance(first.value, list):
        return _summarise_names(points)
    if isinstance(first.value, dict):
        last = points[-1].value
        counts = last if isinstance(last, dict) else {}
        shares = ", ".join(f"{k} {counts[k]:g}" for k in sorted(counts, key=natural_key))
        return f"{shares} ({sum(counts.values()):g} in all)"
    steps: list[float] = []
    for point in points:
        if isinstance(point.value, int | float) and (not steps or steps[-1] != point.value):
            steps.append(float(point.value))
    unit = f" {first.unit}" if first.unit else ""
    if len(steps) > STEPS_SHOWN:
        text = f"{steps[0]:g} → … peak {max(steps):g} … → {steps[-1]:g}"
    else:
        text = " → ".join(f"{v:g}" for v in steps)
    expected = [p.expected for p in points if p.expected is not None]
    bound = [p.bound for p in points if p.bound is not None]
    extra = []
    if expected:
        extra.append(f"expected at the end {expected[-1]:g}")
    if bound:
        extra.append(f"bound {bound[-1]:g}")
    tail = f" ({'; '.join(extra)})" if extra else ""
    return f"{text}{unit} over {points[-1].at - first.at:.0f} s, {len(points)} polls{tail}"


def _summarise_names(points: Sequence[Point]) -> str:
    start = points[0]
    previous = set(start.value) if isinstance(start.value, list) else set()
    changes = []
    for point in points[1:]:
        now = set(point.value) if isinstance(point.value, list) else set()
        at = point.at - start.at
        changes += [f"+{n} at {at:.0f} s" for n in sorted(now - previous, key=natural_key)]
        changes += [f"−{n} at {at:.0f} s" for n in sorted(previous - now, key=natural_key)]
        previous = now
    names = ", ".join(sorted(set(start.value) if isinstance(start.value, list) else set(), key=natural_key))
    return f"{{{names}}} then " + ", ".join(changes) if changes else f"{{{names}}} throughout"


def _orphans(report: Report, series: Series, by_claim: dict[str, list[Chart]]) -> str:
    """Series of claims the report has no row for (a run cut short): still shown, never dropped."""
    ran = {c.claim for c in report.claims}
    rows = []
    for claim, recorded in series.items():
        if claim in ran:
            continue
        title = BY_ID[claim].title if claim in BY_ID else "(not a known claim)"
        lines = "".join(f"<li>{escape(f'{n}: {summarise(p)}')}</li>" for n, p in recorded.items() if p)
        rows.append(f'<h3>{escape(claim)} <span class="muted">{escape(title)}</span></h3><ul>{lines}</ul>')
        if by_claim.get(claim):
            charts = "".join(f'<figure class="chart">{c.inline()}</figure>' for c in by_claim[claim])
            rows.append(f'<div class="chart-grid">{charts}</div>')
    return "\n".join(rows)


# --- prerequisites, causes, doctor, drift -------------------------------------------------------------


def _prerequisites(report: Report) -> str:
    out = []
    if report.prerequisites:
        out.append("<p>Checked before the probes; a failed one blocks the claims resting on it.</p><ul>")
        out += [f"<li>{escape(p.line())}</li>" for p in report.prerequisites]
        out.append("</ul>")
    if report.causes:
        out.append("<p>Likely causes of the failures (<code>infra doctor</code>):</p><ul>")
        out += [
            f"<li><strong>{escape(where)}</strong>: {escape(cause)}</li>"
            for where, causes in report.causes.items()
            for cause in causes
        ]
        out.append("</ul>")
    return "\n".join(out)


def section(*, doctor: DoctorReport | None = None, drift: DriftReport | None = None) -> tuple[str, str]:
    """(anchor, HTML) of the doctor's or the drift's section, to keep and show on a later page."""
    if doctor is not None:
        return "doctor", _doctor(doctor)
    if drift is not None:
        return "drift", _drift(drift)
    raise ValueError("section() needs doctor= or drift=")


def _doctor(doctor: DoctorReport) -> str:
    out = [f'<p class="verdict {"failed" if doctor.exit_code else "passed"}">{escape(doctor.summary())} — '
           f"{escape(doctor.verdict())}</p>"]  # fmt: skip
    if doctor.findings:
        out.append(
            "<table><thead><tr><th>Severity</th><th>ID</th><th>Object</th><th>Evidence</th><th>Meaning / fix"
            "</th></tr></thead><tbody>"
        )
        for f in doctor.findings:
            label = f.severity.label
            out.append(
                f'<tr><td><span class="badge sev-{escape(label)}">{escape(label)}</span></td>'
                f"<td><code>{escape(f.id)}</code></td><td><code>{escape(f.object)}</code></td>"
                f"<td>{escape(f.evidence)}</td><td>{escape(f.meaning)}<br>"
                f'<span class="muted">fix: {escape(f.fix)}</span></td></tr>'
            )
        out.append("</tbody></table>")
    notes = doctor.notes()
    if notes:
        out.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    return "\n".join(out)


def _drift(drift: DriftReport) -> str:
    from infra.gitops.drift import describe  # the report came from there: the module is loaded already

    out = [f'<p class="verdict {"failed" if drift.has_drift else "passed"}">{escape(drift.headline())}</p>',
           f'<p class="muted">cluster: {escape(drift.cluster)}</p>']  # fmt: skip
    if drift.items:
        out.append(
            "<table><thead><tr><th>Object</th><th>Status</th><th>What differs</th></tr></thead><tbody>"
        )
        out += [
            f"<tr><td><code>{escape(str(item.ref))}</code></td><td>{escape(item.status)}</td>"
            f"<td>{escape(describe(item))}</td></tr>"
            for item in drift.items
        ]
        out.append("</tbody></table>")
        for item in drift.items:
            if item.excerpt:
                excerpt = escape("\n".join(item.excerpt))
                out.append(
                    f"<details><summary>{escape(str(item.ref))} (live → git)</summary><pre>{excerpt}</pre>"
                    "</details>"
                )
    return "\n".join(out)


# --- embedded data ------------------------------------------------------------------------------------


def series_json(series: Series) -> dict[str, Any]:
    """The series as plain data: claim -> series -> points (the series file's fields)."""
    return {
        claim: {name: [p.to_dict() for p in points] for name, points in by_series.items()}
        for claim, by_series in series.items()
    }


def _json_for_html(data: Any) -> str:
    """JSON safe inside ``<script>``: ``<``, ``>`` and ``&`` escaped as JSON unicode escapes."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
