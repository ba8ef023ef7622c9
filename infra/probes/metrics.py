"""metrics-server (ADD-1): the APIService is Available and ``kubectl top`` prints numbers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kubernetes.utils import parse_quantity


@dataclass(frozen=True)
class Usage:
    name: str  # "node" or "namespace/pod"
    cpu_millicores: int
    memory_bytes: int


def apiservice_available(apiservice: dict[str, Any]) -> tuple[bool, str]:
    """(Available?, the condition's reason/message) for an ``apiregistration.k8s.io/v1`` APIService."""
    for condition in (apiservice.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Available":
            detail = f"{condition.get('reason', '')}: {condition.get('message', '')}".strip(": ")
            return condition.get("status") == "True", detail or condition.get("status", "")
    return False, "no Available condition yet"


def parse_top(output: str, *, namespaced: bool = False) -> list[Usage]:
    """``kubectl top nodes|pods [-A] --no-headers`` -> usages. A non-numeric cell raises ValueError.

    Node rows are ``NAME CPU CPU% MEMORY MEMORY%``; pod rows ``[NAMESPACE] NAME CPU MEMORY``.
    """
    usages = []
    for line in output.splitlines():
        cells = line.split()
        if not cells:
            continue
        if namespaced:
            if len(cells) < 4:
                raise ValueError(f"short `kubectl top` row: {line!r}")
            name, cpu, memory = f"{cells[0]}/{cells[1]}", cells[2], cells[3]
        else:
            name, cpu = cells[0], cells[1]
            memory = cells[3] if len(cells) >= 5 else cells[2] if len(cells) >= 3 else ""
        usages.append(Usage(name, _millicores(cpu, line), int(_quantity(memory, line))))
    return usages


def _quantity(value: str, line: str) -> Decimal:
    try:
        return parse_quantity(value)
    except ValueError:
        raise ValueError(f"`kubectl top` printed no number in {line.strip()!r}") from None


def _millicores(value: str, line: str) -> int:
    return int(_quantity(value, line) * 1000)
