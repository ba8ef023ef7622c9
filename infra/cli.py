"""The ``infra`` command line: a thin typer layer over the library.

Exit codes: 0 ok, 1 findings / failed checks / drift, 2 usage or environment error.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from infra.commands import check, doctor, down, drift, plan, reconcile, up, verify

app = typer.Typer(
    name="infra",
    help="Stand up a Kubernetes lab (kind or AWS/kOps) and prove every lab claim.\n\n"
    "Exit codes: 0 ok, 1 findings/failed checks/drift, 2 usage or environment error.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: flags read `--strict / --no-strict` (typer's rich help prints a `<bool>` type beside every
    # flag, as if it took a value) and lines fit 80 columns.
    rich_markup_mode=None,
)


def _print_version(wanted: bool) -> None:
    if wanted:
        try:
            typer.echo(f"infra {version('infra')}")
        except PackageNotFoundError:  # run from a checkout without `make deps`
            typer.echo("infra (not installed: run `make deps`)")
        raise typer.Exit(0)


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Options of ``infra`` itself (before the command)."""


for module in (plan, check, up, down, verify, drift, reconcile, doctor):
    module.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (console script entry point).

    Commands end with ``typer.Exit(code)``; usage errors are typer's own (exit 2, with usage text).
    """
    try:
        app(args=argv, prog_name="infra")
    except SystemExit as stop:
        if stop.code is None:
            return 0
        return stop.code if isinstance(stop.code, int) else 1
    return 0
