"""Fixtures of the local-environment tests: the stack under mocks, the recorder answering as a local stack."""

from __future__ import annotations

import asyncio
import json
import runpy
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pulumi
import pulumi.runtime
import pytest
import yaml

from infra import envconfig
from infra import up as lab
from infra.errors import ToolMissingError
from infra.paths import PLAYBOOKS_DIR, STACKS_DIR, pulumi_backend_dir

FIXTURES = Path(__file__).parent / "fixtures"
STACK = str(STACKS_DIR / "local")

# --- the Pulumi program under mocks --------------------------------------------------------------------
# Runs stacks/local/__main__.py as Pulumi would (runpy, the stack folder on sys.path) with set_mocks in
# place of the engine: no CLI, no plugin. pulumi.export is captured and every export resolved. The config
# is what the CLI would hand the program: Pulumi.yaml's declared defaults, then the test's own values.

STACK_DIR = STACKS_DIR / "local"
COMMAND = "command:local:Command"
FAKE_NFS_IP = "172.18.0.5"
FAKE_KUBECONFIG = "apiVersion: v1\nkind: Config\ncurrent-context: kind-lab\n# fake cluster-admin key\n"


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers like the command provider: a Command's outputs are its inputs plus ``stdout``."""

    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        self.resources.append(args)
        state = dict(args.inputs)
        if args.typ == COMMAND:
            state["stdout"] = ""
            if args.name.endswith("-kubeconfig"):
                state["stdout"] = FAKE_KUBECONFIG
            elif args.name.endswith("-container"):
                state["stdout"] = FAKE_NFS_IP + "\n"
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list | None]:
        return {}, None


@dataclass
class StackRun:
    resources: list[pulumi.runtime.MockResourceArgs]
    exports: dict[str, Any] = field(default_factory=dict)
    secret: set[str] = field(default_factory=set)
    error: BaseException | None = None

    def commands(self) -> dict[str, dict]:
        """Command resources by logical name -> their inputs."""
        return {r.name: r.inputs for r in self.resources if r.typ == COMMAND}


def cli_config(project_file: Path, overrides: dict[str, Any]) -> dict[str, str]:
    """The ``lab:`` config the Pulumi CLI passes the program: project defaults, stack values on top.

    Values are text, as the CLI formats a primitive default (``%v``: ``2``, ``false``).
    """
    defaults = envconfig.project_defaults(project_file, fix_hint="fix the test's project file")
    text = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in defaults.items()}
    return {f"lab:{k}": str(v) for k, v in {**text, **overrides}.items()}


