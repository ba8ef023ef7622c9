"""`infra reconcile`: make the cluster match git (server-side apply, owned objects pruned)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from infra.commands._common import ENV_NAMES, user_errors
from infra.console import make_console
from infra.environments import DEFAULT_ENV
from infra.errors import EXIT_FINDINGS, EXIT_OK
from infra.gitops.apply import reconcile
from infra.kube import resolve_target

EnvOption = Annotated[str, typer.Option("--env", "-e", help=f"Environment: {ENV_NAMES}.")]
PruneOption = Annotated[
    bool,
    typer.Option("--prune/--no-prune", help="Delete owned objects (ownership labels) git no longer has."),
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Server-side dry run: change nothing.")]
WaitOption = Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for workloads to roll out.")]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force-conflicts/--no-force-conflicts",
        help="Take back fields another field manager owns (git is the truth); without it, report conflicts.",
    ),
]
KubeconfigOption = Annotated[
    Path | None,
    typer.Option(
        "--kubeconfig",
        help="The cluster to use (default: .infra/<env>/kubeconfig; never ~/.kube/config on its own).",
    ),
]
ContextOption = Annotated[str | None, typer.Option("--context", help="kubeconfig context to use.")]
ManifestsOption = Annotated[
    Path | None,
    typer.Option(
        "--manifests",
        help="A kustomization to reconcile as this environment's (default: manifests/envs/<env>).",
    ),
]
IngressHostOption = Annotated[
    str | None,
    typer.Option(
        "--ingress-host", help="Host for a missing TLS Secret (default: .infra/<env>/outputs.json)."
    ),
]


def register(app: typer.Typer) -> None:
    @app.command("reconcile")
    def reconcile_command(
        env: EnvOption = DEFAULT_ENV,
        prune: PruneOption = True,
        dry_run: DryRunOption = False,
        wait: WaitOption = True,
        force_conflicts: ForceOption = True,
        kubeconfig: KubeconfigOption = None,
        context: ContextOption = None,
        ingress_host: IngressHostOption = None,
        manifests: ManifestsOption = None,
    ) -> None:
        """Apply manifests/envs/ENV server-side, create missing run-time Secrets, prune what git dropped.

        Acts only on the environment's own kubeconfig (.infra/ENV/kubeconfig) or a cluster named with
        --kubeconfig/--context; it prints the server and context first. Prune deletes only objects the last
        reconcile applied (its inventory), still labelled, in the environment's namespaces.
        Exit codes: 0 reconciled, 1 a workload did not become ready, 2 error (no cluster, bad manifests).
        """
        out = make_console()
        with user_errors():
            target = resolve_target(env, kubeconfig=kubeconfig, context=context)
            result = reconcile(
                env,
                target=target,
                prune_owned=prune,
                dry_run=dry_run,
                wait=wait,
                force_conflicts=force_conflicts,
                ingress_host=ingress_host,
                entry=manifests,
                progress=lambda line: out.print(f"[dim]·[/] {escape(line)}", markup=True, highlight=False),
            )
        verb = "would prune" if dry_run else "pruned"
        summary = (
            f"{len(result.applied)} applied, {len(result.secrets_created)} secret(s) "
            f"{'to create' if dry_run else 'created'}, {len(result.taken_back)} hand-added field(s) "
            f"{'to take back' if dry_run else 'taken back'}, {len(result.pruned)} {verb}"
        )
        if result.not_ready:
            names = ", ".join(str(ref) for ref, _ in result.not_ready)
            out.print(f"[error]reconcile {env}: {summary}; not ready: {escape(names)}[/]", markup=True)
            raise typer.Exit(EXIT_FINDINGS)
        label = "dry run" if dry_run else "reconciled"
        out.print(f"[ok]{label} {env}:[/] {summary}", markup=True, highlight=False)
        raise typer.Exit(EXIT_OK)
