"""Fakes every area of the offline suite shares: isolated run-time state and a recorder of processes.

An area's own conftest.py builds on these (the local tests' ``recorder`` answers as a local stack would);
tests/unit/probes keeps its own ``isolated_state`` (that folder belongs to the verify work).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from infra import proc

# `make test` runs this suite on two pytest-xdist workers, a test file at a time (-n 2 --dist loadfile
# --no-loadscope-reorder). Two refinements, below: the files of an area whose session fixtures are costly go
# to one worker together, and the slowest files start first, so the run does not end on one worker finishing
# a long file alone. Neither changes what a test does; without xdist nothing here applies.
SHARED_SESSION_AREAS = ("tests/unit/aws/",)  # one moto server and one run of each Pulumi program
SLOWEST_FIRST = (  # seconds of CPU each, measured on a 2-core machine
    "tests/unit/playbooks/test_nfs_server_role.py",  # ~25: five nfs_server.yml runs, NFS-Ganesha for real
    "tests/unit/playbooks/test_render_values.py",  # ~15: four render.yml runs
    "tests/unit/aws/",  # ~8: the moto server, the Pulumi programs
)


def _slowest_first(nodeid: str) -> int:
    return next(
        (i for i, prefix in enumerate(SLOWEST_FIRST) if nodeid.startswith(prefix)), len(SLOWEST_FIRST)
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker of a ``--dist loadfile`` run: the slowest files first (every worker sorts alike,
    and the sort is stable: within a file the order stays)."""
    if getattr(config, "workerinput", {}).get("slowest_first"):
        items.sort(key=lambda item: _slowest_first(item.nodeid))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """The controller tells its workers to sort (a worker's own ``dist`` option always reads "no")."""
    node.workerinput["slowest_first"] = node.config.getoption("dist") == "loadfile"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile``, except that each of SHARED_SESSION_AREAS is one unit of work."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LoadFileSharingSessionAreas(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            area = next((a for a in SHARED_SESSION_AREAS if nodeid.startswith(a)), None)
            return area or super()._split_scope(nodeid)

    return LoadFileSharingSessionAreas(config, log)


# Variables of the developer's shell that would reach a cluster, a passphrase or a job summary.
LEAKY_VARIABLES = (
    "KUBECONFIG",
    "GITHUB_STEP_SUMMARY",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_CONFIG_PASSPHRASE_FILE",
    "PULUMI_BACKEND_URL",
)


@pytest.fixture(autouse=True)
def isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run-time state, installed tools and HOME in a temporary folder; returns the state folder.

    Nothing of the machine running the tests leaks in: no kubeconfig, passphrase or job summary from the
    environment, and not the user's own (gitignored) stack files: the committed defaults only.
    """
    from infra.envconfig import aws, local

    monkeypatch.setenv("INFRA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("INFRA_TOOLS_DIR", str(tmp_path / "tools"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in LEAKY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(local, "STACK_FILE", tmp_path / "no-user-stack" / "Pulumi.local.yaml")
    monkeypatch.setattr(aws, "STACK_FILE", tmp_path / "no-user-stack" / "Pulumi.aws.yaml")
    return tmp_path / "state"


@dataclass
class Call:
    argv: list[str]
    env: dict[str, str]
    cwd: str | None
    capture: bool


@dataclass
class ProcessRecorder:
    """Stands in for :func:`infra.proc.run`: records every command, answers from rules, runs nothing.

    ``argv[0]`` is recorded by its base name (``/venv/bin/ansible-playbook`` -> ``ansible-playbook``).
    A rule is (argv prefix, Result fields or an exception); the last rule added that matches answers.
    """

    rules: list[tuple[list[str], Any]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def on(
        self, prefix: str, *, stdout: str = "", returncode: int = 0, stderr: str = "", raises=None
    ) -> None:
        self.rules.insert(0, (prefix.split(), raises or (returncode, stdout, stderr)))

    def note(self, line: str) -> None:
        """Record a call that is not a process (a fake driver), to assert the order of everything."""
        self.calls.append(Call(line.split(), {}, None, True))

    def commands(self) -> list[str]:
        return [" ".join(c.argv) for c in self.calls]

    def __call__(
        self, argv, *, cwd=None, env=None, input=None, check=True, capture=True, timeout=None, hint=None
    ):
        args = [str(a) for a in argv]
        args[0] = Path(args[0]).name
        self.calls.append(Call(args, dict(env or {}), str(cwd) if cwd else None, capture))
        for prefix, answer in self.rules:
            if args[: len(prefix)] == prefix:
                if isinstance(answer, BaseException):
                    raise answer
                returncode, stdout, stderr = answer
                break
        else:
            returncode, stdout, stderr = 0, "", ""
        result = proc.Result(args, returncode, stdout, stderr)
        if check and not result.ok:
            raise proc.CommandFailed(result, hint)
        return result


@pytest.fixture
def process_recorder(monkeypatch: pytest.MonkeyPatch) -> ProcessRecorder:
    """A fresh :class:`ProcessRecorder` installed as ``infra.proc.run``."""
    recorder = ProcessRecorder()
    monkeypatch.setattr(proc, "run", recorder)
    return recorder


@pytest.fixture(scope="session")
def make_recorder() -> Callable[[], ProcessRecorder]:
    """The class, for a test that needs a recorder of its own (tests cannot import conftest)."""
    return ProcessRecorder
