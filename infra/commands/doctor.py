"""`infra doctor`: known problems found in the live cluster (or a saved snapshot), with evidence and fix."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from infra.commands._common import user_errors
from infra.commands.drift import attach_to_verify_page
from infra.commands.reconcile import ContextOption, EnvOption, KubeconfigOption
from infra.console import make_console
from infra.doctor import DETECTORS, Snapshot, collect, run
from infra.environments import DEFAULT_ENV
from infra.errors import EXIT_OK
from infra.kube import resolve_target
from infra.reports import append_step_summary


class Format(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor(
        env: EnvOption = DEFAULT_ENV,
        namespace: Annotated[
            str | None,
            typer.Option("--namespace", "-n", help="Only this namespace (nodes etc. still count)."),
        ] = None,
        output: Annotated[
            Format, typer.Option("--format", "-o", help="table, json or markdown.")
        ] = Format.table,
        save: Annotated[
            Path | None, typer.Option("--save", help="Also write the collected snapshot (JSON) here.")
        ] = None,
        from_file: Annotated[
            Path | None,
            typer.Option(
                "--from-file", help="Diagnose a saved snapshot instead of a cluster (no cluster needed)."
            ),
        ] = None,
        kubeconfig: KubeconfigOption = None,
        context: ContextOption = None,
        list_detectors: Annotated[
            bool, typer.Option("--list-detectors", help="List the detectors and exit.")
        ] = False,
    ) -> None:
        """Read the cluster (get/list only, one pass) and report known problems with evidence and fix.

        Exit codes: 0 healthy (warnings/info only), 1 findings at error severity, 2 no cluster or bad input.
        The Markdown report is also appended to $GITHUB_STEP_SUMMARY when set.
        """
        out, err = make_console(), make_console(stderr=True)
        if list_detectors:
            for det in DETECTORS.values():
                out.print(f"{det.id:18} {det.severity.label:8} {det.title}", markup=False, highlight=False)
            raise typer.Exit(EXIT_OK)
        with user_errors():
            if from_file is not None:
                snapshot = Snapshot.load(from_file)
                if namespace:
                    snapshot = _narrow(snapshot, namespace)
                err.print(
                    f"[dim]snapshot {escape(str(from_file))}: {escape(snapshot.source or '-')}[/]",
                    markup=True,
                )
            else:
                target = resolve_target(env, kubeconfig=kubeconfig, context=context, read_only=True)
                err.print(f"[dim]cluster: {escape(target.describe())}[/]", markup=True, highlight=False)
                for note in target.notes:
                    err.print(f"[warn]note:[/] {escape(note)}", markup=True, highlight=False)
                snapshot = collect(target, namespace)
            if save is not None:
                snapshot.save(save)
                err.print(f"[dim]snapshot saved: {escape(str(save))}[/]", markup=True, highlight=False)
        report = run(snapshot)
        markdown = report.markdown()
        append_step_summary(markdown)
        if from_file is None:  # a live look belongs to this run's story; a saved snapshot does not
            page = attach_to_verify_page(env, doctor=report)
            if page is not None:
                err.print(f"[dim]added to {escape(str(page))}[/]", markup=True, highlight=False)
        if output is Format.json:
            out.print(report.json(), markup=False, highlight=False, soft_wrap=True)
        elif output is Format.markdown:
            out.print(markdown, markup=False, highlight=False, soft_wrap=True)
        else:
            report.print(out)
        raise typer.Exit(report.exit_code)


def _narrow(snapshot: Snapshot, namespace: str) -> Snapshot:
    """A saved all-namespaces snapshot seen as one namespace: cluster-scoped objects stay."""
    objects = [
        o
        for o in snapshot.objects
        if not (o.get("metadata") or {}).get("namespace") or o["metadata"]["namespace"] == namespace
    ]
    secrets = (
        None if snapshot.secrets is None else [s for s in snapshot.secrets if s.get("namespace") == namespace]
    )
    return Snapshot(objects, secrets, dict(snapshot.gaps), namespace, snapshot.source, snapshot.collected_at)
