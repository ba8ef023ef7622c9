"""The playbooks' conventions, checked on the files themselves: one playbook per concern in dependency
order, prefixed and switchable role defaults, each documented, task names carrying the role's title,
read-only probes in check mode that report no change.

Cheap checks (YAML only) plus one syntax-check per recorded inventory and a check that the installed
collections satisfy playbooks/requirements.yml. ansible-lint runs in `make lint`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

PLAYBOOKS = Path(__file__).resolve().parents[3] / "playbooks"
ROLES = (
    "kind_nodes",
    "nfs_server",
    "nfs_provisioner",
    "metrics_server",
    "aws_lb_controller",
    "ingress_nginx",
)
TITLES = {
    "kind_nodes": "Kind nodes",
    "nfs_server": "NFS Server",
    "nfs_provisioner": "NFS Provisioner",
    "metrics_server": "Metrics Server",
    "aws_lb_controller": "AWS LB Controller",
    "ingress_nginx": "Ingress NGINX",
}
# Role-independent variables a role may read (documented in README and group_vars/all.yml)
SHARED = {"addons_wait_retries", "addons_wait_delay"}


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _tasks(role: str) -> list[dict[str, Any]]:
    tasks = []
    for path in sorted((PLAYBOOKS / "roles" / role).glob("*/*.yml")):
        if path.parent.name in ("tasks", "handlers"):
            tasks += _load(path) or []
    return tasks


def test_site_imports_one_playbook_per_concern_in_dependency_order() -> None:
    site = _load(PLAYBOOKS / "site.yml")
    assert [entry["ansible.builtin.import_playbook"] for entry in site] == [f"{role}.yml" for role in ROLES]


@pytest.mark.parametrize("role", ROLES)
def test_concern_playbook_tags_its_role_and_classifies_first(role: str) -> None:
    plays = _load(PLAYBOOKS / f"{role}.yml")
    assert plays[0]["ansible.builtin.import_playbook"] == "environment.yml"
    assert plays[1]["roles"] == [{"role": role, "tags": [role]}]
    assert plays[1]["name"].startswith(TITLES[role].split()[0])


@pytest.mark.parametrize("role", ROLES)
def test_defaults_are_prefixed_and_switchable(role: str) -> None:
    defaults = _load(PLAYBOOKS / "roles" / role / "defaults" / "main.yml")
    assert defaults[f"{role}_enabled"] is True
    unprefixed = [name for name in defaults if not name.startswith(f"{role}_")]
    assert unprefixed == []


@pytest.mark.parametrize("role", ROLES)
def test_task_names_carry_the_role_title(role: str) -> None:
    names = [task.get("name", "") for task in _tasks(role)]
    assert names
    assert [n for n in names if not n.startswith(f"{TITLES[role]} | ")] == []


# A task that only looks: a k8s_info read, a retried wait, or a registered task its name says only reads.
READ_ONLY_VERBS = ("Look for ", "Read ", "Check ", "Wait for ")


def _is_probe(task: dict[str, Any]) -> bool:
    action = str(task.get("name", "")).partition(" | ")[2]
    looks = "register" in task and action.startswith(READ_ONLY_VERBS)
    return "kubernetes.core.k8s_info" in task or ("register" in task and "until" in task) or looks


@pytest.mark.parametrize("role", ROLES)
def test_read_only_probes_run_in_check_mode_and_report_no_change(role: str) -> None:
    probes = [t for t in _tasks(role) if _is_probe(t)]
    assert probes, f"{role} has no read-only probe: the convention would hold for nothing"
    for task in probes:
        assert task.get("changed_when") is False, task["name"]
        assert task.get("check_mode") is False, task["name"]


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_documented(role: str) -> None:
    readme = (PLAYBOOKS / "README.md").read_text()
    defaults = _load(PLAYBOOKS / "roles" / role / "defaults" / "main.yml")
    missing = [name for name in defaults if f"`{name}`" not in readme]
    assert missing == []


@pytest.mark.parametrize("env", ["local", "aws"])
def test_group_vars_only_set_known_role_variables(env: str) -> None:
    known = SHARED | {
        name for role in ROLES for name in _load(PLAYBOOKS / "roles" / role / "defaults" / "main.yml")
    }
    values = _load(PLAYBOOKS / "group_vars" / f"env_{env}.yml")
    assert sorted(set(values) - known) == []


@pytest.mark.parametrize("env", ["local", "aws"])
def test_syntax_check_with_recorded_inventory(env: str, ansible: Any) -> None:
    done = subprocess.run(
        [
            str(ansible.bin / "ansible-playbook"),
            "--syntax-check",
            "-i",
            str(ansible.fixtures / f"{env}.yml"),
            str(PLAYBOOKS / "site.yml"),
            str(PLAYBOOKS / "render.yml"),
        ],
        env=ansible.env(ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_installed_collections_satisfy_requirements(ansible: Any) -> None:
    from ansible.module_utils.compat.version import LooseVersion

    wanted = _load(PLAYBOOKS / "requirements.yml")["collections"]
    done = subprocess.run(
        [str(ansible.bin / "ansible-galaxy"), "collection", "list", "--format", "json"],
        env=ansible.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    installed: dict[str, str] = {}
    for collections in json.loads(done.stdout).values():
        for name, info in collections.items():
            installed.setdefault(name, info["version"])
    for entry in wanted:
        version = LooseVersion(installed[entry["name"]])
        for bound in entry["version"].split(","):
            op, ref = (bound[:2], bound[2:]) if bound[1] == "=" else (bound[:1], bound[1:])
            ok = {">=": version >= LooseVersion(ref), "<": version < LooseVersion(ref)}[op]
            assert ok, f"{entry['name']} {version} does not satisfy {bound}"
