"""The ``infra`` command line: a thin typer layer over the library.

Exit codes: 0 ok, 1 findings / failed checks / drift, 2 usage or environment error.
"""

from __future__ import annotations

import click
import typer

from infra.commands import check, down, drift, plan, reconcile, up, verify
from infra.errors import EXIT_USAGE

app = typer.Typer(
    name="infra",
    help="Stand up a Kubernetes lab (kind or AWS/kOps) and prove every lab claim.\n\n"
    "Exit codes: 0 ok, 1 findings/failed checks/drift, 2 usage or environment error.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (plan, check, up, down, verify, drift, reconcile):
    module.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (console script entry point)."""
    try:
        result = app(args=argv, prog_name="infra", standalone_mode=False)
    except click.exceptions.Exit as stop:
        return stop.exit_code
    except click.ClickException as error:  # usage errors: unknown option, bad value
        error.show()
        return EXIT_USAGE if isinstance(error, click.UsageError) else error.exit_code
    except click.exceptions.Abort:
        return 130
    return result if isinstance(result, int) else 0
