"""Shared fixtures of the GitOps tests: an isolated state folder and the recorded cluster objects.

The live behaviour (apply, drift, prune on a real API server) is tested in tests/cluster; here the pure
decisions are tested on recorded objects, and the commands' refusals before any kubectl call.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra import proc
from infra.kube import ObjectRef

FIXTURES = Path(__file__).parent / "fixtures"
OWNERSHIP = {"app.kubernetes.io/managed-by": "infra", "app.kubernetes.io/part-of": "k8s-labs"}


def cluster_objects() -> list[dict[str, Any]]:
    """Every object of a recorded cluster, labelled or not (``kubectl get ... -A -o json``)."""
    return json.loads((FIXTURES / "cluster-objects.json").read_text(encoding="utf-8"))["items"]


def by_ref(objects: list[dict[str, Any]]) -> dict[ObjectRef, dict[str, Any]]:
    return {ObjectRef.of(o, default_namespace=""): o for o in objects}


@pytest.fixture
def no_kubectl(monkeypatch) -> list[list[str]]:
    """Record any process the code would start; tests assert the list stays empty."""
    started: list[list[str]] = []

    def refuse(argv, **_kwargs):
        started.append([str(a) for a in argv])
        return proc.Result([str(a) for a in argv], 1, "", "not expected")

    monkeypatch.setattr(proc, "run", refuse)
    return started
