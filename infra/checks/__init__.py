"""The offline manifest gate: strict schemas, then policy rules over the whole document set.

``check_documents(docs, kube_version)`` is the library entry point behind ``infra check`` and ``infra plan``:

1. API versions the target Kubernetes no longer serves -> ``API-REMOVED`` (error; ``API-DEPRECATED``, a
   warning, while the target still serves them).
2. Strict schema of the target version (kubernetes-validate; unknown fields rejected) -> ``SCHEMA`` (error).
   A kind with no schema that no CustomResourceDefinition in the set defines raises :class:`InfraError`
   (exit 2): it is a typo or a missing CRD, and nothing else about it can be checked.
3. Every policy rule in :data:`infra.checks.registry.RULES` over the whole set.

Severities: errors fail (exit 1); warnings are shown and fail only with ``--strict``; info never fails.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from infra.checks import apis, rules, schema
from infra.checks.model import DocSet, Finding, Severity, dig, subject
from infra.checks.registry import RULES, describe
from infra.environments import Environment
from infra.errors import InfraError
from infra.render import Document

__all__ = ["RULES", "Finding", "Severity", "check_documents", "counts", "failed", "summary"]

describe("SCHEMA", Severity.ERROR, "strict schema of the target Kubernetes version (unknown fields rejected)")
describe("API-REMOVED", Severity.ERROR, "apiVersion removed in the target Kubernetes version")
describe(
    "API-DEPRECATED", Severity.WARNING, "apiVersion deprecated and removed in a later Kubernetes version"
)
MAX_SCHEMA_ERRORS = 5
_REGISTERED = rules  # importing infra.checks.rules registers the policy rules


def check_documents(docs: list[Document], kube_version: str, env: Environment | None = None) -> list[Finding]:
    """All findings for a set of documents, in document order (errors first within a document).

    ``env`` is the environment the set is for (``infra plan``): the rules that depend on what a cluster
    provides (StorageClasses, IngressClasses) check against it, else against what any environment provides.
    """
    schema.schema_dir(kube_version)  # an unsupported version is a usage error before anything else
    kube_version = schema.major_minor(kube_version)
    docset = DocSet(docs, kube_version, env)
    findings: list[Finding] = []
    unknown: list[Document] = []
    custom = custom_kinds(docs)

    def add(rule_id: str, doc: Document | None, message: str, hint: str) -> None:
        where = doc.where if doc else "-"
        findings.append(
            Finding(
                rule_id,
                RULES[rule_id].severity,
                message,
                hint,
                where,
                subject(doc) if doc else "-",
                docset.order(doc),
            )
        )

    for doc in docs:
        removal = apis.removal(doc.api_version, doc.kind)
        if removal and removal.removed_by(kube_version):
            add(
                "API-REMOVED",
                doc,
                f"{doc.api_version} {doc.kind} was removed in v{removal.removed_in} "
                f"(target Kubernetes {kube_version})",
                f"use {removal.replacement}",
            )
            continue
        if removal:
            add(
                "API-DEPRECATED",
                doc,
                f"{doc.api_version} {doc.kind} is deprecated and removed in Kubernetes v{removal.removed_in}",
                f"use {removal.replacement}",
            )
        errors = schema.validate(doc.obj, kube_version)
        if errors is None:
            if (doc.api_version, doc.kind) not in custom:
                unknown.append(doc)
            continue
        for error in errors[:MAX_SCHEMA_ERRORS]:
            add("SCHEMA", doc, f"{error} (Kubernetes {kube_version})", _schema_hint(doc))
        if len(errors) > MAX_SCHEMA_ERRORS:
            add("SCHEMA", doc, f"{len(errors) - MAX_SCHEMA_ERRORS} more schema errors", _schema_hint(doc))

    if unknown:
        listed = "; ".join(f"{d.where} {d.api_version} {d.kind}" for d in unknown[:5])
        more = f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else ""
        raise InfraError(
            f"unknown kind for Kubernetes {kube_version}: {listed}{more}",
            "fix apiVersion/kind, or check the CustomResourceDefinition together with its objects",
        )

    for rule in RULES.values():
        for hit in rule.func(docset):
            add(rule.id, hit.doc, hit.message, hit.hint)
    findings.sort(key=lambda f: (f.order, -f.severity, f.rule))
    return findings


def custom_kinds(docs: Iterable[Document]) -> set[tuple[str, str]]:
    """``(apiVersion, kind)`` pairs served by CustomResourceDefinitions in the set."""
    kinds: set[tuple[str, str]] = set()
    for doc in docs:
        if doc.kind != "CustomResourceDefinition":
            continue
        group, kind = dig(doc.obj, "spec", "group"), dig(doc.obj, "spec", "names", "kind")
        for version in dig(doc.obj, "spec", "versions") or []:
            name = dig(version, "name")
            if group and kind and name:
                kinds.add((f"{group}/{name}", str(kind)))
    return kinds


def _schema_hint(doc: Document) -> str:
    return f"fix the field (see `kubectl explain {doc.kind.lower()} --api-version={doc.api_version}`)"


def counts(findings: Iterable[Finding]) -> Counter[Severity]:
    return Counter(f.severity for f in findings)


def failed(findings: Iterable[Finding], *, strict: bool = False) -> bool:
    """Errors fail; warnings fail only when ``strict``; info never fails."""
    floor = Severity.WARNING if strict else Severity.ERROR
    return any(f.severity >= floor for f in findings)


def summary(findings: Iterable[Finding]) -> str:
    """``2 errors, 1 warning, 5 info``."""
    c = counts(findings)

    def n(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 or word == 'info' else 's'}"

    return ", ".join(
        (n(c[Severity.ERROR], "error"), n(c[Severity.WARNING], "warning"), n(c[Severity.INFO], "info"))
    )
