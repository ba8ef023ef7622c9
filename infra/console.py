"""One themed rich console for the whole toolkit.

Colour is on only when writing to a terminal (rich's own detection) and off when ``NO_COLOR`` is set or
``CI`` is true, so CI logs stay plain text.
"""

from __future__ import annotations

import os

from rich.console import Console
from rich.theme import Theme

THEME = Theme(
    {
        "ok": "green",
        "info": "cyan",
        "warn": "yellow",
        "error": "bold red",
        "rule": "magenta",
        "path": "blue",
        "dim": "dim",
    }
)


def _no_colour() -> bool:
    return bool(os.environ.get("NO_COLOR")) or os.environ.get("CI", "").lower() == "true"


def make_console(stderr: bool = False) -> Console:
    """A console with the toolkit's theme; a new one each call so tests can capture output."""
    return Console(theme=THEME, stderr=stderr, no_color=_no_colour(), highlight=False, soft_wrap=True)


console = make_console()
err_console = make_console(stderr=True)
