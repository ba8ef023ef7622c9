"""`infra plan` (placeholder until its issue lands)."""

from __future__ import annotations

import typer

from infra.commands._common import user_errors
from infra.errors import InfraError


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan() -> None:
        """Not implemented yet."""
        with user_errors():
            raise InfraError("`infra plan` is not implemented yet", "see the open issues")
