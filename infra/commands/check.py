"""`infra check PATH...`: strict schemas and policy rules over manifests, before they reach a cluster."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from infra.checks import RULES, Finding, Severity, check_documents, failed, summary
from infra.checks.schema import major_minor
from infra.commands._common import user_errors
from infra.console import make_console
from infra.environments import DEFAULT_ENV, ENVIRONMENTS
from infra.errors import EXIT_FINDINGS, EXIT_OK, InfraError
from infra.render import collect

DEFAULT_VERSION = ENVIRONMENTS[DEFAULT_ENV].kube_version
SEVERITY_STYLE = {Severity.ERROR: "error", Severity.WARNING: "warn", Severity.INFO: "info"}


def print_findings(console: Console, findings: Iterable[Finding], *, quiet: bool = False) -> None:
    """One greppable line per finding: ``path#doc Kind/ns/name RULE-ID: message — hint``."""
    for finding in findings:
        if quiet and finding.severity is Severity.INFO:
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
        quiet: Annotated[
            bool, typer.Option("--quiet", "-q", help="Hide info findings (QoS classes).")
        ] = False,
        strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too (exit 1).")] = False,
        list_rules: Annotated[bool, typer.Option("--list-rules", help="List the rules and exit.")] = False,
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
            version = DEFAULT_VERSION if kube_version is None else major_minor(kube_version)
            if not paths:
                raise InfraError(
                    "no paths to check", "pass manifest files or directories: infra check PATH..."
                )
            docs = collect(paths)
            if not docs:
                raise InfraError(
                    f"no Kubernetes objects in {', '.join(map(str, paths))}", "pass manifests with documents"
                )
            findings = check_documents(docs, version)
        print_findings(console, findings, quiet=quiet)
        line = Text(f"{len(docs)} objects checked against Kubernetes {version}: {summary(findings)} — ")
        console.print(line + verdict(findings, strict))
        raise typer.Exit(EXIT_FINDINGS if failed(findings, strict=strict) else EXIT_OK)
