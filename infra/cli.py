"""The ``infra`` command line: a thin typer layer over the library.

Exit codes: 0 ok, 1 findings / failed checks / drift, 2 usage or environment error.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

import typer

# Command name -> the module that registers it. Only the command being run is imported (``infra drift``
# does not load the schema validator, Pulumi config models or the doctor), so start-up stays short where
# users wait; ``infra --help`` and ``from infra.cli import app`` get them all.
COMMANDS: dict[str, str] = {
    "plan": "infra.commands.plan",
    "check": "infra.commands.check",
    "up": "infra.commands.up",
    "down": "infra.commands.down",
    "verify": "infra.commands.verify",
    "drift": "infra.commands.drift",
    "reconcile": "infra.commands.reconcile",
    "doctor": "infra.commands.doctor",
}


def _print_version(wanted: bool) -> None:
    if wanted:
        try:
            typer.echo(f"infra {version('infra')}")
        except PackageNotFoundError:  # run from a checkout without `make deps`
            typer.echo("infra (not installed: run `make deps`)")
        raise typer.Exit(0)


def _root(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Options of ``infra`` itself (before the command)."""


def build(names: Iterable[str] | None = None) -> typer.Typer:
    """The ``infra`` app with the named commands (all when None), in the order of :data:`COMMANDS`."""
    wanted = set(COMMANDS if names is None else names)
    made = typer.Typer(
        name="infra",
        help="Stand up a Kubernetes lab (kind or AWS/kOps) and prove every lab claim.\n\n"
        "Exit codes: 0 ok, 1 findings/failed checks/drift, 2 usage or environment error.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        # Plain help: flags read `--strict / --no-strict` (typer's rich help prints a `<bool>` type beside
        # every flag, as if it took a value) and lines fit 80 columns.
        rich_markup_mode=None,
    )
    made.callback()(_root)
    for name, module in COMMANDS.items():
        if name in wanted:
            importlib.import_module(module).register(made)
    return made


def __getattr__(name: str) -> Any:
    """``infra.cli.app``: the full app, built on first use (tests and tools import it)."""
    if name == "app":
        full = build()
        globals()["app"] = full
        return full
    raise AttributeError(name)


def _command_of(args: list[str]) -> str | None:
    """The command word of an argv (the first one that is not an option), if it names a command."""
    for word in args:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (console script entry point).

    Commands end with ``typer.Exit(code)``; usage errors are typer's own (exit 2, with usage text).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    command = _command_of(args)
    try:
        build([command] if command else None)(args=args, prog_name="infra")
    except SystemExit as stop:
        if stop.code is None:
            return 0
        return stop.code if isinstance(stop.code, int) else 1
    return 0
