from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_state(tmp_path, monkeypatch):
    """Run-time state and installed tools go to a temporary folder, never the repository's."""
    monkeypatch.setenv("INFRA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("INFRA_TOOLS_DIR", str(tmp_path / "tools"))
    return tmp_path
