"""The process boundary: every external command the toolkit runs goes through :func:`run`.

Tests replace :func:`run` (monkeypatch ``infra.proc.run``) to assert the exact commands and their order
without running them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

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
    if shutil.which(args[0], path=_search_path()) is None and not Path(args[0]).is_file():
        raise ToolMissingError(
            f"`{args[0]}` is not installed or not on PATH", hint or "see README: Prerequisites"
        )
    full_env = {**os.environ, "PATH": _search_path(), **(env or {})}
    try:
        done = subprocess.run(
            args,
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


def _search_path() -> str:
    """PATH with the toolkit's own pinned tools first."""
    from infra.paths import tools_dir

    return os.pathsep.join([str(tools_dir() / "bin"), os.environ.get("PATH", "")])
