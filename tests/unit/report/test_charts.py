"""Charts drawn from recorded series: valid SVG files that carry the values they show."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from infra.paths import REPO_ROOT
from infra.report import write_report
from infra.report.charts import lifetimes, render_all, render_claim
from infra.series import Point, Series

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode())  # noqa: S314 - SVG we just drew


def group(root: ET.Element, gid: str) -> ET.Element:
    found = [g for g in root.iter(f"{SVG}g") if g.get("id") == gid]
    assert len(found) == 1, f"{gid}: {len(found)} groups"
    return found[0]


def first_path(element: ET.Element) -> list[tuple[float, float]]:
    path = next(element.iter(f"{SVG}path"))
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.get("d", ""))]
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def test_every_recorded_chart_is_written_as_a_valid_svg_file(
    report, recorded: Series, tmp_path: Path
) -> None:
    files = write_report(report, recorded, tmp_path)

    names = sorted(p.name for p in files.charts)
    assert names == [
        "CTL-6-endpoints.svg",
        "HPA-3-cpu.svg",
        "HPA-3-replicas.svg",
        "NLB-3-requests.svg",
        "STS-3-pods.svg",
        "STS-3-replicas.svg",
    ]
    for path in files.charts:
        assert path.parent == tmp_path / "charts" / "aws"
        root = ET.parse(path).getroot()  # noqa: S314 - our own file
        assert root.tag == f"{SVG}svg"
        ids = [e.get("id") for e in root.iter() if e.get("id")]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate IDs"
        assert all(i.startswith(path.stem + "--") for i in ids), f"{path.name}: unprefixed IDs"


def test_each_svg_embeds_the_series_it_draws(recorded: Series) -> None:
    for chart in render_all(recorded):
        metadata = next(
            e for e in parse(chart.svg).iter(f"{SVG}metadata") if e.get("class") == "infra-series"
        )
        data = json.loads(metadata.text or "")
        assert (data["claim"], data["chart"], data["kind"]) == (chart.claim, chart.name, chart.kind)
        by_series = recorded[chart.claim]
        for line, points in data["series"].items():
            recorded_points = by_series.get(f"{chart.name}/{line}") or by_series[line]
            assert points == [p.to_dict() for p in recorded_points]


def test_the_replica_steps_follow_the_recorded_values(recorded: Series) -> None:
    """A step line has 2n-1 vertices for n polls, at as many heights as there were distinct values."""
    chart = next(c for c in render_claim("HPA-3", recorded["HPA-3"]) if c.name == "replicas")
    root = parse(chart.svg)
    polls = recorded["HPA-3"]["replicas/current"]
    vertices = first_path(group(root, "HPA-3-replicas--current"))
    assert len(vertices) == 2 * len(polls) - 1
    heights = sorted({round(y, 3) for _, y in vertices}, reverse=True)  # SVG y grows downwards
    assert len(heights) == len({p.value for p in polls}) == 3  # 1, 5, 9 replicas
    # the bound (maxReplicas 10) and the formula are drawn as their own lines
    assert first_path(group(root, "HPA-3-replicas--current-bound"))
    expected = first_path(group(root, "HPA-3-replicas--desired-expected"))
    assert len(expected) == 2 * len(recorded["HPA-3"]["replicas/desired"]) - 1


def test_pod_lifetimes_show_the_ordered_scale_down(recorded: Series) -> None:
    """STS-3: web-3 lives from 2 s to 26 s, web-2 goes at 32 s; the bars span exactly that."""
    points = recorded["STS-3"]["pods"]
    spans = lifetimes(points, points[0].at)
    assert spans["web-3"] == [(2.0, 24.0)]
    assert spans["web-2"] == [(0.0, 32.0)]
    assert spans["web-0"] == [(0.0, 40.0)]

    chart = next(c for c in render_claim("STS-3", recorded["STS-3"]) if c.name == "pods")
    root = parse(chart.svg)
    xs = {name: sorted({x for x, _ in first_path(group(root, f"STS-3-pods--name-{name}"))}) for name in spans}
    left, right = xs["web-0"]  # 0 s .. 40 s
    per_second = (right - left) / 40
    assert xs["web-3"] == pytest.approx([left + 2 * per_second, left + 26 * per_second], abs=0.01)
    assert xs["web-2"][1] == pytest.approx(left + 32 * per_second, abs=0.01)


def test_request_bars_are_as_high_as_the_counts(recorded: Series) -> None:
    (chart,) = render_claim("NLB-3", recorded["NLB-3"])
    root = parse(chart.svg)
    last = recorded["NLB-3"]["requests"][-1].value
    assert isinstance(last, dict)
    heights = {}
    for pod in last:
        ys = [y for _, y in first_path(group(root, f"NLB-3-requests--bar-{pod}"))]
        heights[pod] = max(ys) - min(ys)
    unit = heights["echo-6d5f8b7c9-2xkqp"] / last["echo-6d5f8b7c9-2xkqp"]
    assert {pod: round(h / unit, 3) for pod, h in heights.items()} == last
    assert group(root, "NLB-3-requests--expected") is not None  # the even share, 33.3
    assert group(root, "NLB-3-requests--bound") is not None  # at least 1 each


def test_charts_mixing_kinds_split_and_empty_series_draw_nothing() -> None:
    mixed = {
        "pods": [Point(0.0, ["web-0"]), Point(2.0, ["web-0", "web-1"])],
        "replicas/ready": [Point(0.0, 1.0, expected=2.0), Point(2.0, 2.0, expected=2.0)],
        "replicas/spec": [Point(0.0, 2.0)],
        "empty": [],
    }
    charts = render_claim("STS-3", mixed)
    assert [(c.name, c.kind, sorted(c.data)) for c in charts] == [
        ("pods", "names", ["pods"]),
        ("replicas", "number", ["ready", "spec"]),
    ]
    assert render_claim("STS-3", {}) == []


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(out.stdout.split())


def test_matplotlib_is_imported_only_to_draw(tmp_path: Path) -> None:
    """``infra verify`` imports the report package at start-up: that must not import matplotlib, and
    neither must a report without series."""
    loaded = _modules_after("import infra.report, infra.series, infra.console")
    assert "infra.report.charts" in loaded
    assert "matplotlib" not in loaded

    empty = _modules_after(
        "from pathlib import Path\n"
        "from infra.report import write_report\n"
        "from infra.verify import parse_junit\n"
        f"report = parse_junit(Path({str(Path(__file__).parent / 'fixtures' / 'verify-aws.xml')!r}), 'aws')\n"
        f"write_report(report, {{}}, Path({str(tmp_path)!r}))\n"
    )
    assert (tmp_path / "verify-aws.html").is_file()
    assert "matplotlib" not in empty
