"""`infra up` / `infra down` orchestration, with every external command replaced at the process boundary."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from infra import up as lab
from infra.errors import EXIT_FINDINGS, EXIT_USAGE, InfraError, StageError, ToolMissingError
from infra.paths import PLAYBOOKS_DIR


def events_of(status: str, events: list[lab.StageEvent]) -> list[str]:
    return [e.stage for e in events if e.status == status]


def test_a_full_up_runs_every_stage_in_order(recorder, hooks, isolated_state, up_commands):
    seen: list[lab.StageEvent] = []
    outcome = lab.up("local", report=seen.append)
    assert recorder.commands() == up_commands(isolated_state)
    assert events_of("start", seen) == list(lab.STAGES)
    assert events_of("ok", seen) == list(lab.STAGES)
    assert [e.stage for e in outcome.events] == list(lab.STAGES)
    assert outcome.outputs is not None
    assert outcome.outputs.ingress_host == "127-0-0-1.nip.io"
    assert "applied" in [e.detail for e in seen if e.status == "info"]  # a stage's progress is passed on


def test_each_stage_reports_its_time(recorder, hooks):
    ticks = itertools.count(0, 1.5)
    outcome = lab.up("local", clock=lambda: next(ticks))
    assert [e.seconds for e in outcome.events] == [1.5] * len(lab.STAGES)


def test_addons_run_site_yml_with_the_generated_inventory_and_kubeconfig(recorder, hooks, isolated_state):
    lab.up("local")
    call = next(c for c in recorder.calls if c.argv[0] == "ansible-playbook")
    assert call.cwd == str(PLAYBOOKS_DIR)
    assert call.env["ANSIBLE_CONFIG"] == str(PLAYBOOKS_DIR / "ansible.cfg")
    assert call.env["KUBECONFIG"] == str(isolated_state / "local" / "kubeconfig")
    assert call.capture is False  # Ansible's output streams to the terminal


def test_a_second_up_changes_nothing(recorder, hooks, isolated_state):
    first = lab.up("local")
    generated = sorted((isolated_state / "local").iterdir())
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in generated}
    commands = recorder.commands()
    recorder.calls.clear()
    second = lab.up("local")
    assert recorder.commands() == commands  # the same idempotent commands, nothing extra
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in generated} == before
    inventory_detail = {e.stage: e.detail for e in second.events}["inventory"]
    assert inventory_detail == "kubeconfig, outputs and inventory unchanged"
    assert {e.stage: e.detail for e in first.events}["inventory"].startswith("wrote kubeconfig")


@pytest.mark.parametrize("stage", lab.STAGES)
def test_a_failing_stage_stops_the_run_and_says_how_to_resume(recorder, hooks, isolated_state, stage):
    def boom(*_args, **_kwargs):
        raise InfraError(f"{stage} broke", "do the fix")

    failing = {
        "preflight": "preflight",
        "secrets": "runtime_secrets",
        "apply": "reconcile",
        "wait": "wait_all",
        "verify": "verify",
    }
    if stage in failing:
        setattr(hooks, failing[stage], boom)
    elif stage == "pulumi":
        recorder.on("pulumi up", returncode=255, stderr="error: update failed")
    elif stage == "inventory":
        isolated_state.mkdir(parents=True, exist_ok=True)
        (isolated_state / "local").write_text("a file where the folder should be")
    elif stage == "addons":
        recorder.on("ansible-playbook", returncode=2, stdout="fatal: [lab-worker]: UNREACHABLE!")
    seen: list[lab.StageEvent] = []
    with pytest.raises(StageError) as caught:
        lab.up("local", report=seen.append)
    error = caught.value
    assert error.stage == stage
    failed_at = stage
    assert error.message.startswith(f"stage '{failed_at}' failed: ")
    assert error.exit_code == EXIT_USAGE
    if failed_at == "preflight":
        assert "run `infra up --env local` again" in error.hint
    else:
        assert f"resume with `infra up --env local --from {failed_at}`" in error.hint
    later = lab.STAGES[lab.STAGES.index(failed_at) + 1 :]
    assert not set(events_of("start", seen)) & set(later)
    assert events_of("failed", seen) == [failed_at]


def test_a_missing_tool_stops_at_preflight_before_anything_is_created(recorder, hooks):
    def missing(env: str) -> list[str]:
        raise ToolMissingError(
            "missing prerequisites for the local environment: docker daemon (not reachable)",
            "start Docker, or install it: https://docs.docker.com/get-started/get-docker/",
        )

    hooks.preflight = missing
    with pytest.raises(StageError) as caught:
        lab.up("local")
    assert caught.value.stage == "preflight"
    assert "docker daemon" in caught.value.message
    assert "start Docker" in caught.value.hint
    assert recorder.commands() == []  # no pulumi, no kind, nothing


def test_stack_outputs_off_the_contract_fail_the_pulumi_stage(recorder, hooks):
    recorder.on("pulumi stack output", stdout='{"environment": "local"}')
    with pytest.raises(StageError) as caught:
        lab.up("local")
    assert caught.value.stage == "pulumi"
    assert "stack outputs are missing kubeconfig" in caught.value.message


def test_pulumi_itself_missing_is_a_stage_error_naming_it(recorder, hooks, tool_missing):
    recorder.on("pulumi", raises=tool_missing("pulumi"))
    with pytest.raises(StageError) as caught:
        lab.up("local")
    assert caught.value.stage == "pulumi"
    assert "`pulumi` is not installed" in caught.value.message
    assert isinstance(caught.value.__cause__, ToolMissingError)


def test_the_real_preflight_stops_within_the_stage_when_docker_does_not_answer(recorder, monkeypatch):
    """infra.preflight as it is; the recorder answers `docker info` like a machine without a daemon."""
    from infra import tools

    monkeypatch.setattr(tools, "find", lambda name: None if name != "docker" else tools.bin_dir() / "docker")
    recorder.on("docker info", returncode=1, stderr="Cannot connect to the Docker daemon")
    with pytest.raises(StageError) as caught:
        lab.up("local")
    assert caught.value.stage == "preflight"
    assert "docker daemon" in caught.value.message
    assert [c.argv[:2] for c in recorder.calls] == [["docker", "info"]]


def _verify_result(outcome: str, pytest_exit: int):
    from infra.verify import CaseResult, ClaimResult, Report, VerifyResult

    case = CaseResult("ENV-1", "test_env_1_nodes_ready", outcome, 1.0)
    report = Report("local", [ClaimResult("ENV-1", "all nodes Ready", [case])])
    return VerifyResult(
        report, Path("/state/reports/verify-local.xml"), Path("/state/reports/verify-local.md"), pytest_exit
    )


def test_failed_claims_keep_the_findings_exit_code(recorder, hooks):
    hooks.verify = lambda env, progress: _verify_result("failed", 1)
    with pytest.raises(StageError) as caught:
        lab.up("local")
    assert caught.value.stage == "verify"
    assert caught.value.exit_code == EXIT_FINDINGS
    assert "claims FAILED" in caught.value.message
    assert "verify-local.md" in caught.value.hint


def test_an_incomplete_verify_run_fails_although_its_cases_passed(recorder, hooks):
    hooks.verify = lambda env, progress: _verify_result("passed", 2)
    with pytest.raises(StageError) as caught:
        lab.up("local")
    assert caught.value.stage == "verify"
    assert caught.value.exit_code == EXIT_FINDINGS
    assert "pytest exited 2: the run did not complete" in caught.value.message


def test_resume_from_a_stage_skips_the_earlier_ones(recorder, hooks, isolated_state, up_commands):
    lab.up("local")
    recorder.calls.clear()
    outcome = lab.up("local", from_stage="addons")
    assert [e.stage for e in outcome.events] == list(lab.STAGES[lab.STAGES.index("addons") :])
    full = up_commands(isolated_state)
    # no preflight, no pulumi at all: the outputs the inventory stage saved are read back, so resuming
    # needs only what the later stages need (no Pulumi CLI)
    assert recorder.commands() == [full[4], *full[5:]]
    assert not [c for c in recorder.commands() if c.startswith("pulumi")]


def test_resume_without_saved_outputs_asks_the_stack(recorder, hooks, isolated_state, up_commands):
    lab.up("local")
    (isolated_state / "local" / "outputs.json").unlink()
    recorder.calls.clear()
    lab.up("local", from_stage="secrets")
    assert recorder.commands()[0] == up_commands(isolated_state)[3]  # pulumi stack output


def test_resume_after_the_inventory_without_it_says_where_to_start(recorder, hooks):
    with pytest.raises(StageError) as caught:
        lab.up("local", from_stage="addons")
    assert caught.value.stage == "addons"
    assert "inventory.yml does not exist" in caught.value.message
    assert "--from inventory" in caught.value.hint


def test_an_unknown_stage_is_refused_before_anything_runs(recorder, hooks):
    with pytest.raises(InfraError, match="unknown stage 'deploy'"):
        lab.up("local", from_stage="deploy")
    assert recorder.calls == []


def test_the_default_drivers_are_the_real_functions():
    from infra import ansible, preflight, secrets, verify
    from infra.gitops import apply, rollout

    drivers = lab.Drivers.real()
    assert drivers.preflight is preflight.check
    assert drivers.addons is ansible.run_site
    assert drivers.runtime_secrets is secrets.runtime_secrets
    assert drivers.reconcile is apply.reconcile
    assert (drivers.rollout_plan, drivers.wait_all) == (rollout.plan, rollout.wait_all)
    assert drivers.verify is verify.verify
    assert lab.DRIVERS is None  # nothing installed: a run uses the real ones


def test_drivers_passed_to_up_are_the_ones_used(recorder, hooks):
    """A run given its own drivers uses them, not the installed ones."""
    own = lab.Drivers(**{**vars(hooks), "preflight": lambda env: ["only-this"]})
    outcome = lab.up("local", drivers=own)
    assert {e.stage: e.detail for e in outcome.events}["preflight"] == "ready: only-this"


def test_down_destroys_the_stack_then_removes_generated_files(recorder, hooks, isolated_state):
    lab.up("local")
    secrets = isolated_state / "local" / "secrets"
    secrets.mkdir()
    (secrets / "tls.key").write_text("fake")
    recorder.calls.clear()
    outcome = lab.down("local")
    assert [c.argv[:3] for c in recorder.calls] == [["pulumi", "stack", "ls"], ["pulumi", "destroy", "--yes"]]
    assert [e.stage for e in outcome.events] == ["destroy", "cleanup"]
    assert not (isolated_state / "local").exists() or not any((isolated_state / "local").iterdir())
    assert (isolated_state / "pulumi-passphrase").is_file()  # the stack's state stays readable


def test_down_without_a_stack_still_cleans_up(recorder, isolated_state, recorded_outputs):
    from infra import inventory
    from infra.contract import parse_outputs

    inventory.write(parse_outputs(recorded_outputs))
    recorder.on("pulumi stack ls", stdout="[]")
    outcome = lab.down("local")
    assert [c.argv[:3] for c in recorder.calls] == [["pulumi", "stack", "ls"]]
    assert outcome.events[0].detail.startswith("no stack local")
    assert not (isolated_state / "local" / "kubeconfig").exists()


def test_down_with_a_backend_that_never_held_state_needs_no_pulumi(
    recorder, isolated_state, recorded_outputs
):
    import shutil

    from infra import inventory
    from infra.contract import parse_outputs

    shutil.rmtree(isolated_state / "pulumi")
    inventory.write(parse_outputs(recorded_outputs))
    outcome = lab.down("local")
    assert recorder.calls == []  # no pulumi process, so no Pulumi CLI needed
    assert outcome.events[0].detail.startswith("no stack local")
    assert not (isolated_state / "pulumi-passphrase").exists()
    assert not (isolated_state / "local" / "kubeconfig").exists()


def test_a_failed_destroy_keeps_the_kubeconfig(recorder, isolated_state, recorded_outputs):
    from infra import inventory
    from infra.contract import parse_outputs

    inventory.write(parse_outputs(recorded_outputs))
    recorder.on("pulumi destroy", returncode=255, stderr="error: kind delete cluster failed")
    with pytest.raises(StageError) as caught:
        lab.down("local")
    assert caught.value.stage == "destroy"
    assert "infra down --env local" in caught.value.hint
    assert (isolated_state / "local" / "kubeconfig").is_file()
