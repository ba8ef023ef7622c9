"""`infra check PATH...`: strict schemas and policy rules over manifests, before they reach a cluster."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from infra.checks import RULES, Finding, Severity, check_documents, failed, summary
from infra.checks.schema import major_minor
from infra.checks.server import dry_run
from infra.commands._common import user_errors
from infra.console import make_console
from infra.environments import DEFAULT_ENV, ENVIRONMENTS, get_environment
from infra.errors import EXIT_FINDINGS, EXIT_OK, InfraError
from infra.kube import resolve_target
from infra.render import collect

DEFAULT_VERSION = ENVIRONMENTS[DEFAULT_ENV].kube_version
SEVERITY_STYLE = {Severity.ERROR: "error", Severity.WARNING: "warn", Severity.INFO: "info"}


# Options shared by `infra check` and `infra plan`, in typer's --flag/--no-flag form: help shows no value.
QuietOption = Annotated[
    bool, typer.Option("--quiet/--no-quiet", "-q", help="Hide info findings (QoS classes).")
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose/--no-verbose", "-v", help="One line per info finding, not a summary.")
]
StrictOption = Annotated[bool, typer.Option("--strict/--no-strict", help="Warnings fail too (exit 1).")]
# What a user who types `--strict true` meant as the flag's value; click reads it as the next argument.
FLAG_VALUES = frozenset({"true", "false", "yes", "no", "on", "off", "1", "0"})


def print_findings(
    console: Console, findings: Iterable[Finding], *, quiet: bool = False, verbose: bool = False
) -> None:
    """One greppable line per error and warning: ``path#doc Kind/ns/name RULE-ID: message — hint``.

    Info findings (a QoS class per pod template: 7 to 15 per environment) are one summary line per rule
    unless ``verbose``, and hidden when ``quiet``; a rule with a single info finding prints it in full.
    """
    findings = list(findings)
    infos: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.severity is Severity.INFO:
            infos.setdefault(finding.rule, []).append(finding)
    for finding in findings:
        if finding.severity is Severity.INFO and (quiet or (not verbose and len(infos[finding.rule]) > 1)):
            continue
        console.print(
            Text.assemble(
                (finding.where, "path"),
                " ",
                finding.subject,
                " ",
                (finding.rule, SEVERITY_STYLE[finding.severity]),
                f": {finding.message} ",
                ("— " + finding.hint, "dim"),
            )
        )
    if quiet or verbose:
        return
    for rule, group in infos.items():
        if len(group) > 1:
            listed = Text(f" (-v lists all {len(group)})", "dim")
            console.print(Text.assemble((rule, "info"), f": {info_summary(rule, group)}", listed))


def info_summary(rule: str, findings: list[Finding]) -> str:
    """``11 Burstable, 2 BestEffort, 2 Guaranteed`` for QOS-CLASS: the messages' shared words, then counts.

    The shared words are dropped when they only repeat the rule ID (``QoS class`` of QOS-CLASS).
    """
    words = [f.message.split(" ") for f in findings]
    shared = 0  # leading words every message has, leaving at least one word of its own
    while all(len(w) > shared + 1 and w[shared] == words[0][shared] for w in words):
        shared += 1
    counts = Counter(" ".join(w[shared:]) for w in words)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    head = " ".join(words[0][:shared])
    listed = ", ".join(f"{n} {rest}" for rest, n in ranked)
    return f"{head}: {listed}" if head and head.lower() != rule.lower().replace("-", " ") else listed


def flag_values_as_paths(paths: Iterable[Path]) -> list[str]:
    """Arguments like ``true`` that do not exist as files: a value typed after a flag (``--strict true``)."""
    return [str(p) for p in paths if str(p).lower() in FLAG_VALUES and not p.exists()]


def verdict(findings: list[Finding], strict: bool) -> Text:
    bad = failed(findings, strict=strict)
    return Text("FAILED" if bad else "ok", style="error" if bad else "ok")


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check(
        paths: Annotated[
            list[Path] | None,
            typer.Argument(
                help="YAML files, directories of YAML, or kustomization directories (rendered).",
                show_default=False,
            ),
        ] = None,
        kube_version: Annotated[
            str | None,
            typer.Option(
                "--kube-version",
                help=f"Target Kubernetes MAJOR.MINOR. Default: {DEFAULT_VERSION} ({DEFAULT_ENV} env).",
            ),
        ] = None,
        quiet: QuietOption = False,
        verbose: VerboseOption = False,
        strict: StrictOption = False,
        list_rules: Annotated[bool, typer.Option("--list-rules", help="List the rules and exit.")] = False,
        server: Annotated[
            bool,
            typer.Option(
                "--server", help="Also dry-run each object on the cluster (server-side, read-only)."
            ),
        ] = False,
        env: Annotated[
            str | None,
            typer.Option(
                "--env",
                "-e",
                help="Environment: its StorageClasses/IngressClasses, and its cluster for --server.",
            ),
        ] = None,
        kubeconfig: Annotated[
            Path | None,
            typer.Option("--kubeconfig", help="Cluster for --server (default: .infra/<env>/kubeconfig)."),
        ] = None,
        context: Annotated[
            str | None, typer.Option("--context", help="kubeconfig context for --server.")
        ] = None,
    ) -> None:
        """Validate manifests against strict schemas, then the policy rules.

        Exit 0: clean (info/warnings only). 1: errors (warnings too with --strict). 2: bad input.

        Bad input: a missing path, unparsable YAML, an unknown kind, a kustomization that does not render.
        """
        console = make_console()
        if list_rules:
            for rule in RULES.values():
                console.print(f"{rule.id:15} {rule.severity.label:8} {rule.summary}")
            raise typer.Exit(EXIT_OK)
        with user_errors():
            default = get_environment(env).kube_version if env else DEFAULT_VERSION
            version = default if kube_version is None else major_minor(kube_version)
            if not paths:
                raise InfraError(
                    "no paths to check", "pass manifest files or directories: infra check PATH..."
                )
            if values := flag_values_as_paths(paths):
                raise InfraError(
                    f"'{values[0]}' is not a path: flags take no value",
                    "write --strict or --no-strict (and -q, -v) alone: infra check --strict PATH...",
                )
            docs = collect(paths)
            if not docs:
                raise InfraError(
                    f"no Kubernetes objects in {', '.join(map(str, paths))}", "pass manifests with documents"
                )
            findings = check_documents(docs, version, get_environment(env) if env else None)
            if server:
                target = resolve_target(
                    env or DEFAULT_ENV, kubeconfig=kubeconfig, context=context, read_only=True
                )
                for note in target.notes:
                    console.print(Text(note, style="dim"))
                findings = sorted(
                    dry_run(docs, target) + findings, key=lambda f: (f.order, -f.severity, f.rule)
                )
            elif kubeconfig is not None or context is not None:
                raise InfraError("--kubeconfig and --context choose the cluster of --server", "add --server")
        print_findings(console, findings, quiet=quiet, verbose=verbose)
        line = Text(f"{len(docs)} objects checked against Kubernetes {version}: {summary(findings)} — ")
        console.print(line + verdict(findings, strict))
        raise typer.Exit(EXIT_FINDINGS if failed(findings, strict=strict) else EXIT_OK)
