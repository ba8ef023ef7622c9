"""One themed rich console for the whole toolkit.

Colour is on only when writing to a terminal (rich's own detection) and off when ``NO_COLOR`` is set or
``CI`` is true, so CI logs stay plain text. Long waits show a live line (:func:`waiting`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.live import Live
from rich.text import Text
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


# --- a live line for long waits -------------------------------------------------------------------------

WAIT_EVERY_SECONDS = 30.0  # how often a plain "still waiting" line is printed when not on a terminal


@dataclass
class Wait:
    """One awaited thing on a :class:`WaitBoard`: what, since when, until which deadline (seconds)."""

    what: str
    deadline: float
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def line(self) -> str:
        return f"{self.what}: {self.elapsed():.0f}s / {self.deadline:.0f}s"

    def finish(self) -> None:
        self.finished = self.finished or time.monotonic()


class WaitBoard:
    """What is being awaited, each with elapsed / deadline: redrawn in place on a terminal (rich ``Live``),
    else a plain line per wait every ``every`` seconds, so a CI log shows a long wait is alive.

    Threads may add and finish waits (``infra up`` waits for rollouts side by side). Start and end lines are
    the caller's: they are printed the same way on a terminal and in a log.
    """

    def __init__(self, say: Callable[[str], None], live: bool, every: float) -> None:
        self.live = live  # redrawn in place (a terminal), else plain lines
        self._say, self._every = say, every
        self._waits: list[Wait] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def add(self, what: str, deadline: float) -> Wait:
        wait = Wait(what, deadline)
        with self._lock:
            self._waits.append(wait)
        return wait

    def pending(self) -> list[Wait]:
        with self._lock:
            return [w for w in self._waits if w.finished is None]

    def __rich__(self) -> Text:
        """Rendered at every refresh of the live display: the elapsed times tick without our help."""
        return Text("\n".join(f"⏳ waiting for {w.line()}" for w in self.pending()), style="dim")

    def tick(self) -> None:
        """Until :meth:`stop`: every ``every`` seconds, a plain line per pending wait."""
        while not self._stop.wait(self._every):
            for wait in self.pending():
                self._say(f"still waiting for {wait.line()}")

    def stop(self) -> None:
        self._stop.set()


@contextmanager
def waiting(
    say: Callable[[str], None] | None = None,
    *,
    output: Console | None = None,
    every: float = WAIT_EVERY_SECONDS,
) -> Iterator[WaitBoard]:
    """A :class:`WaitBoard` for the ``with`` block: live on a terminal, plain lines through ``say`` (or the
    console) otherwise. Lines printed meanwhile appear above the live display, which vanishes at the end."""
    out = output or console
    board = WaitBoard(say or (lambda line: out.print(Text(line))), out.is_terminal, every)
    if board.live:
        with Live(board, console=out, refresh_per_second=2, transient=True, redirect_stderr=False):
            yield board
        return
    ticker = threading.Thread(target=board.tick, name="wait-lines", daemon=True)
    ticker.start()
    try:
        yield board
    finally:
        board.stop()
        ticker.join(timeout=1)
