"""`infra verify`: prove every lab claim on the running lab, with a claim -> result -> time table."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from infra import verify as verifying
from infra.commands._common import ENV_NAMES, user_errors
from infra.console import console
from infra.environments import DEFAULT_ENV
from infra.errors import EXIT_FINDINGS, EXIT_OK

_STYLES = {
    verifying.PASSED: "ok",
    verifying.FAILED: "error",
    verifying.ERROR: "error",
    verifying.SKIPPED: "warn",
    verifying.BLOCKED: "error",
}


def report_table(report: verifying.Report) -> Table:
    table = Table(title=f"Lab claims — {report.env}", title_justify="left", expand=False)
    table.add_column("Claim", no_wrap=True)
    table.add_column("Result", no_wrap=True)
    table.add_column("Time", justify="right", no_wrap=True)
    table.add_column("What")
    table.add_column("Detail", overflow="fold")
    for claim in report.claims:
        style = _STYLES[claim.outcome]
        table.add_row(
            claim.claim,
            f"[{style}]{claim.outcome}[/]",
            f"{claim.seconds:.1f}s",
            claim.title,
            claim.detail,
        )
    for case in report.unclaimed:
        style = _STYLES[case.outcome]
        table.add_row("?", f"[{style}]{case.outcome}[/]", f"{case.seconds:.1f}s", case.name, "")
    return table


def _say(line: str) -> None:
    console.print(line, markup=False)


def register(app: typer.Typer) -> None:
    @app.command("verify")
    def verify(
        env: str = typer.Option(DEFAULT_ENV, "--env", "-e", help=f"Environment to probe ({ENV_NAMES})."),
        only: list[str] = typer.Option(  # noqa: B008 - typer's declaration style
            [], "--only", help="Claim ID(s) to probe, e.g. --only STS-3 --only SQL-1 (default: all)."
        ),
        include_slow: bool = typer.Option(
            False, "--include-slow", help="Also run slow probes (HPA-3 scale-in waits out the stabilization)."
        ),
        kubeconfig: Path | None = typer.Option(  # noqa: B008 - typer's declaration style
            None,
            "--kubeconfig",
            help="Cluster to probe (default: .infra/<env>/kubeconfig; never $KUBECONFIG alone).",
        ),
        context: str | None = typer.Option(None, "--context", help="kubeconfig context to probe."),
    ) -> None:
        """Run the live probes (tests/live) against the lab and report claim -> result -> time.

        Checks the claims' prerequisites first (metrics, ingress, storage, DNS, running containers): a claim
        whose prerequisite failed is reported at once as blocked by it. Writes JUnit XML and a Markdown
        summary under .infra/reports/ (and appends the summary to $GITHUB_STEP_SUMMARY in GitHub Actions).
        Exit 0 when every probed claim holds, 1 when any fails or is blocked, 2 when no cluster is
        configured or reachable.
        """
        with user_errors():
            outcome = verifying.verify(
                env, only, include_slow=include_slow, kubeconfig=kubeconfig, context=context, progress=_say
            )
        report = outcome.report
        console.print(report_table(report))
        for where, causes in report.causes.items():
            console.print(f"likely causes ({where}, from infra doctor):", style="warn")
            for cause in causes:
                console.print(f"  {cause}", markup=False)
        console.print(report.summary_line(), style="ok" if report.ok else "error")
        if outcome.incomplete:
            console.print(outcome.incomplete, style="error", markup=False)
        console.print(f"JUnit: [path]{outcome.junit}[/]  summary: [path]{outcome.markdown}[/]")
        raise typer.Exit(EXIT_OK if outcome.ok else EXIT_FINDINGS)
