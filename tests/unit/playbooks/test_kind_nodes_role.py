"""The kind_nodes role's decision, run for real over `raw` on this machine (local connection).

A node whose mount helper exists is left alone; one without it would get nfs-common installed. Check mode
proves the decision without installing anything here: raw tasks never run in check mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module")
def check_run(ansible: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    base = tmp_path_factory.mktemp("kind-nodes")
    helper = base / "mount.nfs"
    helper.write_text("#!/bin/sh\nexit 0\n")
    helper.chmod(0o755)
    local = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    data = ansible.load_fixture("local")
    data["all"]["children"] = {
        "kind_nodes": {
            "hosts": {
                "node-with-helper": {**local, "kind_nodes_nfs_mount_helper": str(helper)},
                "node-without-helper": {
                    **local,
                    "kind_nodes_nfs_mount_helper": str(base / "missing" / "mount.nfs"),
                },
            }
        }
    }
    inventory = ansible.write_inventory(base / "inventory.yml", data)
    return ansible.run("kind_nodes.yml", inventory, None, "--check")


def test_probe_finds_the_helper(check_run: Any) -> None:
    assert check_run.returncode == 0, check_run.output
    probe = check_run.tasks["Kind nodes | Look for the NFS mount helper"]
    assert probe["node-with-helper"]["rc"] == 0
    assert probe["node-without-helper"]["rc"] != 0


def test_install_only_where_the_helper_is_missing(check_run: Any) -> None:
    install = check_run.tasks["Kind nodes | Install the NFS client packages"]
    assert install["node-with-helper"].get("false_condition") == "kind_nodes_helper_probe.rc != 0"
    # would run, but raw never runs in check mode: nothing installed on this machine
    assert "false_condition" not in install["node-without-helper"]
    assert install["node-without-helper"]["skipped"] is True


@pytest.mark.parametrize("host", ["node-with-helper", "node-without-helper"])
def test_check_mode_changes_nothing(check_run: Any, host: str) -> None:
    assert check_run.changed(host) == 0
    assert not check_run.failed(host)


def test_role_is_a_no_op_when_disabled(ansible: Any, tmp_path: Path) -> None:
    data = ansible.load_fixture("local")
    data["all"]["children"] = {
        "kind_nodes": {
            "hosts": {
                "node": {
                    "ansible_connection": "local",
                    "kind_nodes_enabled": False,
                    "kind_nodes_nfs_mount_helper": str(tmp_path / "missing"),
                }
            }
        }
    }
    run = ansible.run("kind_nodes.yml", ansible.write_inventory(tmp_path / "inventory.yml", data))
    assert run.returncode == 0, run.output
    assert "Kind nodes | Look for the NFS mount helper" not in run.tasks
