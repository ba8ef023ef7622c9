"""``infra up`` and ``infra down`` as a library: named stages, each timed, reported through a callback.

``up``: preflight -> pulumi -> inventory -> addons -> secrets -> apply -> wait -> verify. A failing stage
stops the run with a :class:`~infra.errors.StageError` naming the stage and how to resume (``--from STAGE``);
the stages before ``--from`` are not run, and what they produced is read back (stack outputs from Pulumi, the
inventory and kubeconfig from ``.infra/<env>/``). Every stage is idempotent, so a second ``up`` changes
nothing: Pulumi finds the stack up to date, generated files are rewritten only when their content changes,
the addons are idempotent playbooks, run-time Secrets are created only when missing, the apply is a
server-side apply of the same manifests.

``down``: destroy the stack, then remove the generated files of the environment.

Stages that drive other parts of the toolkit (preflight, secrets, reconcile, verify) import them when they
run, through :func:`_hook`, so ``infra --help`` stays fast and tests can replace them in one place.
"""

from __future__ import annotations

import importlib
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import inventory, proc
from infra import pulumi as pulumi_cli
from infra.contract import StackOutputs
from infra.environments import Environment, get_environment
from infra.errors import EXIT_FINDINGS, InfraError, StageError
from infra.paths import PLAYBOOKS_DIR
from infra.state import EnvState

STAGES: tuple[str, ...] = ("preflight", "pulumi", "inventory", "addons", "secrets", "apply", "wait", "verify")
DOWN_STAGES: tuple[str, ...] = ("destroy", "cleanup")


@dataclass(frozen=True)
class StageEvent:
    """A stage started (``start``), ended (``ok``, ``failed``), or said something (``info``)."""

    stage: str
    status: str
    seconds: float = 0.0
    detail: str = ""


Reporter = Callable[[StageEvent], None]


@dataclass
class Run:
    """What the stages of one run share; outputs are read from the stack when the pulumi stage did not run."""

    env: Environment
    report: Reporter
    stream: bool = True
    tls: tuple[Path, Path] | None = None  # the user's certificate and key for the TLS lab, else self-signed
    _outputs: StackOutputs | None = None

    @property
    def state(self) -> EnvState:
        return EnvState(self.env)

    def say(self, stage: str, detail: str) -> None:
        self.report(StageEvent(stage, "info", detail=detail))

    @property
    def outputs(self) -> StackOutputs:
        return self._outputs or self.read_outputs()

    def read_outputs(self) -> StackOutputs:
        """The stack outputs: saved under ``.infra/<env>/`` by the inventory stage, else from Pulumi.

        Resuming at ``secrets``, ``apply``, ``wait`` or ``verify`` needs only what the inventory stage wrote,
        so a machine without the Pulumi CLI (or a stack on another machine) can still resume there.
        """
        self._outputs = inventory.read_saved(self.env) or pulumi_cli.outputs(self.env)
        return self._outputs

    @property
    def known_outputs(self) -> StackOutputs | None:
        return self._outputs

    def generated(self, path: Path) -> Path:
        """A file the inventory stage writes; missing means that stage has not run for this environment."""
        if not path.is_file():
            raise InfraError(
                f"{path} does not exist",
                f"generate it: `infra up --env {self.env.name} --from inventory`",
            )
        return path


@dataclass
class Outcome:
    env: str
    events: list[StageEvent] = field(default_factory=list)  # the final event of each stage that ran
    outputs: StackOutputs | None = None


# --- the up stages ---------------------------------------------------------------------------------------


def _hook(module: str, attr: str) -> Callable[..., Any]:
    """``module.attr``, imported when its stage runs (the tests replace this one function)."""
    return getattr(importlib.import_module(module), attr)


def stage_preflight(run: Run) -> str:
    check = _hook("infra.preflight", "check")
    ready = check(run.env.name)
    return f"ready: {', '.join(ready)}" if ready else ""


