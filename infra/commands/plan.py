"""`infra plan`: render and check every environment offline, and show what `up` would create."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from infra.checks import counts, failed, summary
from infra.checks.model import Finding, Severity
from infra.commands._common import ENV_NAMES, user_errors
from infra.commands.check import QuietOption, StrictOption, VerboseOption, print_findings, verdict
from infra.console import make_console
from infra.environments import select
from infra.errors import EXIT_FINDINGS, EXIT_OK
from infra.planning import EnvResult, plan_environment, syntax_check_playbooks
from infra.render import display_path

NUMBERS = ("objects", "errors", "warnings", "info")


def summary_table(results: list[EnvResult], ansible: list[Finding]) -> Table:
    """One row per environment plus the playbooks: short cells only, so the table fits 80 columns.

    What each environment would create is listed under the table (:func:`creates_list`), where long lines
    can wrap instead of being cut.
    """
    table = Table(title="infra plan", title_justify="left")
    for column in ("env", "k8s", *NUMBERS, "time"):
        table.add_column(column, justify="right" if column in NUMBERS else "left", no_wrap=True)
    for result in results:
        c = counts(result.findings)
        table.add_row(
            result.env.name,
            result.env.kube_version,
            "-" if result.objects is None else str(result.objects),
            Text(str(c[Severity.ERROR]), style="error" if c[Severity.ERROR] else "ok"),
            Text(str(c[Severity.WARNING]), style="warn" if c[Severity.WARNING] else ""),
            str(c[Severity.INFO]),
            f"{result.seconds:.1f}s",
        )
    c = counts(ansible)
    errors = Text(str(c[Severity.ERROR]), style="error" if c[Severity.ERROR] else "ok")
    table.add_row("playbooks", "-", "-", errors, "0", "0", "")
    return table


def creates_list(result: EnvResult) -> Table:
    """``<env> would create:`` and one bullet per resource, wrapped with a hanging indent; then the files."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for line in result.creates:
        grid.add_row("  -", line)
    if result.artifacts:
        grid.add_row("  ", Text("rendered: " + ", ".join(display_path(p) for p in result.artifacts), "dim"))
    return grid


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan(
        env: Annotated[str, typer.Option("--env", "-e", help=f"Environment: {ENV_NAMES}, or all.")] = "all",
        quiet: QuietOption = False,
        verbose: VerboseOption = False,
        strict: StrictOption = False,
    ) -> None:
        """Offline, in seconds: check each environment's manifests, playbooks and stack config.

        Renders and checks manifests/envs/<env>; ansible-playbook --syntax-check playbooks/site.yml;
        writes the stack config (kind config, kOps spec) under .infra/<env>/plan/.

        Exit 0: nothing fails. 1: any error (warnings too with --strict). 2: usage error.
        """
        console = make_console()
        with user_errors():
            environments = select(env)
        with ThreadPoolExecutor(max_workers=1) as pool:  # ansible starts slowly: overlap it with rendering
            syntax = pool.submit(syntax_check_playbooks)
            results = [plan_environment(environment) for environment in environments]
            ansible = syntax.result()
        findings = [f for result in results for f in result.findings] + ansible
        print_findings(console, findings, quiet=quiet, verbose=verbose)
        for result in results:
            if result.creates or result.artifacts:
                console.print(Text(f"{result.env.name} would create:", "bold"))
                console.print(creates_list(result))
        console.print(summary_table(results, ansible))
        names = ", ".join(e.name for e in environments)
        console.print(Text(f"plan {names}: {summary(findings)} — ") + verdict(findings, strict))
        raise typer.Exit(EXIT_FINDINGS if failed(findings, strict=strict) else EXIT_OK)