def run_stack(config: dict[str, Any] | None = None, *, project_file: Path | None = None) -> StackRun:
    """Run the program once with ``lab:`` config values (un-namespaced keys) and resolve every export."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="lab", stack="local", preview=False)
    pulumi.runtime.set_all_config(cli_config(project_file or STACK_DIR / "Pulumi.yaml", config or {}))
    run = StackRun(resources=mocks.resources)
    exported: dict[str, pulumi.Output[Any]] = {}

    async def resolve() -> None:
        for key, output in exported.items():
            run.exports[key] = await output.future()
            if await output.is_secret():
                run.secret.add(key)

    @pulumi.runtime.test
    def program() -> Any:
        try:
            runpy.run_path(str(STACK_DIR / "__main__.py"), run_name="__pulumi_program__")
        except Exception as error:  # recorded for the test to assert on
            run.error = error
            return None
        return pulumi.Output.from_input(asyncio.ensure_future(resolve()))

    saved_export, saved_path = pulumi.export, list(sys.path)
    pulumi.export = lambda key, value: exported.__setitem__(key, pulumi.Output.from_input(value))
    sys.path.insert(0, str(STACK_DIR))
    try:
        program()
    finally:
        pulumi.export = saved_export
        sys.path[:] = saved_path
        pulumi.runtime.set_all_config({})
    return run


@pytest.fixture(scope="session")
def stack_runner() -> Callable[..., StackRun]:
    return run_stack


@pytest.fixture(scope="session")
def recorded_outputs() -> dict[str, Any]:
    """What `pulumi stack output --json --show-secrets` printed for a default local stack."""
    return json.loads((FIXTURES / "stack-outputs.json").read_text())


@pytest.fixture
def recorder(process_recorder, recorded_outputs):
    """infra.proc.run replaced; a stack that exists (state in the backend), printing the recorded outputs."""
    (pulumi_backend_dir() / ".pulumi" / "stacks").mkdir(parents=True)
    process_recorder.on("pulumi stack output", stdout=json.dumps(recorded_outputs))
    process_recorder.on("pulumi stack ls", stdout=json.dumps([{"name": "local", "current": True}]))
    return process_recorder


@dataclass
class FakeReconcile:
    applied: list[str] = field(default_factory=lambda: ["deployment.apps/web serverside-applied"])
    secrets_created: list[str] = field(default_factory=list)
    secrets_kept: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)


@dataclass
class FakeVerify:
    ok: bool = True
    incomplete: str | None = None

    @property
    def report(self):
        return self

    @property
    def markdown(self) -> Path:
        return Path("/state/reports/verify-local.md")

    def summary_line(self) -> str:
        return "local: every probed claim holds — 30 passed" if self.ok else "local: claims FAILED — 1 failed"


@pytest.fixture
def hooks(monkeypatch, recorder) -> lab.Drivers:
    """The drivers of the stages, fakes that note their call in the recorder, installed as ``lab.DRIVERS``.

    The addons keep the real driver (its ansible-playbook goes to the recorder). Tests change an attribute
    (e.g. make preflight raise) before running ``up``, directly or through the CLI.
    """
    from infra.gitops.rollout import Rollout, Waited
    from infra.kube import ObjectRef

    def preflight(env: str) -> list[str]:
        recorder.note(f"<preflight.check> {env}")
        return ["kind", "kubectl", "helm", "pulumi"]

    def runtime_secrets(
        env: str, ingress_host: str, *, cert_file=None, key_file=None
    ) -> list[dict[str, Any]]:
        recorder.note(
            f"<secrets.runtime_secrets> {env} {ingress_host}"
            + (f" {cert_file} {key_file}" if cert_file else "")
        )
        return [{"kind": "Secret", "metadata": {"namespace": "lab-tls", "name": "web-tls"}}]

    def reconcile(env: str, outputs, *, wait: bool, progress) -> FakeReconcile:
        recorder.note(f"<reconcile.reconcile> {env} {outputs.context} wait={wait}")
        progress("applied")
        return FakeReconcile()

    def resolve_target(env: str, *, outputs) -> str:
        return f"target:{outputs.context}"

    def render_desired(env: str, *, ingress_host: str) -> Any:
        return SimpleNamespace(objects=(f"desired:{env}:{ingress_host}",))

    def plan(objects) -> list[Rollout]:
        return [Rollout(ObjectRef("apps", "Deployment", "lab-tls", "web"), "deployment.apps", 1, 210)]

    def wait_all(target, rollouts, *, progress) -> list[Waited]:
        recorder.note(f"<rollout.wait_all> {target} {[str(r.ref) for r in rollouts]}")
        return [Waited(r, True, 1.0, "") for r in rollouts]

    def verify(env: str, *, progress) -> FakeVerify:
        recorder.note(f"<verify.verify> {env}")
        return FakeVerify()

    from infra import ansible

    fakes = lab.Drivers(
        preflight=preflight,
        addons=ansible.run_site,
        runtime_secrets=runtime_secrets,
        reconcile=reconcile,
        resolve_target=resolve_target,
        render_desired=render_desired,
        rollout_plan=plan,
        wait_all=wait_all,
        verify=verify,
    )
    monkeypatch.setattr(lab, "DRIVERS", fakes)
    return fakes


@pytest.fixture(scope="session")
def expected_inventory() -> Callable[[Path], dict[str, Any]]:
    """The golden inventory (fixtures/inventory-local.yml) for a given state folder."""
    text = (FIXTURES / "inventory-local.yml").read_text()
    return lambda state: yaml.safe_load(text.replace("@STATE@", str(state)))


@pytest.fixture(scope="session")
def up_commands() -> Callable[[Path], list[str]]:
    """Every command and stage hook of a full `infra up --env local`, in order, for a state folder."""
    pulumi_args = f"--stack local --cwd {STACK} --non-interactive"

    def expected(state: Path) -> list[str]:
        return [
            "<preflight.check> local",
            f"pulumi stack select --create --secrets-provider passphrase {pulumi_args}",
            f"pulumi up --yes --skip-preview {pulumi_args}",
            f"pulumi stack output --json --show-secrets {pulumi_args}",
            f"ansible-playbook {PLAYBOOKS_DIR / 'site.yml'} -i {state / 'local' / 'inventory.yml'}",
            "<secrets.runtime_secrets> local 127-0-0-1.nip.io",
            "<reconcile.reconcile> local kind-lab wait=False",
            "<rollout.wait_all> target:kind-lab ['Deployment lab-tls/web']",
            "<verify.verify> local",
        ]

    return expected


@pytest.fixture(scope="session")
def tool_missing() -> Callable[[str], ToolMissingError]:
    """What infra.proc.run raises when a binary is not on PATH."""
    return lambda name: ToolMissingError(
        f"`{name}` is not installed or not on PATH", "see README: Prerequisites"
    )