def stage_pulumi(run: Run) -> str:
    pulumi_cli.up(run.env, stream=run.stream)
    out = run._outputs = pulumi_cli.outputs(run.env)  # fresh from the stack, never the saved copy
    nfs = f"{out.nfs_server}:{out.nfs_path}"
    ingress = f"{out.ingress_host} (ports {out.ingress_http_port}/{out.ingress_https_port})"
    return f"context {out.context}, ingress {ingress}, NFS {nfs}, {len(out.nodes)} nodes"


def stage_inventory(run: Run) -> str:
    try:
        written = inventory.write(run.outputs)
    except OSError as exc:
        raise InfraError(
            f"cannot write {exc.filename}: {exc.strerror}", f"make {run.state.root} a writable folder"
        ) from exc
    changed = [w.path.name for w in written if w.changed]
    return f"wrote {', '.join(changed)}" if changed else "kubeconfig, outputs and inventory unchanged"


def ansible_playbook() -> str:
    """The project's ansible-playbook (beside this Python), else whatever is on PATH."""
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.is_file() else "ansible-playbook"


def addons_command(run: Run) -> tuple[list[str], dict[str, str]]:
    inventory_file = run.generated(run.state.inventory)
    kubeconfig = run.generated(run.state.kubeconfig)
    argv = [ansible_playbook(), str(PLAYBOOKS_DIR / "site.yml"), "-i", str(inventory_file)]
    environment = {
        "ANSIBLE_CONFIG": str(PLAYBOOKS_DIR / "ansible.cfg"),
        "KUBECONFIG": str(kubeconfig),
        "K8S_AUTH_KUBECONFIG": str(kubeconfig),
    }
    return argv, environment


def stage_addons(run: Run) -> str:
    argv, environment = addons_command(run)
    proc.run(
        argv,
        env=environment,
        cwd=PLAYBOOKS_DIR,
        capture=not run.stream,
        hint="read the Ansible output above; one addon alone: "
        f"`ansible-playbook playbooks/site.yml -i {argv[3]} --tags <role>`",
    )
    return "playbooks/site.yml applied"


def stage_secrets(run: Run) -> str:
    runtime_secrets = _hook("infra.secrets", "runtime_secrets")
    cert, key = run.tls or (None, None)
    made = runtime_secrets(run.env.name, run.outputs.ingress_host, cert_file=cert, key_file=key)
    names = [f"{s['metadata'].get('namespace', 'default')}/{s['metadata']['name']}" for s in made]
    return f"{len(names)} run-time Secret(s) ready under .infra/{run.env.name}/secrets: {', '.join(names)}"


def stage_apply(run: Run) -> str:
    reconcile = _hook("infra.gitops.apply", "reconcile")
    run.generated(run.state.kubeconfig)
    result = reconcile(run.env.name, run.outputs, wait=False, progress=lambda line: run.say("apply", line))
    return (
        f"{len(result.applied)} objects applied, {len(result.secrets_created)} Secret(s) created, "
        f"{len(result.secrets_kept)} kept, {len(result.pruned)} pruned"
    )


def stage_wait(run: Run) -> str:
    """Wait for every workload at once, each within the budget its kind, replicas and probes give it."""
    wait_all = _hook("infra.gitops.rollout", "wait_all")
    plan = _hook("infra.gitops.rollout", "plan")
    render_desired = _hook("infra.gitops.desired", "render_desired")
    resolve_target = _hook("infra.kube", "resolve_target")
    run.generated(run.state.kubeconfig)
    target = resolve_target(run.env.name, outputs=run.outputs)
    desired = render_desired(run.env.name, ingress_host=run.outputs.ingress_host)
    waited = wait_all(target, plan(desired.objects), progress=lambda line: run.say("wait", line))
    stuck = [w for w in waited if not w.ok]
    if stuck:
        detail = "; ".join(f"{w.rollout.ref} (deadline {w.rollout.budget}s): {w.detail}" for w in stuck)
        raise InfraError(
            f"not rolled out: {detail}",
            f"`infra doctor --env {run.env.name}` explains what holds them up",
        )
    return f"{len(waited)} workload(s) rolled out"


