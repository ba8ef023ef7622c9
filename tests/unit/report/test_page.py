"""The HTML page: self-contained, valid, a row per claim with its evidence, doctor and drift when given."""

from __future__ import annotations

import copy
import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from infra.errors import InfraError
from infra.labs import BY_ID
from infra.report import write_report
from infra.report.charts import Chart, render_all
from infra.report.page import render_page, series_json
from infra.series import Point, Series, load
from tests.unit.report.conftest import GENERATED_AT, SERIES_FILE

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(HTMLParser):
    """Parses the page: open/close balance, every URL-bearing attribute, ids, rows and the embedded JSON."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.urls: list[str] = []
        self.ids: list[str] = []
        self.rows: dict[str, str] = {}  # claim row id -> its text
        self.scripts: dict[str, str] = {}
        self.styles: list[str] = []
        self._row: str | None = None
        self._script: str | None = None
        self._style = False
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)
        values = dict(attrs)
        if tag == "tr" and (values.get("id") or "").startswith("claim-"):
            self._row = values["id"]
            self.rows[self._row] = ""
        if tag == "script":
            self._script = values.get("id") or ""
            self.scripts[self._script] = ""
            if values.get("type") != "application/json":
                self.errors.append("a script that is not data")
        self._style = tag == "style"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "poster", "srcset") and value:
                self.urls.append(value)
            if name == "id" and value:
                self.ids.append(value)
        if tag == "link":
            self.errors.append("a <link> element (stylesheets and fonts must be inline)")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            return
        self.stack.pop()
        if tag == "tr":
            self._row = None
        if tag == "script":
            self._script = None
        if tag == "style":
            self._style = False

    def handle_data(self, data: str) -> None:
        if self._row:
            self.rows[self._row] += data
        if self._script is not None:
            self.scripts[self._script] += data
        if self._style:
            self.styles.append(data)


@pytest.fixture(scope="module")
def recorded_charts() -> tuple[Chart, ...]:
    """The recorded run's charts, drawn once for the module (0.3 s a time)."""
    return tuple(render_all(load(SERIES_FILE)))


@pytest.fixture
def page(report, recorded: Series, doctor, drift, recorded_charts: tuple[Chart, ...]) -> str:
    charts = copy.deepcopy(list(recorded_charts))  # = render_all(recorded): the same file; each test a copy
    return render_page(report, recorded, charts, doctor=doctor, drift=drift, generated_at=GENERATED_AT)


def parsed(text: str) -> Page:
    parser = Page()
    parser.feed(text)
    parser.close()
    return parser


def test_the_page_is_valid_html(page: str) -> None:
    result = parsed(page)
    assert result.doctype.lower() == "doctype html"
    assert result.errors == []
    assert result.stack == [], f"unclosed: {result.stack}"
    assert len(result.ids) == len(set(result.ids)), "duplicate IDs across the inlined charts"


def test_the_page_needs_no_network(page: str) -> None:
    result = parsed(page)
    assert result.urls, "the navigation links and the charts' internal references are there"
    external = [u for u in result.urls if not u.startswith("#")]
    assert external == []
    css = "".join(result.styles)
    assert "@import" not in css
    assert "@font-face" not in css
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", css)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)


def test_a_row_per_claim_with_its_title_result_time_and_evidence(page: str, report) -> None:
    rows = parsed(page).rows
    assert list(rows) == [f"claim-{c.claim}" for c in report.claims]
    for claim in report.claims:
        text = rows[f"claim-{claim.claim}"]
        assert BY_ID[claim.claim].title in text
        assert claim.outcome in text
        assert f"{claim.seconds:.1f} s" in text
    assert "mount.nfs: Connection timed out" in rows["claim-ADD-3"]
    assert "blocked by ADD-3" in rows["claim-STS-5"]
    assert "+web-3 at 2 s" in rows["claim-STS-3"]
    assert "−web-3 at 26 s, −web-2 at 32 s" in rows["claim-STS-3"]
    assert "replicas/current: 1 → 5 → 9 → 5 → 1" in rows["claim-HPA-3"]
    assert "echo-6d5f8b7c9-8mnwd 36" in rows["claim-NLB-3"]


def test_the_series_are_embedded_as_json(page: str, recorded: Series) -> None:
    data = json.loads(parsed(page).scripts["infra-series"])
    assert data == series_json(recorded)
    assert data["HPA-3"]["replicas/desired"][1]["expected"] == 1.0


