from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def recorded():
    """Read a recorded output from fixtures/ (text, or parsed JSON for *.json)."""

    def read(name: str):
        text = (FIXTURES / name).read_text(encoding="utf-8")
        return json.loads(text) if name.endswith(".json") else text

    return read


@pytest.fixture
def isolated_state(tmp_path, monkeypatch):
    """Run-time state in a temporary folder, and no cluster configured from the environment."""
    monkeypatch.setenv("INFRA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return tmp_path
