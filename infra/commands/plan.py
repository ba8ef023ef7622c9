"""`infra plan`: render and check every environment offline, and show what `up` would create."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from infra.checks import counts, failed, summary
from infra.checks.model import Finding, Severity
from infra.checks.plan import EnvResult, plan_environment, syntax_check_playbooks
from infra.commands._common import ENV_NAMES, user_errors
from infra.commands.check import print_findings, verdict
from infra.console import make_console
from infra.environments import select
from infra.errors import EXIT_FINDINGS, EXIT_OK
from infra.render import display_path

LOG_WIDTH = 160


def summary_table(results: list[EnvResult], ansible: list[Finding]) -> Table:
    table = Table(title="infra plan", title_justify="left")
    for column in (
        "env",
        "k8s",
        "would create",
        "objects",
        "errors",
        "warnings",
        "info",
        "artifacts",
        "time",
    ):
        table.add_column(
            column, justify="right" if column in ("objects", "errors", "warnings", "info") else "left"
        )
    for result in results:
        c = counts(result.findings)
        table.add_row(
            result.env.name,
            result.env.kube_version,
            "\n".join(result.creates) or "-",
            "-" if result.objects is None else str(result.objects),
            Text(str(c[Severity.ERROR]), style="error" if c[Severity.ERROR] else "ok"),
            Text(str(c[Severity.WARNING]), style="warn" if c[Severity.WARNING] else ""),
            str(c[Severity.INFO]),
            "\n".join(display_path(p) for p in result.artifacts) or "-",
            f"{result.seconds:.1f}s",
        )
    c = counts(ansible)
    table.add_row("playbooks", "-", "syntax-check site.yml", "-", str(c[Severity.ERROR]), "0", "0", "-", "")
    return table


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan(
        env: Annotated[str, typer.Option("--env", "-e", help=f"Environment: {ENV_NAMES}, or all.")] = "all",
        quiet: Annotated[
            bool, typer.Option("--quiet", "-q", help="Hide info findings (QoS classes).")
        ] = False,
        strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too (exit 1).")] = False,
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
        for result in results:
            print_findings(console, result.findings, quiet=quiet)
        print_findings(console, ansible, quiet=quiet)
        if not console.is_terminal:
            console.width = max(console.width, LOG_WIDTH)  # CI logs and pipes: keep table rows on one line
        console.print(summary_table(results, ansible))
        names = ", ".join(e.name for e in environments)
        console.print(Text(f"plan {names}: {summary(findings)} — ") + verdict(findings, strict))
        raise typer.Exit(EXIT_FINDINGS if failed(findings, strict=strict) else EXIT_OK)
