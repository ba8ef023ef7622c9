"""The GitHub Actions workflows keep their invariants: pinned actions, least privilege, no overlapping
reconciles, an e2e that always tears down, versions that match the toolkit's own pins.

Schema validity is checked by `make lint` (check-jsonschema --builtin-schema vendor.github-workflows).
"""

from __future__ import annotations

import re
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


@pytest.mark.parametrize(
    ("name", "wanted"),
    [
        ("ci.yml", {"kubectl"}),
        ("e2e-kind.yml", {"kind", "kubectl", "helm", "pulumi"}),
        ("reconcile.yml", {"kubectl"}),
    ],
)
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