def stage_verify(run: Run) -> str:
    verify = _hook("infra.verify", "verify")
    result = verify(run.env.name, progress=lambda line: run.say("verify", line))
    if not result.ok:  # a claim failed, or pytest stopped before the end (then the report is partial)
        message = result.incomplete or result.report.summary_line()
        error = InfraError(message, f"read {result.markdown}")
        error.exit_code = EXIT_FINDINGS
        raise error
    return result.report.summary_line()


STAGE_FUNCTIONS: dict[str, Callable[[Run], str]] = {
    "preflight": stage_preflight,
    "pulumi": stage_pulumi,
    "inventory": stage_inventory,
    "addons": stage_addons,
    "secrets": stage_secrets,
    "apply": stage_apply,
    "wait": stage_wait,
    "verify": stage_verify,
}


# --- running stages --------------------------------------------------------------------------------------


def _ignore(_event: StageEvent) -> None:
    return None


def _run_stages(
    names: tuple[str, ...],
    functions: dict[str, Callable[[Run], str]],
    run: Run,
    outcome: Outcome,
    resume: Callable[[str], str],
    clock: Callable[[], float],
) -> None:
    for name in names:
        run.report(StageEvent(name, "start"))
        started = clock()
        try:
            detail = functions[name](run)
        except InfraError as error:
            event = StageEvent(name, "failed", clock() - started, error.message)
            run.report(event)
            outcome.events.append(event)
            hint = (
                f"{error.hint}; then {resume(name)}" if error.hint else f"fix the cause, then {resume(name)}"
            )
            failed = StageError(name, error.message, hint)
            failed.exit_code = error.exit_code
            failed.outcome = outcome
            raise failed from error
        else:
            event = StageEvent(name, "ok", clock() - started, detail)
        run.report(event)
        outcome.events.append(event)


def up(
    env: str,
    *,
    from_stage: str | None = None,
    report: Reporter | None = None,
    stream: bool = True,
    clock: Callable[[], float] = time.monotonic,
    tls: tuple[Path, Path] | None = None,
) -> Outcome:
    """Stand up ``env`` from ``from_stage`` (default: the first) to the end; raise StageError on failure.

    ``tls``: the user's certificate and key files for the TLS lab (checked, then stored as the environment's
    pair) instead of a self-signed certificate.
    """
    environment = get_environment(env)
    start = 0
    if from_stage is not None:
        if from_stage not in STAGES:
            raise InfraError(f"unknown stage '{from_stage}'", f"use one of: {', '.join(STAGES)}")
        start = STAGES.index(from_stage)
    run = Run(environment, report or _ignore, stream, tls)
    outcome = Outcome(env)
    _run_stages(
        STAGES[start:],
        STAGE_FUNCTIONS,
        run,
        outcome,
        lambda stage: (
            f"resume with `infra up --env {env} --from {stage}`"
            if stage != STAGES[0]
            else f"run `infra up --env {env}` again"
        ),
        clock,
    )
    outcome.outputs = run.known_outputs
    return outcome


# --- down --------------------------------------------------------------------------------------------------


def stage_destroy(run: Run) -> str:
    if pulumi_cli.destroy(run.env, stream=run.stream):
        return f"stack {run.env.stack_name} destroyed"
    return f"no stack {run.env.stack_name} in {pulumi_cli.backend_url()}: nothing to destroy"


def stage_cleanup(run: Run) -> str:
    removed = [p.name for p in inventory.remove(run.env)]
    secrets = run.state.secrets
    if secrets.is_dir():
        shutil.rmtree(secrets)
        removed.append("secrets/")
    return f"removed {', '.join(removed)} from .infra/{run.env.name}" if removed else "nothing to remove"


DOWN_FUNCTIONS: dict[str, Callable[[Run], str]] = {"destroy": stage_destroy, "cleanup": stage_cleanup}


def down(
    env: str,
    *,
    report: Reporter | None = None,
    stream: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Destroy ``env``'s stack, then delete its kubeconfig, outputs, inventory and run-time secrets."""
    environment = get_environment(env)
    run = Run(environment, report or _ignore, stream)
    outcome = Outcome(env)
    _run_stages(
        DOWN_STAGES, DOWN_FUNCTIONS, run, outcome, lambda _stage: f"run `infra down --env {env}` again", clock
    )
    return outcome
