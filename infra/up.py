"""``infra up`` and ``infra down`` as a library: named stages, each timed, reported through a callback.

``up``: preflight -> pulumi -> inventory -> addons -> secrets -> apply -> wait -> verify. A failing stage
stops the run with a :class:`~infra.errors.StageError` naming the stage and how to resume (``--from STAGE``);
the stages before ``--from`` are not run, and what they produced is read back (stack outputs from Pulumi, the
inventory and kubeconfig from ``.infra/<env>/``). Every stage is idempotent, so a second ``up`` changes
nothing: Pulumi finds the stack up to date, generated files are rewritten only when their content changes,
the addons are idempotent playbooks, run-time Secrets are created only when missing, the apply is a
server-side apply of the same manifests.

``down``: destroy the stack, then remove the generated files of the environment.

The stages call the rest of the toolkit through :class:`Drivers`: the functions they use, gathered in one
object, which a test replaces by passing its own (``up(env, drivers=...)``, or ``DRIVERS`` for a test that
goes through the CLI). :meth:`Drivers.real` imports the real ones by name when a run starts, not when this
module is imported: ``infra --help`` builds every command and must not load cryptography and pydantic.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import inventory
from infra import pulumi as pulumi_cli
from infra.contract import StackOutputs
from infra.environments import Environment, get_environment
from infra.errors import EXIT_FINDINGS, InfraError, StageError
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
class Drivers:
    """Everything the stages call beyond this module's own drivers (Pulumi, the inventory files).

    A plain object of functions: :meth:`real` gives the toolkit's own; a test builds one with fakes, or
    changes an attribute of the one it installed.
    """

    preflight: Callable[..., list[str]]
    addons: Callable[..., Any]
    runtime_secrets: Callable[..., list[dict[str, Any]]]
    reconcile: Callable[..., Any]
    resolve_target: Callable[..., Any]
    render_desired: Callable[..., Any]
    rollout_plan: Callable[..., Any]
    wait_all: Callable[..., Any]
    verify: Callable[..., Any]

    @classmethod
    def real(cls) -> Drivers:
        """The real functions, imported now (a run is starting), each from the module that owns it."""
        from infra import ansible, kube, preflight, secrets, verify
        from infra.gitops import apply, desired, rollout

        return cls(
            preflight=preflight.check,
            addons=ansible.run_site,
            runtime_secrets=secrets.runtime_secrets,
            reconcile=apply.reconcile,
            resolve_target=kube.resolve_target,
            render_desired=desired.render_desired,
            rollout_plan=rollout.plan,
            wait_all=rollout.wait_all,
            verify=verify.verify,
        )


# What ``up`` and ``down`` use when no drivers are passed: None means the real ones (tests of the CLI
# install their fakes here).
DRIVERS: Drivers | None = None


def _drivers(given: Drivers | None) -> Drivers:
    return given or DRIVERS or Drivers.real()


@dataclass
class Run:
    """What the stages of one run share; outputs are read from the stack when the pulumi stage did not run."""

    env: Environment
    report: Reporter
    stream: bool = True
    tls: tuple[Path, Path] | None = None  # the user's certificate and key for the TLS lab, else self-signed
    drivers: Drivers = field(default_factory=lambda: _drivers(None))
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


def stage_preflight(run: Run) -> str:
    ready = run.drivers.preflight(run.env.name)
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


def stage_addons(run: Run) -> str:
    inventory_file = run.generated(run.state.inventory)
    kubeconfig = run.generated(run.state.kubeconfig)
    run.drivers.addons(inventory_file, kubeconfig, stream=run.stream)
    return "playbooks/site.yml applied"


def stage_secrets(run: Run) -> str:
    cert, key = run.tls or (None, None)
    made = run.drivers.runtime_secrets(run.env.name, run.outputs.ingress_host, cert_file=cert, key_file=key)
    names = [f"{s['metadata'].get('namespace', 'default')}/{s['metadata']['name']}" for s in made]
    return f"{len(names)} run-time Secret(s) ready under .infra/{run.env.name}/secrets: {', '.join(names)}"


def stage_apply(run: Run) -> str:
    run.generated(run.state.kubeconfig)
    result = run.drivers.reconcile(
        run.env.name, run.outputs, wait=False, progress=lambda line: run.say("apply", line)
    )
    return (
        f"{len(result.applied)} objects applied, {len(result.secrets_created)} Secret(s) created, "
        f"{len(result.secrets_kept)} kept, {len(result.pruned)} pruned"
    )


def stage_wait(run: Run) -> str:
    """Wait for every workload at once, each within the budget its kind, replicas and probes give it."""
    drivers = run.drivers
    run.generated(run.state.kubeconfig)
    target = drivers.resolve_target(run.env.name, outputs=run.outputs)
    wanted = drivers.render_desired(run.env.name, ingress_host=run.outputs.ingress_host)
    rollouts = drivers.rollout_plan(wanted.objects)
    waited = drivers.wait_all(target, rollouts, progress=lambda line: run.say("wait", line))
    stuck = [w for w in waited if not w.ok]
    if stuck:
        detail = "; ".join(f"{w.rollout.ref} (deadline {w.rollout.budget}s): {w.detail}" for w in stuck)
        raise InfraError(
            f"not rolled out: {detail}",
            f"`infra doctor --env {run.env.name}` explains what holds them up",
        )
    return f"{len(waited)} workload(s) rolled out"


def stage_verify(run: Run) -> str:
    result = run.drivers.verify(run.env.name, progress=lambda line: run.say("verify", line))
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
    drivers: Drivers | None = None,
) -> Outcome:
    """Stand up ``env`` from ``from_stage`` (default: the first) to the end; raise StageError on failure.

    ``tls``: the user's certificate and key files for the TLS lab (checked, then stored as the environment's
    pair) instead of a self-signed certificate. ``drivers``: what the stages call (default :data:`DRIVERS`).
    """
    environment = get_environment(env)
    start = 0
    if from_stage is not None:
        if from_stage not in STAGES:
            raise InfraError(f"unknown stage '{from_stage}'", f"use one of: {', '.join(STAGES)}")
        start = STAGES.index(from_stage)
    run = Run(environment, report or _ignore, stream, tls, _drivers(drivers))
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
