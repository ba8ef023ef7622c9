"""The verification report people look at: one self-contained HTML page, chart files, a Markdown snippet.

``infra verify`` prints a table and writes JUnit and Markdown for CI; this package adds the page that shows
what the probes watched happen (:mod:`infra.report.page`), with charts of the series they recorded
(:mod:`infra.series`, drawn by :mod:`infra.report.charts`), and ``infra doctor``'s findings and ``infra
drift``'s differences when those ran in the same run, so one file tells the whole story.

:func:`write_report` writes ``verify-<env>.html`` and ``charts/<env>/<claim>-<chart>.svg`` into the reports
folder and returns a Markdown snippet showing the charts as images (for ``verify-<env>.md``, which sits
beside them). matplotlib is imported only when there are series to draw.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from infra.errors import InfraError
from infra.report.charts import Chart, preload, render_all
from infra.report.page import render_page
from infra.series import Series

if TYPE_CHECKING:
    from infra.doctor.report import DoctorReport
    from infra.gitops.drift import DriftReport
    from infra.verify import Report

__all__ = ["Chart", "ReportFiles", "markdown_images", "preload", "render_page", "write_report"]


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` wrote, the Markdown that shows its charts, and how long it took."""

    html: Path
    charts: tuple[Path, ...]
    markdown: str
    seconds: float


def html_path(directory: Path, env: str) -> Path:
    return directory / f"verify-{env}.html"


def charts_dir(directory: Path, env: str) -> Path:
    return directory / "charts" / env


def write_report(
    report: Report,
    series: Series,
    directory: Path,
    *,
    doctor: DoctorReport | None = None,
    drift: DriftReport | None = None,
    generated_at: datetime | None = None,
    attached: Mapping[str, str] | None = None,
) -> ReportFiles:
    """Draw the charts, write them and the page into ``directory``; an unwritable folder is an InfraError.

    The env's previous chart files are removed first, so the folder never shows a chart of an older run.
    """
    started = time.perf_counter()
    charts = render_all(series) if series else []
    page = render_page(
        report, series, charts, doctor=doctor, drift=drift, generated_at=generated_at, attached=attached
    )
    folder = charts_dir(directory, report.env)
    html = html_path(directory, report.env)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.svg"):
            old.unlink()
        files = []
        for chart in charts:
            path = folder / f"{chart.slug}.svg"
            path.write_text(chart.svg, encoding="utf-8")
            files.append(path)
        html.write_text(page, encoding="utf-8")
    except OSError as error:
        raise InfraError(
            f"cannot write the verification report in {directory}: {error.strerror or error}",
            "check the folder's permissions and free space (INFRA_STATE_DIR moves it)",
        ) from None
    markdown = markdown_images(charts, files, directory, html)
    return ReportFiles(html, tuple(files), markdown, time.perf_counter() - started)


def markdown_images(charts: Sequence[Chart], files: Sequence[Path], base: Path, html: Path) -> str:
    """A Markdown section showing each chart as an image, linked relative to ``base`` (where the ``.md``
    report is), plus a pointer to the HTML page. Empty when nothing was recorded.

    GitHub renders relative images in a repository or artifact viewer, not in a job summary (which shows
    only absolute URLs): there, the alt text names the chart and the page is in the uploaded artifact.
    """
    if not charts:
        return ""
    lines = ["### Timelines", "", f"The whole report, charts included: `{_relative(html, base)}`.", ""]
    current = None
    for chart, path in zip(charts, files, strict=True):
        if chart.claim != current:
            lines += [f"**{chart.claim}**", ""]
            current = chart.claim
        lines += [f"![{chart.title}]({_relative(path, base)})", ""]
    return "\n".join(lines)


def _relative(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()
