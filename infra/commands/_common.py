"""What every command shares: turning user errors into one line and an exit code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from infra.console import err_console
from infra.environments import ENVIRONMENTS
from infra.errors import InfraError

ENV_NAMES = ", ".join(ENVIRONMENTS)


def report_error(error: InfraError) -> None:
    """One line: what, where, how to fix. Never a traceback for a user's mistake."""
    line = f"[error]error:[/] {error.message}"
    if error.hint:
        line += f" [dim]—[/] {error.hint}"
    err_console.print(line, markup=True, highlight=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Run a command body; an :class:`InfraError` becomes one line on stderr and its exit code."""
    try:
        yield
    except InfraError as error:
        report_error(error)
        raise typer.Exit(error.exit_code) from None
