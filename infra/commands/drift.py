"""`infra drift`: the manifests against the live cluster; exit 0 none, 1 drift, 2 error."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from infra.commands._common import report_error
from infra.commands.reconcile import ContextOption, EnvOption, KubeconfigOption, ManifestsOption
from infra.console import make_console
from infra.environments import DEFAULT_ENV
from infra.errors import InfraError
from infra.gitops.drift import DriftReport, describe, drift
from infra.kube import resolve_target
from infra.paths import reports_dir
from infra.reports import append_step_summary


def attach_to_verify_page(env: str, **section: object) -> Path | None:
    """This run's drift/doctor section on the page of the environment's last `infra verify` (None: none)."""
    from infra.verify import attach  # only after the command's own work: verify's page is drawn again

    try:
        return attach(env, **section)  # type: ignore[arg-type]
    except InfraError as error:
        report_error(error)  # the command's own report is written; the page is a bonus
        return None


def default_report_path(env: str) -> Path:
    return reports_dir() / f"drift-{env}.md"


def print_report(report: DriftReport) -> None:
    out = make_console()
    if not report.has_drift:
        out.print(f"[ok]{report.headline()}[/]", markup=True, highlight=False)
        return
    table = Table(title=f"drift: {report.env}", title_justify="left")
    table.add_column("object")
    table.add_column("status")
    table.add_column("what differs", overflow="fold")
    for item in report.items:
        table.add_row(Text(str(item.ref)), Text(item.status), Text(describe(item)))  # paths hold [brackets]
    out.print(table)
    out.print(f"[warn]{report.headline()}[/]", markup=True, highlight=False)


MarkdownOption = Annotated[
    Path | None,
    typer.Option(
        "--markdown", help="Write the Markdown report here (default: .infra/reports/drift-<env>.md)."
    ),
]


def register(app: typer.Typer) -> None:
    @app.command("drift")
    def drift_command(
        env: EnvOption = DEFAULT_ENV,
        markdown: MarkdownOption = None,
        kubeconfig: KubeconfigOption = None,
        context: ContextOption = None,
        manifests: ManifestsOption = None,
    ) -> None:
        """Diff manifests/envs/ENV against the live cluster (server-side); list owned objects git lacks.

        Read-only: uses .infra/ENV/kubeconfig, --kubeconfig/--context, else $KUBECONFIG (said so).
        Exit codes: 0 no drift, 1 drift, 2 error (no cluster, the dry run failed). The Markdown report is
        also appended to $GITHUB_STEP_SUMMARY when set.
        """
        try:
            target = resolve_target(env, kubeconfig=kubeconfig, context=context, read_only=True)
            out = make_console()
            report = drift(
                env,
                target=target,
                entry=manifests,
                progress=lambda line: out.print(f"[dim]· {escape(line)}[/]", markup=True, highlight=False),
            )
        except InfraError as error:
            report_error(error)
            append_step_summary(f"## Drift: `{env}`\n\n**Error:** {error}\n")
            raise typer.Exit(error.exit_code) from None
        text = report.markdown()
        path = markdown or default_report_path(env)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        append_step_summary(text)
        print_report(report)
        make_console().print(f"[dim]report: {path}[/]", markup=True, highlight=False)
        page = attach_to_verify_page(env, drift=report)
        if page is not None:
            make_console().print(f"[dim]added to {page}[/]", markup=True, highlight=False)
        raise typer.Exit(report.exit_code)
