"""The ``infra`` command line: a thin typer layer over the library.

Exit codes: 0 ok, 1 findings / failed checks / drift, 2 usage or environment error.
"""

from __future__ import annotations

import typer

from infra.commands import check, doctor, down, drift, plan, reconcile, up, verify

app = typer.Typer(
    name="infra",
    help="Stand up a Kubernetes lab (kind or AWS/kOps) and prove every lab claim.\n\n"
    "Exit codes: 0 ok, 1 findings/failed checks/drift, 2 usage or environment error.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

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
