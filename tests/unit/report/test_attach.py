"""One page tells a run's story: `infra drift` and `infra doctor` join the last verify's page."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

from infra import verify
from infra.paths import reports_dir

from .conftest import JUNIT_FILE, SERIES_FILE


def sections(page: Path) -> list[str]:
    found: list[str] = []

    class Sections(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "section":
                found.append(dict(attrs).get("id") or "")

    Sections().feed(page.read_text(encoding="utf-8"))
    return found


def a_verify_run() -> Path:
    directory = reports_dir()
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(JUNIT_FILE, directory / "verify-aws.xml")
    shutil.copy(SERIES_FILE, directory / "verify-aws-series.jsonl")
    return directory


def test_without_a_verify_run_there_is_no_page_to_attach_to(drift):
    assert verify.attach("aws", drift=drift) is None
    assert not (reports_dir() / "verify-aws.html").exists()


def test_drift_then_doctor_join_the_verify_page_and_both_stay(drift, doctor):
    a_verify_run()
    page = verify.attach("aws", drift=drift)
    assert page == reports_dir() / "verify-aws.html"
    assert "drift" in sections(page)
    assert "doctor" not in sections(page)
    assert "spec.replicas: 4 -&gt; 2" in page.read_text()

    again = verify.attach("aws", doctor=doctor)
    assert again == page
    shown = sections(page)
    assert {"claims", "doctor", "drift"} <= set(shown)  # the claims of the run, then both attached sections
    text = page.read_text()
    assert "PVC-PENDING" in text
    assert "metadata.labels.debug" in text
    assert "ADD-3" in text  # still the verify run's page: its claims are there
