"""`infra down`: destroy an environment's stack and remove its generated files."""

from __future__ import annotations

from typing import Annotated

import typer

from infra import up as lab
from infra.commands._common import ENV_NAMES, user_errors
from infra.commands.up import stage_printer, summary
from infra.console import make_console
from infra.environments import DEFAULT_ENV
from infra.errors import EXIT_OK


def register(app: typer.Typer) -> None:
    @app.command("down")
    def down(
        env: Annotated[str, typer.Option("--env", "-e", help=f"Environment: {ENV_NAMES}.")] = DEFAULT_ENV,
    ) -> None:
        """Destroy the lab (pulumi destroy), then remove its kubeconfig, inventory, outputs and secrets.

        The Pulumi state and passphrase stay, so the next `infra up` reuses the stack. Exit 0 done, 2 failed.
        """
        console = make_console()
        with user_errors():
            outcome = lab.down(env, report=stage_printer(console))
        console.print(summary(outcome, f"infra down --env {env}"))
        raise typer.Exit(EXIT_OK)
