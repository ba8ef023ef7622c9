"""PodDisruptionBudgets as the API server validates them (``ValidatePodDisruptionBudgetSpec``, policy)."""

from __future__ import annotations

from collections.abc import Iterator

from infra.checks.model import DocSet, Hit, Severity, as_dict
from infra.checks.registry import rule
from infra.checks.rules.apps import int_or_percent_problems
from infra.checks.rules.upstream import invalid, source

UPSTREAM = source("policy")


@rule(
    "PDB-SPEC",
    Severity.ERROR,
    "a PodDisruptionBudget sets minAvailable or maxUnavailable (not both), each an int or percentage <= 100%",
    upstream=UPSTREAM,
)
def pdb_spec(docs: DocSet) -> Iterator[Hit]:
    for pdb in docs.of_kind("PodDisruptionBudget"):
        spec = as_dict(pdb.obj.get("spec"))
        if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
            yield Hit(
                pdb,
                invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set"),
                "keep one of them: minAvailable (pods that must stay) or maxUnavailable (pods that may go)",
            )
        for key in ("minAvailable", "maxUnavailable"):
            if spec.get(key) is not None:
                for message in int_or_percent_problems(f"spec.{key}", spec[key]):
                    yield Hit(pdb, message, "write a non-negative integer or a percentage up to 100%")
