"""`infra up --env aws`, stage by stage, with every external command replaced at the process boundary.

Processes (pulumi, ansible-playbook) go to a recorder; AWS answers from a real moto server (credentials
preflight); the drivers of the stages after the addons (secrets, apply, wait, verify) are fakes that note
what they were given. What it proves: every stage uses the
aws stack's outputs, and nothing local-only (docker, kind, the kind node containers) runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from infra import tools
from infra import up as lab
from infra.errors import StageError
from infra.gitops.apply import ReconcileResult
from infra.gitops.rollout import Waited
from infra.paths import PLAYBOOKS_DIR, STACKS_DIR

STACK_ARGS = f"--stack aws --cwd {STACKS_DIR / 'aws'} --non-interactive"


@dataclass
class FakeVerify:
    ok: bool = True

    @property
    def report(self) -> FakeVerify:
        return self

    @property
    def markdown(self) -> Path:
        return Path("/state/reports/verify-aws.md")

    def summary_line(self) -> str:
        return "aws: every probed claim holds"


@pytest.fixture
def recorder(aws_stack: Any, process_recorder: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """proc.run replaced; the aws stack prints the recorded outputs; every CLI counts as installed."""
    process_recorder.on("pulumi stack output", stdout=json.dumps(aws_stack.outputs))
    monkeypatch.setattr(tools, "find", lambda name: Path("/usr/local/bin") / name)
    return process_recorder


@pytest.fixture
def hooks(recorder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real preflight; fakes (noting their arguments) for the stages after the addons."""

    def runtime_secrets(
        env: str, ingress_host: str, *, cert_file=None, key_file=None
    ) -> list[dict[str, Any]]:
        recorder.note(f"<secrets> {env} {ingress_host}" + (f" {cert_file} {key_file}" if cert_file else ""))
        return [{"kind": "Secret", "metadata": {"namespace": "lab-tls", "name": "web-tls"}}]

    def reconcile(env: str, outputs: Any, *, wait: bool, progress: Callable[[str], None]) -> ReconcileResult:
        recorder.note(f"<reconcile> {env} {outputs.context} {outputs.ingress_host}")
        return ReconcileResult(env, dry_run=False, applied=["Ingress lab-tls/web"])

    def resolve_target(env: str, *, outputs: Any) -> str:
        return f"{env}:{outputs.context}"

    def wait_all(target: str, rollouts: list[Any], *, progress) -> list[Waited]:
        recorder.note(f"<wait> {target} {rollouts}")
        return []

    def verify(env: str, *, progress: Callable[[str], None]) -> FakeVerify:
        recorder.note(f"<verify> {env}")
        return FakeVerify()

    real = lab.Drivers.real()
    drivers = lab.Drivers(  # preflight and the addons' ansible-playbook (to the recorder) stay real
        preflight=real.preflight,
        addons=real.addons,
        runtime_secrets=runtime_secrets,
        reconcile=reconcile,
        wait_all=wait_all,
        rollout_plan=lambda objects: list(objects),
        render_desired=lambda env, *, ingress_host: SimpleNamespace(objects=(f"manifests/envs/{env}",)),
        resolve_target=resolve_target,
        verify=verify,
    )
    monkeypatch.setattr(lab, "DRIVERS", drivers)


def test_every_stage_runs_on_the_aws_outputs(recorder: Any, hooks: None, aws_stack: Any, tmp_path: Path):
    seen: list[lab.StageEvent] = []
    outcome = lab.up("aws", report=seen.append)
    state = tmp_path / "state" / "aws"
    assert [e.stage for e in outcome.events if e.status == "ok"] == list(lab.STAGES)
    assert recorder.commands() == [
        f"pulumi stack select --create --secrets-provider passphrase {STACK_ARGS}",
        f"pulumi up --yes --skip-preview {STACK_ARGS}",
        f"pulumi stack output --json --show-secrets {STACK_ARGS}",
        f"ansible-playbook {PLAYBOOKS_DIR / 'site.yml'} -i {state / 'inventory.yml'}",
        "<secrets> aws 203-0-113-25.nip.io",  # ingress_host from the stack, not 127-0-0-1.nip.io
        "<reconcile> aws lab.k8s.local 203-0-113-25.nip.io",
        "<wait> aws:lab.k8s.local ['manifests/envs/aws']",
        "<verify> aws",
    ]
    details = {e.stage: e.detail for e in outcome.events}
    assert details["preflight"] == "ready: kubectl, helm, pulumi"  # no kind, no docker
    assert "ingress 203-0-113-25.nip.io" in details["pulumi"]


def test_nothing_local_only_runs(recorder: Any, hooks: None) -> None:
    lab.up("aws")
    programs = {call.argv[0] for call in recorder.calls}
    assert programs == {"pulumi", "ansible-playbook", "<secrets>", "<reconcile>", "<wait>", "<verify>"}
    assert not [c for c in recorder.commands() if "docker" in c or "kind" in c]


def test_the_addons_get_the_aws_inventory_and_kubeconfig(
    recorder: Any, hooks: None, aws_stack: Any, tmp_path: Path
) -> None:
    lab.up("aws")
    state = tmp_path / "state" / "aws"
    env = next(c.env for c in recorder.calls if c.argv[0] == "ansible-playbook")
    assert env["KUBECONFIG"] == str(state / "kubeconfig")
    assert (state / "kubeconfig").read_text() == aws_stack.outputs["kubeconfig"]
    written = yaml.safe_load((state / "inventory.yml").read_text())["all"]
    assert written["vars"]["lab_environment"] == "aws"
    assert written["vars"]["lab_ingress_target_groups"] == aws_stack.target_groups
    assert written["children"]["kind_nodes"] == {"hosts": {}}
    assert (
        written["children"]["nfs_server"]["hosts"]["bastion"]["ansible_host"] == aws_stack.bastion_public_ip
    )


def test_missing_credentials_stop_at_preflight_before_pulumi(
    recorder: Any, hooks: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(StageError) as caught:
        lab.up("aws")
    assert caught.value.stage == "preflight"
    assert "AWS credentials (no AWS credentials found)" in caught.value.message
    assert "aws sts get-caller-identity" in caught.value.hint
    assert recorder.calls == []  # nothing created, no stack touched
