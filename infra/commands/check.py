"""`infra check` (placeholder until its issue lands)."""

from __future__ import annotations

import typer

from infra.commands._common import user_errors
from infra.errors import InfraError


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check() -> None:
        """Not implemented yet."""
        with user_errors():
            raise InfraError("`infra check` is not implemented yet", "see the open issues")
