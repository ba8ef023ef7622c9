"""Shared helpers for the playbook tests: run real ansible-playbook / ansible-inventory from the venv.

Ansible starts in about 2 s, so every expensive run is a module- or session-scoped fixture and the tests
assert on its recorded result. Runs use the ``ansible.posix.json`` callback so results are parsed, not
scraped from the screen output.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
PLAYBOOKS = REPO / "playbooks"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BIN = Path(sys.executable).parent
ENVIRONMENTS = ("local", "aws")


@dataclass(frozen=True)
class PlaybookRun:
    """One ansible-playbook run: exit code, per-host stats and every task result by task name."""

    returncode: int
    stats: dict[str, dict[str, int]]
    tasks: dict[str, dict[str, Any]]  # task name -> {host: result}
    output: str

    def changed(self, host: str) -> int:
        return self.stats.get(host, {}).get("changed", 0)

    def failed(self, host: str) -> int:
        return self.stats.get(host, {}).get("failures", 0) + self.stats.get(host, {}).get("unreachable", 0)


def ansible_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(Path(os.environ.get("TMPDIR", "/tmp")) / "ansible-local-tests"),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.update(extra)
    return env


def run_playbook(
    playbook: str,
    inventory: Path,
    extra_vars: dict[str, Any] | None = None,
    *args: str,
) -> PlaybookRun:
    """Run ``playbooks/<playbook>`` against ``inventory``; extra vars go in as JSON (types kept)."""
    argv = [str(BIN / "ansible-playbook"), "-i", str(inventory), str(PLAYBOOKS / playbook), *args]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    done = subprocess.run(argv, env=ansible_env(), capture_output=True, text=True, timeout=180, check=False)
    try:
        report = json.loads(done.stdout[done.stdout.index("{") :])
    except ValueError:
        pytest.fail(f"ansible-playbook printed no JSON report:\n{done.stdout}\n{done.stderr}")
    tasks: dict[str, dict[str, Any]] = {}
    for play in report.get("plays", []):
        for task in play.get("tasks", []):
            name = task["task"]["name"].split(" : ", 1)[-1]  # drop the "role : " prefix
            tasks.setdefault(name, {}).update(task.get("hosts", {}))
    return PlaybookRun(done.returncode, report.get("stats", {}), tasks, done.stdout + done.stderr)


def write_inventory(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def load_filter_plugin(name: str) -> ModuleType:
    """A module of playbooks/filter_plugins, imported by path (Ansible loads them the same way)."""
    spec = importlib.util.spec_from_file_location(name, PLAYBOOKS / "filter_plugins" / f"{name}.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_fixture(env: str) -> dict[str, Any]:
    return yaml.safe_load((FIXTURES / f"{env}.yml").read_text())


@pytest.fixture(scope="session")
def inventories() -> dict[str, dict[str, Any]]:
    """``ansible-inventory --list`` of each recorded inventory, with the playbooks' group_vars applied."""
    result = {}
    for env in ENVIRONMENTS:
        done = subprocess.run(
            [
                str(BIN / "ansible-inventory"),
                "-i",
                str(FIXTURES / f"{env}.yml"),
                "--playbook-dir",
                str(PLAYBOOKS),
                "--list",
            ],
            env=ansible_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        result[env] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="session")
def ansible() -> Any:
    """The helpers above for test modules (importlib mode: tests cannot import conftest)."""

    class Helpers:
        repo = REPO
        playbooks = PLAYBOOKS
        fixtures = FIXTURES
        bin = BIN
        env = staticmethod(ansible_env)
        run = staticmethod(run_playbook)
        write_inventory = staticmethod(write_inventory)
        load_fixture = staticmethod(load_fixture)
        load_filter_plugin = staticmethod(load_filter_plugin)

    return Helpers
