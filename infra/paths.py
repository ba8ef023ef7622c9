"""Where things live: the repository layout and the gitignored run-time folders."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = REPO_ROOT / "stacks"
PLAYBOOKS_DIR = REPO_ROOT / "playbooks"
MANIFESTS_DIR = REPO_ROOT / "manifests"
TESTS_DIR = REPO_ROOT / "tests"


def state_dir() -> Path:
    """Gitignored run-time state: Pulumi file backend, kubeconfigs, inventories, secrets, reports.

    ``INFRA_STATE_DIR`` overrides it (tests point it at a temporary directory).
    """
    return Path(os.environ.get("INFRA_STATE_DIR", REPO_ROOT / ".infra"))


def tools_dir() -> Path:
    """Gitignored folder of pinned CLIs the toolkit installs (``INFRA_TOOLS_DIR`` overrides)."""
    return Path(os.environ.get("INFRA_TOOLS_DIR", REPO_ROOT / ".tools"))


def env_dir(env: str) -> Path:
    """Generated files of one environment: kubeconfig, inventory, secrets (all gitignored, 0600)."""
    return state_dir() / env


def pulumi_backend_dir() -> Path:
    """The local Pulumi file backend (``pulumi login file://...``)."""
    return state_dir() / "pulumi"


def reports_dir() -> Path:
    """Verification and drift reports (JUnit XML, Markdown)."""
    return state_dir() / "reports"


def write_private(path: Path, data: str | bytes) -> Path:
    """Write a file that holds credentials: parent created, mode 0600 from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, raw)
    finally:
        os.close(fd)
    os.chmod(path, 0o600)  # also when the file existed with wider permissions
    return path
