"""The report in a real browser: headless Chromium (the distribution's ``chromium`` package) renders the page
to a PNG. Optional: skipped, with the reason, where Chromium is not installed."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from infra.report import write_report
from infra.series import Series
from tests.unit.report.conftest import GENERATED_AT

WIDTH, HEIGHT = 1200, 1600
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)"
    ),
]


def screenshot(page: Path, png: Path, profile: Path, size: tuple[int, int] = (WIDTH, HEIGHT)) -> None:
    """Render ``page`` offline: no network, no first-run or update work, a throwaway profile."""
    assert CHROMIUM is not None
    argv = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        f"--window-size={size[0]},{size[1]}",
        page.resolve().as_uri(),
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert png.is_file(), f"chromium wrote no screenshot (exit {result.returncode}): {result.stderr[-2000:]}"


def png_size(png: Path) -> tuple[int, int]:
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_chromium_renders_the_report(report, recorded: Series, doctor, drift, tmp_path: Path) -> None:
    files = write_report(report, recorded, tmp_path, doctor=doctor, drift=drift, generated_at=GENERATED_AT)
    png = tmp_path / "report.png"
    screenshot(files.html, png, tmp_path / "profile")

    assert png_size(png) == (WIDTH, HEIGHT)
    from matplotlib.image import imread

    pixels = imread(png)[:, :, :3]
    colours = {tuple(p) for p in (pixels.reshape(-1, 3) * 255).round().astype(int)[::7].tolist()}
    # a blank or unstyled page has a handful of colours; text, badges and charts have hundreds
    assert len(colours) > 200
    # the failed verdict's red banner is near the top: the inline CSS applied
    banner = pixels[60:140, 40:600].reshape(-1, 3)
    assert any(r > 0.95 and 0.85 < g < 0.95 and 0.85 < b < 0.95 for r, g, b in banner.tolist())
