"""Charts of recorded series (:mod:`infra.series`), drawn by matplotlib's SVG backend.

One chart per claim and chart name (the part of a series name before ``/``); its lines share the axes. How a
chart is drawn follows what its values are:

* numbers: a step line per series (the value holds until the next poll), its expected value dashed in the
  same colour and its bound dotted grey: replicas against the HPA formula and ``maxReplicas``, CPU against
  the target;
* lists of names: each name's lifetime as a bar: the StatefulSet's pods appearing and going in order;
* mappings name -> number: bars of the last point, with the expected share and the bound as lines: requests
  answered per pod.

Time is seconds since the claim's first point, so the charts of one claim line up. matplotlib is imported
only when a chart is drawn (``infra verify`` must not pay for it at start-up; :func:`preload` can import it
in a thread while the probes run). Text stays text (``svg.fonttype: none``): smaller, faster, and the
browser's own sans-serif font, never a font fetched from anywhere. Each SVG carries its series as JSON in a
``<metadata>`` element, so what is drawn can be checked by a program, and its element IDs are prefixed with
the chart's name, so several charts can be inlined in one HTML page without clashing IDs.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from infra.series import Point, Series, chart_name

NUMBER, NAMES, COUNTS = "number", "names", "counts"
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
BOUND_COLOUR = "#7f7f7f"
WIDTH_IN, HEIGHT_IN = 7.5, 2.6
RC = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_SLUG = re.compile(r"[^A-Za-z0-9]+")
_ID = re.compile(r'\bid="([^"]+)"')
_NATURAL = re.compile(r"(\d+)")


@dataclass(frozen=True)
class Chart:
    """One drawn chart: which claim and chart, the SVG text, and the series it was drawn from."""

    claim: str
    name: str  # "replicas"
    kind: str  # NUMBER | NAMES | COUNTS
    svg: str  # a whole SVG document (XML declaration included)
    data: dict[str, Any] = field(default_factory=dict)  # line -> points (as in the series file)

    @property
    def slug(self) -> str:
        """``HPA-3-replicas``: the chart's file name (without ``.svg``) and its element ID prefix."""
        return slug(f"{self.claim}-{self.name}")

    @property
    def title(self) -> str:
        return f"{self.claim} {self.name}"

    def inline(self) -> str:
        """The SVG element alone, for inlining in HTML (no XML declaration or DOCTYPE)."""
        start = self.svg.find("<svg")
        return self.svg[start:] if start >= 0 else self.svg


def slug(text: str) -> str:
    return _SLUG.sub("-", text).strip("-")


def kind_of(value: Any) -> str:
    if isinstance(value, Mapping):
        return COUNTS
    if isinstance(value, list):
        return NAMES
    return NUMBER


def natural_key(name: str) -> tuple[Any, ...]:
    """``web-10`` after ``web-9``: digits compare as numbers."""
    return tuple(int(part) if part.isdigit() else part for part in _NATURAL.split(name))


def group(by_series: Mapping[str, Sequence[Point]]) -> list[tuple[str, str, dict[str, Sequence[Point]]]]:
    """(chart, kind, line -> points) of one claim's series, in recording order of the charts.

    Lines of a chart must be numbers to share it; a list or mapping series is a chart of its own (named by
    the whole series name when its chart name is taken).
    """
    charts: dict[tuple[str, str], dict[str, Sequence[Point]]] = {}
    for name, points in by_series.items():
        if not points:
            continue
        chart, line = chart_name(name)
        kind = kind_of(points[0].value)
        key = (chart, kind) if kind == NUMBER else (name, kind)
        charts.setdefault(key, {})[line] = [p for p in points if kind_of(p.value) == kind]
    return [(chart, kind, lines) for (chart, kind), lines in charts.items()]


def render_claim(claim: str, by_series: Mapping[str, Sequence[Point]]) -> list[Chart]:
    """Every chart of one claim, sharing its time origin (the claim's first point)."""
    starts = [p.at for points in by_series.values() for p in points]
    if not starts:
        return []
    origin = min(starts)
    return [render(claim, chart, kind, lines, origin) for chart, kind, lines in group(by_series)]


