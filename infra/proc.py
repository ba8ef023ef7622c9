"""The process boundary: every external command the toolkit runs goes through :func:`run`.

Tests replace :func:`run` (monkeypatch ``infra.proc.run``) to assert the exact commands and their order
without running them.

Commands are looked up in the locked environment (``.venv/bin``) first, then ``.tools/bin``, then PATH
(:func:`infra.tools.search_path`), and ``kubectl`` is always the locked, version-checked one
(:func:`infra.tools.kubectl_path`): a different kubectl earlier on the user's PATH changes nothing.
:attr:`Result.argv` keeps the command as the caller wrote it (``kubectl ...``), not the resolved path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from infra import tools
from infra.errors import InfraError, ToolMissingError


@dataclass(frozen=True)
class Result:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class CommandFailed(InfraError):
    def __init__(self, result: Result, hint: str | None = None) -> None:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        detail = " | ".join(tail) if tail else "no output"
        super().__init__(f"`{' '.join(result.argv[:4])}` exited {result.returncode}: {detail}", hint)
        self.result = result


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    check: bool = True,
    capture: bool = True,
    timeout: float | None = None,
    hint: str | None = None,
) -> Result:
    """Run a command; ``env`` is added to ``os.environ``. Raises :class:`CommandFailed` when ``check``."""
    args = [str(a) for a in argv]
    program = resolve(args[0], hint)
    full_env = {**os.environ, "PATH": tools.search_path(), **(env or {})}
    try:
        done = subprocess.run(
            [program, *args[1:]],
            cwd=cwd,
            env=full_env,
            input=input,
            text=True,
            capture_output=capture,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise InfraError(f"`{' '.join(args[:4])}` did not finish within {timeout:.0f}s", hint) from exc
    result = Result(args, done.returncode, done.stdout or "", done.stderr or "")
    if check and not result.ok:
        raise CommandFailed(result, hint)
    return result


def resolve(program: str, hint: str | None = None) -> str:
    """The executable ``run`` starts for ``program``: the locked kubectl, else the first on the search path.

    A path (``./script``, ``/usr/bin/env``) is taken as it is. Raises :class:`ToolMissingError` when nothing
    is found, or when the kubectl found is not the locked release.
    """
    if program == "kubectl":
        return str(tools.kubectl_path())
    found = shutil.which(program, path=tools.search_path())
    if found is not None:
        return found
    if os.sep in program and Path(program).is_file():
        return program
    hint = hint or "see README: Prerequisites"
    raise ToolMissingError(f"`{program}` is not installed or not on PATH", hint)
