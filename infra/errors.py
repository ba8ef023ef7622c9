"""Errors a user can cause, and the documented exit codes.

Exit codes of every ``infra`` command:

* ``0`` -- ok
* ``1`` -- findings, failed checks, or drift
* ``2`` -- usage or environment error (bad input, missing tool, no cluster)

Anything a user can cause raises :class:`InfraError` (or a subclass): the CLI prints its one-line
message and hint and exits 2. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class InfraError(Exception):
    """A user-facing error: what went wrong, where, and how to fix it."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class ConfigError(InfraError):
    """Invalid stack or toolkit configuration; raised before anything is created."""


class ToolMissingError(InfraError):
    """An external tool (docker, kind, kubectl, helm, pulumi, ansible) is missing or unusable."""


class ClusterUnavailableError(InfraError):
    """No cluster is configured or the configured one cannot be reached."""


class ClusterAuthError(InfraError):
    """The cluster answers but refuses us: untrusted certificate, expired credentials, or RBAC."""


class StageError(InfraError):
    """A stage of ``infra up`` failed; the hint says how to resume."""

    def __init__(self, stage: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"stage '{stage}' failed: {message}", hint)
        self.stage = stage
        self.outcome: object | None = None  # the run so far (infra.up.Outcome), for the stage summary
