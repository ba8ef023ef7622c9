"""`infra up`: stand up an environment stage by stage (see :mod:`infra.up`), each with its time."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from infra import up as lab
from infra.commands._common import ENV_NAMES, user_errors
from infra.console import make_console
from infra.environments import DEFAULT_ENV
from infra.errors import EXIT_OK, InfraError, StageError
from infra.probes.http import url
from infra.render import display_path
from infra.state import EnvState

# The stages as choices: typer validates --from and lists them in --help.
Stage = Enum("Stage", {name: name for name in lab.STAGES}, type=str)
MARKS = {"ok": ("✓", "ok"), "failed": ("✗", "error")}


def stage_printer(console: Console) -> lab.Reporter:
    """One line when a stage starts, one when it ends (mark, time, what it did); progress lines dimmed."""

    def report(event: lab.StageEvent) -> None:
        if event.status == "start":
            console.print(f"[info]▶ {event.stage}[/]", markup=True, highlight=False)
        elif event.status == "info":
            console.print(f"  [dim]· {event.detail}[/]", markup=True, highlight=False)
        else:
            mark, style = MARKS[event.status]
            # A failure's message is the command's one error line (stderr); say it once.
            detail = "" if event.status == "failed" else event.detail
            console.print(
                f"[{style}]{mark} {event.stage}[/] [dim]{event.seconds:.1f}s[/] {detail}".rstrip(),
                markup=True,
                highlight=False,
            )

    return report


def summary(outcome: lab.Outcome, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("stage")
    table.add_column("result")
    table.add_column("time", justify="right")
    for event in outcome.events:
        mark, style = MARKS[event.status]
        table.add_row(event.stage, f"[{style}]{mark} {event.status}[/]", f"{event.seconds:.1f}s")
    total = sum(e.seconds for e in outcome.events)
    table.add_row("total", "", f"{total:.1f}s")
    return table


# Stages after which a cluster exists: when one fails, the doctor reads the cluster for the likely cause.
CLUSTER_STAGES = frozenset({"addons", "secrets", "apply", "wait", "verify"})


def print_likely_causes(console: Console, env: str) -> None:
    """``infra doctor``'s findings for the environment's cluster, errors first (none when healthy)."""
    from infra.doctor import likely_causes  # only on failure: the doctor is not needed on a good run
    from infra.kube import resolve_target

    try:
        target = resolve_target(env)
    except InfraError:
        return
    causes = likely_causes(target)
    if causes:
        console.print(f"[warn]likely causes (infra doctor --env {env}):[/]", markup=True, highlight=False)
        for line in causes[:10]:
            console.print(f"  · {line}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("up")
    def up(
        env: Annotated[str, typer.Option("--env", "-e", help=f"Environment: {ENV_NAMES}.")] = DEFAULT_ENV,
        from_stage: Annotated[
            Stage | None,
            typer.Option(
                "--from",
                help="Resume at this stage (the earlier ones are not run).",
                show_default=False,
            ),
        ] = None,
        tls_cert: Annotated[
            Path | None,
            typer.Option(
                "--tls-cert", help="Your certificate (PEM) for the TLS lab, instead of a self-signed one."
            ),
        ] = None,
        tls_key: Annotated[
            Path | None, typer.Option("--tls-key", help="The private key (PEM) of --tls-cert.")
        ] = None,
    ) -> None:
        """Stand up the lab: preflight, pulumi, inventory, addons, secrets, apply, wait, verify.

        Each stage prints its time; a failing one stops the run and says how to resume with --from.
        Running it again changes nothing. Exit 0 up and verified, 1 claims failed, 2 a stage failed.
        """
        console = make_console()
        with user_errors():
            if (tls_cert is None) != (tls_key is None):
                raise InfraError("--tls-cert and --tls-key go together", "pass both files, or neither")
            stage = from_stage.value if from_stage is not None else None
            tls = (tls_cert, tls_key) if tls_cert is not None and tls_key is not None else None
            try:
                outcome = lab.up(env, from_stage=stage, report=stage_printer(console), tls=tls)
            except (
                StageError
            ) as failed:  # the stages that ran, the cluster's likely causes, then the error line
                if isinstance(failed.outcome, lab.Outcome) and failed.outcome.events:
                    console.print(summary(failed.outcome, f"infra up --env {env} (stopped)"))
                if failed.stage in CLUSTER_STAGES:
                    print_likely_causes(console, env)
                raise
        console.print(summary(outcome, f"infra up --env {env}"))
        if outcome.outputs is not None:
            out = outcome.outputs
            site = url("https", out.ingress_host, out.ingress_https_port)
            console.print(
                f"[ok]{env} lab is up:[/] {site} — kubeconfig "
                f"[path]{display_path(EnvState.of(env).kubeconfig)}[/], context {out.context}",
                markup=True,
                highlight=False,
            )
        raise typer.Exit(EXIT_OK)