def render_all(series: Series) -> list[Chart]:
    """Every chart of every claim, claims in the order given."""
    return [chart for claim, by_series in series.items() for chart in render_claim(claim, by_series)]


def render(
    claim: str, chart: str, kind: str, lines: Mapping[str, Sequence[Point]], origin: float | None = None
) -> Chart:
    """One chart as an SVG document. matplotlib is imported here, on first use."""
    import matplotlib
    from matplotlib.figure import Figure

    origin = min(p.at for points in lines.values() for p in points) if origin is None else origin
    name = slug(f"{claim}-{chart}")
    with matplotlib.rc_context({**RC, "svg.hashsalt": name}):
        figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=100)
        figure.subplots_adjust(left=_left_margin(kind, lines), right=0.98, bottom=0.18, top=0.86)
        axes = figure.add_subplot()
        {NUMBER: _numbers, NAMES: _names, COUNTS: _counts}[kind](axes, lines, origin)
        axes.set_title(f"{claim} · {chart}", loc="left", fontsize=10, fontweight="bold", pad=14)
        if axes.get_legend_handles_labels()[0]:  # above the plot, right of the title: never over the data
            axes.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=4, fontsize=7, frameon=False)
        axes.grid(alpha=0.3, linewidth=0.6)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    data = {line: [p.to_dict() for p in points] for line, points in lines.items()}
    svg = _embed(_prefix_ids(buffer.getvalue(), name), name, claim, chart, kind, data)
    return Chart(claim, chart, kind, svg, data)


def _left_margin(kind: str, lines: Mapping[str, Sequence[Point]]) -> float:
    """Room for the y labels: pod names on a lifetime chart are long (``whoami-web-4xk2p``)."""
    if kind != NAMES:
        return 0.08
    longest = max((len(n) for points in lines.values() for p in points for n in p.value), default=4)
    return min(0.35, max(0.08, (0.3 + 0.075 * longest) / WIDTH_IN))


def _numbers(axes: Any, lines: Mapping[str, Sequence[Point]], origin: float) -> None:
    unit = ""
    for index, (line, points) in enumerate(lines.items()):
        colour = COLOURS[index % len(COLOURS)]
        xs = [p.at - origin for p in points]
        axes.step(xs, [p.value for p in points], where="post", color=colour, marker="o", markersize=3,
                  linewidth=1.6, label=line, gid=slug(line))  # fmt: skip
        expected = [(x, p.expected) for x, p in zip(xs, points, strict=True) if p.expected is not None]
        if expected:
            axes.step(*zip(*expected, strict=True), where="post", color=colour, linestyle="--", linewidth=1,
                      alpha=0.8, label=f"{line} expected", gid=f"{slug(line)}-expected")  # fmt: skip
        bound = [(x, p.bound) for x, p in zip(xs, points, strict=True) if p.bound is not None]
        if bound:
            axes.step(*zip(*bound, strict=True), where="post", color=BOUND_COLOUR, linestyle=":",
                      linewidth=1.2, label=f"{line} bound", gid=f"{slug(line)}-bound")  # fmt: skip
        unit = unit or next((p.unit for p in points if p.unit), "")
    axes.set_xlabel("seconds since the probe started")
    if unit:
        axes.set_ylabel(unit)
    axes.set_xlim(left=0)


def lifetimes(points: Sequence[Point], origin: float) -> dict[str, list[tuple[float, float]]]:
    """Each name's presence as (start, duration) spans: present from a poll that lists it until the next
    poll that does not (the last poll closes every span still open)."""
    spans: dict[str, list[tuple[float, float]]] = {}
    since: dict[str, float] = {}
    end = points[-1].at - origin if points else 0.0
    for point in points:
        at = point.at - origin
        present = set(point.value) if isinstance(point.value, list) else set()
        for gone in [n for n in since if n not in present]:
            spans.setdefault(gone, []).append((since[gone], at - since.pop(gone)))
        for new in present - since.keys():
            since[new] = at
    for name, start in since.items():
        spans.setdefault(name, []).append((start, max(end - start, 0.0)))
    return spans


