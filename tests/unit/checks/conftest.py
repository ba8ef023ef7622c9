"""Shared fixtures of the manifest-check tests: fixture files, the checker, and the CLI runner.

Fixture YAML lives in ``fixtures/<area>/``: ``good*.yaml`` must pass clean, ``bad-*.yaml`` must trip one rule.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.checks import Finding, check_documents
from infra.render import collect

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def check() -> Callable[..., list[Finding]]:
    """``check("hpa/good.yaml")`` -> findings at the local environment's Kubernetes version (1.35)."""

    def run(*paths: str, kube_version: str = "1.35") -> list[Finding]:
        return check_documents(collect([FIXTURES / p for p in paths]), kube_version)

    return run


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
