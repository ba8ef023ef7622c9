"""Reports for people and for CI: the GitHub Actions job summary."""

from __future__ import annotations

import os
from pathlib import Path


def append_step_summary(markdown: str) -> Path | None:
    """Append Markdown to ``$GITHUB_STEP_SUMMARY`` (the job summary page) when running in GitHub Actions."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(markdown.rstrip("\n") + "\n\n")
    return path
