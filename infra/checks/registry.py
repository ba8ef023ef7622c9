"""The policy rules: each one a function over the whole document set, with a stable ID and severity."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from infra.checks.model import DocSet, Hit, Severity

RuleFunc = Callable[[DocSet], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    func: RuleFunc
    upstream: str | None = None  # the Kubernetes validation file the rule mirrors, when it mirrors one


RULES: dict[str, Rule] = {}


def rule(
    rule_id: str, severity: Severity, summary: str, *, upstream: str | None = None
) -> Callable[[RuleFunc], RuleFunc]:
    """Register a policy rule. IDs are stable: users grep for them and docs name them.

    ``upstream`` names the API server validation the rule mirrors; it is appended to the summary, so
    ``infra check --list-rules`` says which rules are the API server's own checks, run offline.
    """

    def register(func: RuleFunc) -> RuleFunc:
        if rule_id in RULES:
            raise ValueError(f"duplicate rule ID {rule_id}")
        listed = f"{summary} — {upstream}" if upstream else summary
        RULES[rule_id] = Rule(rule_id, severity, listed, func, upstream)
        return func

    return register


def describe(rule_id: str, severity: Severity, summary: str) -> None:
    """Register a rule that the runner itself applies (schema, API versions), so it is listed too."""
    RULES[rule_id] = Rule(rule_id, severity, summary, lambda _docs: ())