def test_charts_sit_under_their_claim(page: str) -> None:
    charts = re.findall(r'<figure class="chart" id="chart-([^"]+)" data-claim="([^"]+)"', page)
    assert ("HPA-3-replicas", "HPA-3") in charts
    assert (
        page.index('id="claim-HPA-3"')
        < page.index('id="chart-HPA-3-replicas"')
        < page.index('id="claim-NLB-1"')
    )


def test_doctor_and_drift_sections_only_when_they_ran(report, recorded: Series, page: str) -> None:
    assert '<section id="doctor">' in page
    assert "PVC-PENDING" in page
    assert '<section id="drift">' in page
    assert "Deployment lab-ctl/pi-web" in page
    assert "spec.replicas: 4 -&gt; 2" in page

    alone = render_page(report, recorded, [], generated_at=GENERATED_AT)
    assert '<section id="doctor">' not in alone
    assert '<section id="drift">' not in alone
    assert parsed(alone).errors == []


def test_text_from_the_cluster_is_escaped(report, recorded: Series) -> None:
    report.causes = {"cluster": ['<script>alert("x")</script> & more']}
    text = render_page(report, recorded, [], generated_at=GENERATED_AT)
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert" in text
    series = {"HPA-3": {"x": [Point(0.0, 1.0, unit="</script><b>")]}}
    embedded = render_page(report, series, [], generated_at=GENERATED_AT)
    assert "</script><b>" not in embedded
    assert json.loads(parsed(embedded).scripts["infra-series"])["HPA-3"]["x"][0]["unit"] == "</script><b>"


def test_series_of_a_claim_without_a_row_are_still_shown(report, recorded: Series) -> None:
    recorded = {**recorded, "SQL-4": {"replication/lag": [Point(0.0, 3.0, expected=0.0), Point(5.0, 0.0)]}}
    text = render_page(report, recorded, render_all(recorded), generated_at=GENERATED_AT)
    section = text[text.index('<section id="recorded">') :]
    assert "SQL-4" in section
    assert BY_ID["SQL-4"].title in section
    assert "3 → 0" in section
    assert "SQL-4 · replication" in section  # its chart


def test_write_report_files_and_markdown(report, recorded: Series, doctor, drift, tmp_path: Path) -> None:
    stale = tmp_path / "charts" / "aws" / "OLD-1-gone.svg"
    stale.parent.mkdir(parents=True)
    stale.write_text("<svg/>", encoding="utf-8")

    files = write_report(report, recorded, tmp_path, doctor=doctor, drift=drift, generated_at=GENERATED_AT)

    assert files.html == tmp_path / "verify-aws.html"
    assert parsed(files.html.read_text(encoding="utf-8")).errors == []
    assert not stale.exists()
    images = re.findall(r"!\[([^\]]+)\]\(([^)]+)\)", files.markdown)
    assert ("HPA-3 replicas", "charts/aws/HPA-3-replicas.svg") in images
    assert len(images) == len(files.charts) == 6
    assert all((tmp_path / target).is_file() for _, target in images)
    assert "`verify-aws.html`" in files.markdown


def test_no_series_no_charts_and_no_markdown(report, tmp_path: Path) -> None:
    files = write_report(report, {}, tmp_path, generated_at=GENERATED_AT)
    assert files.charts == ()
    assert files.markdown == ""
    assert 'id="claim-HPA-3"' in files.html.read_text(encoding="utf-8")


def test_an_unwritable_report_folder_is_one_clear_error(report, recorded: Series, tmp_path: Path) -> None:
    blocker = tmp_path / "reports"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(InfraError, match="cannot write the verification report"):
        write_report(report, recorded, blocker)


def test_generation_time_on_a_recorded_run(report, recorded: Series, tmp_path: Path) -> None:
    """What ``infra verify`` pays at its end for a realistic run (6 charts, 227 points), matplotlib already
    imported (``preload`` imports it while the probes run). Must stay under a second; the bound here is
    loose because the test machine is shared."""
    write_report(report, recorded, tmp_path / "warm")  # imports matplotlib, as preload does
    started = time.perf_counter()
    files = write_report(report, recorded, tmp_path / "timed")
    seconds = time.perf_counter() - started
    print(f"report generation: {seconds:.3f}s for {len(files.charts)} charts")
    assert files.seconds <= seconds
    assert seconds < 2.0
