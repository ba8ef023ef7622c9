"""Driving the Pulumi CLI: a local file backend, the stack's passphrase, up / destroy / outputs.

State lives in ``.infra/pulumi`` (``PULUMI_BACKEND_URL=file://...``): no account, nothing leaves the
machine. Secrets in that state (the kubeconfig) are encrypted with the stack's passphrase:
``PULUMI_CONFIG_PASSPHRASE`` or ``PULUMI_CONFIG_PASSPHRASE_FILE`` from the environment when set, otherwise a
random one generated once into ``.infra/pulumi-passphrase`` (0600) and passed by file, so it never appears on
a command line. Every command goes through :func:`infra.proc.run`.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from infra import proc
from infra.contract import StackOutputs, parse_outputs
from infra.environments import Environment
from infra.errors import InfraError
from infra.paths import pulumi_backend_dir, state_dir, write_private

PASSPHRASE_VARS = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")


def passphrase_file() -> Path:
    return state_dir() / "pulumi-passphrase"


def backend_url() -> str:
    return pulumi_backend_dir().resolve().as_uri()


def cli_env() -> dict[str, str]:
    """Variables every Pulumi command gets: the file backend, the passphrase, no update check, no colour."""
    pulumi_backend_dir().mkdir(parents=True, exist_ok=True)
    env = {"PULUMI_BACKEND_URL": backend_url(), "PULUMI_SKIP_UPDATE_CHECK": "true"}
    if not any(os.environ.get(name) is not None for name in PASSPHRASE_VARS):
        env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(_ensure_passphrase())
    return env


def _ensure_passphrase() -> Path:
    """The generated passphrase, created on first use; losing it makes the state's secrets unreadable."""
    path = passphrase_file()
    if not path.is_file() or not path.read_text().strip():
        write_private(path, secrets.token_urlsafe(32) + "\n")
    return path


def _stack_args(env: Environment) -> list[str]:
    return ["--stack", env.stack_name, "--cwd", str(env.stack_dir), "--non-interactive"]


def select_stack(env: Environment) -> None:
    """Select the environment's stack, creating it (passphrase secrets) on first use.

    Creating it writes the passphrase's ``encryptionsalt`` into ``stacks/<env>/Pulumi.<env>.yaml``: that
    stack file is the user's own and gitignored (the committed defaults are in ``Pulumi.yaml``), so a fresh
    ``up`` leaves the work tree clean and no checkout inherits another machine's salt (pulumi/pulumi#17759).
    """
    proc.run(
        ["pulumi", "stack", "select", "--create", "--secrets-provider", "passphrase", *_stack_args(env)],
        env=cli_env(),
        hint="check the Pulumi backend in .infra/pulumi (README: state backend)",
    )


def stack_exists(env: Environment) -> bool:
    result = proc.run(
        ["pulumi", "stack", "ls", "--json", "--cwd", str(env.stack_dir), "--non-interactive"], env=cli_env()
    )
    try:
        stacks = json.loads(result.stdout or "[]")
    except json.JSONDecodeError as exc:
        raise InfraError(
            f"`pulumi stack ls --json` printed no JSON: {exc}", "run it by hand to see why"
        ) from None
    return any(str(s.get("name", "")).split("/")[-1] == env.stack_name for s in stacks)


def up(env: Environment, *, stream: bool = True) -> None:
    """``pulumi up`` without a preview: creates what is missing, changes nothing when up to date."""
    select_stack(env)
    proc.run(
        ["pulumi", "up", "--yes", "--skip-preview", *_stack_args(env)],
        env=cli_env(),
        capture=not stream,
        hint=f"read the Pulumi output above; `pulumi up -C {_rel(env.stack_dir)} -s {env.stack_name}` "
        "runs the same update by hand",
    )


def destroy(env: Environment, *, stream: bool = True) -> bool:
    """``pulumi destroy`` of the environment's stack; False when there was no stack to destroy.

    A backend that never held any state (no ``.pulumi`` folder) has nothing to destroy: say so without
    needing the Pulumi CLI or creating a passphrase.
    """
    if not (pulumi_backend_dir() / ".pulumi").exists() or not stack_exists(env):
        return False
    proc.run(
        ["pulumi", "destroy", "--yes", "--skip-preview", *_stack_args(env)],
        env=cli_env(),
        capture=not stream,
        hint="read the Pulumi output above, fix the cause, then run `infra down` again",
    )
    return True


def outputs(env: Environment) -> StackOutputs:
    """The stack's outputs, secrets decrypted, checked against the output contract."""
    result = proc.run(
        ["pulumi", "stack", "output", "--json", "--show-secrets", *_stack_args(env)],
        env=cli_env(),
        hint=f"run `infra up --env {env.name}` first",
    )
    try:
        raw = json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise InfraError(f"`pulumi stack output --json` printed no JSON: {exc}", "run it by hand") from None
    if not isinstance(raw, dict):
        raise InfraError("`pulumi stack output --json` did not print an object", "run it by hand")
    return parse_outputs(raw)


def _rel(path: Path) -> str:
    from infra.paths import REPO_ROOT

    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
