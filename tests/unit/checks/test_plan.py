"""`infra plan` over a fake repository: environments, config planners, playbooks (paths monkeypatched)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from infra import planning, proc
from infra.cli import app
from infra.errors import ConfigError
from infra.render import display_path
from infra.renderers import EnvPlan
from infra.state import EnvState

SITE = """\
- name: Addons
  hosts: cluster
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def plan_local() -> EnvPlan:
    return EnvPlan(
        "local",
        creates=["kind cluster lab (1 control-plane + 2 workers)"],
        artifacts={"kind-config.yaml": "kind: Cluster\n"},
    )


def plan_aws() -> EnvPlan:
    raise ConfigError("invalid AWS stack config: lab:region is not set", "set lab:region")


@pytest.fixture
def repo(tmp_path, monkeypatch, fixtures):
    """A fake repository: manifests/envs/local only, playbooks/site.yml, and fake stack config planners."""
    local = tmp_path / "manifests" / "envs" / "local"
    local.mkdir(parents=True)
    shutil.copy(fixtures / "hpa" / "good.yaml", local / "app.yaml")
    (local / "kustomization.yaml").write_text("resources:\n  - app.yaml\n")
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    (playbooks / "site.yml").write_text(SITE)
    monkeypatch.setattr("infra.environments.MANIFESTS_DIR", tmp_path / "manifests")
    monkeypatch.setattr("infra.paths.PLAYBOOKS_DIR", playbooks)
    monkeypatch.setattr(planning, "PLANNERS", {"local": plan_local, "aws": plan_aws})
    monkeypatch.setenv("INFRA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def no_ansible(monkeypatch):
    """For tests about other parts of the plan: skip the (real, ~0.6 s) ansible syntax check."""
    monkeypatch.setattr("infra.commands.plan.syntax_check_playbooks", lambda: [])


def plan(runner, *args: str):
    return runner.invoke(app, ["plan", *args])


def test_clean_environment_exits_0_and_writes_artifacts(runner, repo):
    result = plan(runner, "--env", "local")
    assert result.exit_code == 0, result.output
    artifact = repo / "state" / "local" / "plan" / "kind-config.yaml"
    assert artifact.read_text() == "kind: Cluster\n"
    assert "kind cluster lab (1 control-plane + 2 workers)" in result.stdout
    assert "manifests/envs/local#0 Deployment/lab-hpa/hpa-demo QOS-CLASS" in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("│ local"))
    assert [cell.strip() for cell in row.split("│")][3:7] == [
        "2",
        "0",
        "0",
        "1",
    ]  # objects, errors, warn, info
    assert result.stdout.strip().splitlines()[-1] == "plan local: 0 errors, 0 warnings, 1 info — ok"


def test_missing_entry_point_and_bad_config_are_findings_not_crashes(runner, repo, no_ansible):
    result = plan(runner)  # --env all
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "manifests/envs/aws env/aws RENDER: manifests/envs/aws is not a kustomization" in result.stdout
    bad_config = "ENVCONFIG: invalid AWS stack config: lab:region is not set — set lab:region"
    assert f"infra/envconfig/aws.py env/aws {bad_config}" in result.stdout
    assert "plan local, aws: 2 errors" in result.stdout
    assert (repo / "state" / "local" / "plan" / "kind-config.yaml").is_file()  # local still planned


def test_missing_site_playbook_is_an_error_finding(runner, repo):
    (repo / "playbooks" / "site.yml").unlink()
    result = plan(runner, "--env", "local")
    assert result.exit_code == 1
    assert "playbooks/site.yml - ANSIBLE-SYNTAX: playbooks/site.yml does not exist" in result.stdout


def test_playbook_syntax_error_is_reported_with_ansible_message(runner, repo):
    (repo / "playbooks" / "site.yml").write_text(
        SITE.replace("ansible.builtin.ping", "ansible.builtin.pingx")
    )
    result = plan(runner, "--env", "local")
    assert result.exit_code == 1
    (line,) = [out for out in result.stdout.splitlines() if "ANSIBLE-SYNTAX" in out]
    assert "couldn't resolve module/action 'ansible.builtin.pingx'" in line


def test_syntax_check_goes_through_the_process_boundary(monkeypatch, repo):
    calls = []

    def fake_run(argv, **kwargs):
        calls.append(([Path(a).name if i == 0 else a for i, a in enumerate(argv)], kwargs["cwd"]))
        return proc.Result(list(argv), 0, "playbook: site.yml\n", "")

    monkeypatch.setattr(proc, "run", fake_run)
    assert planning.syntax_check_playbooks() == []
    assert calls == [(["ansible-playbook", "--syntax-check", "site.yml"], repo / "playbooks")]


def test_an_environment_without_a_planner_is_a_warning(runner, repo, monkeypatch, no_ansible):
    monkeypatch.setattr(planning, "PLANNERS", {})
    result = plan(runner, "--env", "local")
    assert result.exit_code == 0
    assert "ENVCONFIG: no stack config planner for local: cluster config not rendered" in result.stdout
    assert plan(runner, "--env", "local", "--strict").exit_code == 1


def test_unknown_environment_exits_2(runner, repo):
    result = plan(runner, "--env", "moon")
    assert result.exit_code == 2
    assert "unknown environment 'moon'" in result.stderr


def test_the_real_plan_reads_well_at_80_columns(runner):
    """Every line fits, nothing is cut to `playbo...`, and every resource of every environment is there."""
    from infra import renderers

    result = runner.invoke(app, ["plan", "--env", "all"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    assert "…" not in result.stdout
    assert any(line.startswith("│ playbooks │ -    │") for line in lines)
    dense = "".join(result.stdout.split())  # wrapped (and folded: an image digest) lines joined again
    for creates in (renderers.plan_local().creates, renderers.plan_aws().creates):
        assert all("".join(line.split()) in dense for line in creates)
    artifact = display_path(EnvState.of("local").plan / "kind-config.yaml")  # the tests' own state folder
    assert "".join(f"rendered: {artifact}".split()) in dense
    assert re.fullmatch(r"plan local, aws: 0 errors, 0 warnings, \d+ info — ok", lines[-1])


def test_qos_classes_are_one_summary_line_unless_verbose(runner, no_ansible):
    # Three plans of the real repository, about the QOS line (the playbooks' syntax check: the test above)
    quiet_by_default = runner.invoke(app, ["plan", "--env", "local"])
    (qos,) = [line for line in quiet_by_default.stdout.splitlines() if "QOS-CLASS" in line]
    summary = re.fullmatch(r"QOS-CLASS: (.+) \(-v lists all (\d+)\)", qos)
    assert summary is not None, qos
    by_class = {part.split(" ")[1]: int(part.split(" ")[0]) for part in summary[1].split(", ")}
    assert set(by_class) <= {"Guaranteed", "Burstable", "BestEffort"}
    verbose = runner.invoke(app, ["plan", "--env", "local", "-v"])
    listed = [line for line in verbose.stdout.splitlines() if "QOS-CLASS: QoS class " in line]
    assert len(listed) == int(summary[2]) == sum(by_class.values()) > 1
    for name, count in by_class.items():
        assert sum(f"QOS-CLASS: QoS class {name} —" in line for line in listed) == count
    quiet = runner.invoke(app, ["plan", "--env", "local", "--quiet"])
    assert "QOS-CLASS" not in quiet.stdout
    assert quiet_by_default.exit_code == verbose.exit_code == quiet.exit_code == 0
