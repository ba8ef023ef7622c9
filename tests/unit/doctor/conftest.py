"""Recorded snapshots (``fixtures/<family>-firing.json`` / ``-quiet.json``, written by fixtures/record.py), a
fake kubectl at the process boundary, and the CLI runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra import proc
from infra.doctor import Snapshot

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def recorded() -> Callable[[str], Snapshot]:
    """``recorded("pods-firing")`` -> the snapshot of ``fixtures/pods-firing.json``."""
    return lambda name: Snapshot.load(FIXTURES / f"{name}.json")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@dataclass
class FakeKubectl:
    """Stands in for ``infra.proc.run``: records every argv, answers from a queue (or a function)."""

    answers: list[proc.Result | Callable[[list[str]], proc.Result]] = field(default_factory=list)
    calls: list[list[str]] = field(default_factory=list)

    def __call__(
        self, argv, *, cwd=None, env=None, input=None, check=True, capture=True, timeout=None, hint=None
    ):
        argv = [str(a) for a in argv]
        self.calls.append(argv)
        if not self.answers:
            raise AssertionError(f"unexpected command: {argv}")
        answer = self.answers.pop(0)
        result = answer(argv) if callable(answer) else answer
        return proc.Result(argv, result.returncode, result.stdout, result.stderr)

    def reply(self, stdout: str = "", stderr: str = "", returncode: int = 0) -> FakeKubectl:
        self.answers.append(proc.Result([], returncode, stdout, stderr))
        return self

    def verbs(self) -> list[str]:
        """The kubectl subcommand of every call (the first word after the target flags)."""
        out = []
        for argv in self.calls:
            words, skip = [], False
            for word in argv[1:]:
                if skip:
                    skip = False
                elif word in ("--kubeconfig", "--context"):
                    skip = True
                else:
                    words.append(word)
            out.append(words[0])
        return out


@pytest.fixture
def kubectl(monkeypatch) -> FakeKubectl:
    fake = FakeKubectl()
    monkeypatch.setattr(proc, "run", fake)
    return fake


@pytest.fixture
def listing() -> Callable[[str], str]:
    """``listing("pods-firing")``: what ``kubectl get -o json`` prints for a recorded snapshot's objects."""

    def render(snapshot_file: str) -> str:
        data = json.loads((FIXTURES / f"{snapshot_file}.json").read_text())
        return json.dumps({"apiVersion": "v1", "kind": "List", "items": data["items"], "metadata": {}})

    return render