def _names(axes: Any, lines: Mapping[str, Sequence[Point]], origin: float) -> None:
    points = next(iter(lines.values()))
    spans = lifetimes(points, origin)
    names = sorted(spans, key=natural_key)
    end = max((points[-1].at - origin), 1.0)
    for row, member in enumerate(names):
        colour = COLOURS[row % len(COLOURS)]
        bars = [(start, duration or end * 0.01) for start, duration in spans[member]]
        axes.broken_barh(bars, (row - 0.35, 0.7), facecolors=colour, alpha=0.85, gid=f"name-{slug(member)}")
    polls = [p.at - origin for p in points]
    axes.plot(polls, [-0.75] * len(polls), "|", color=BOUND_COLOUR, markersize=5, gid="polls")
    axes.set_yticks(range(len(names)), names)
    axes.set_ylim(-1, max(len(names), 1))
    axes.set_xlim(0, end)
    axes.set_xlabel("seconds since the probe started (ticks below: polls)")


def _counts(axes: Any, lines: Mapping[str, Sequence[Point]], origin: float) -> None:
    del origin  # the last count is drawn, not its time
    line, points = next(iter(lines.items()))
    last = points[-1]
    counts = last.value if isinstance(last.value, dict) else {}
    keys = sorted(counts, key=natural_key)
    bars = axes.bar(range(len(keys)), [counts[k] for k in keys], color=COLOURS[0], label=line)
    for bar, key in zip(bars, keys, strict=True):
        bar.set_gid(f"bar-{slug(key)}")
    for x, key in enumerate(keys):
        axes.annotate(f"{counts[key]:g}", (x, counts[key]), ha="center", va="bottom", fontsize=7)
    if last.expected is not None:
        axes.axhline(last.expected, color=COLOURS[1], linestyle="--", linewidth=1, label="expected",
                     gid="expected")  # fmt: skip
    if last.bound is not None:
        axes.axhline(last.bound, color=BOUND_COLOUR, linestyle=":", linewidth=1.2, label="bound",
                     gid="bound")  # fmt: skip
    axes.set_xticks(range(len(keys)), keys, rotation=15 if len(keys) > 4 else 0, fontsize=7)
    if last.unit:
        axes.set_ylabel(last.unit)


def _prefix_ids(svg: str, prefix: str) -> str:
    """Every ``id`` and every reference to one (``#id``, ``url(#id)``) prefixed, so IDs stay unique when
    several charts are inlined in one page (matplotlib numbers its groups ``figure_1``... in each)."""
    ids = set(_ID.findall(svg))
    if not ids:
        return svg
    svg = _ID.sub(lambda m: f'id="{prefix}--{m.group(1)}"', svg)
    return re.sub(
        r"#(" + "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True)) + r')(?=["\)])',
        lambda m: f"#{prefix}--{m.group(1)}",
        svg,
    )


def _embed(svg: str, name: str, claim: str, chart: str, kind: str, data: dict[str, Any]) -> str:
    """The series as JSON in a ``<metadata>`` element right after ``<svg ...>`` (XML-escaped text)."""
    payload = json.dumps({"claim": claim, "chart": chart, "kind": kind, "series": data}, sort_keys=True)
    element = f'<metadata id="{name}--series" class="infra-series">{escape(payload)}</metadata>'
    start = svg.find("<svg")
    close = svg.find(">", start) + 1
    return svg[:close] + "\n " + element + svg[close:] if start >= 0 else svg


_preloaded = threading.Event()


def preload() -> threading.Thread:
    """Import matplotlib in a daemon thread (while the probes run), so drawing at the end pays no import."""

    def load() -> None:
        import matplotlib.backends.backend_svg
        import matplotlib.figure  # noqa: F401

        _preloaded.set()

    thread = threading.Thread(target=load, name="matplotlib-preload", daemon=True)
    thread.start()
    return thread
