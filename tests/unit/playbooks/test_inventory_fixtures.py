"""The recorded inventories have the documented shape, and ansible-inventory resolves their variables."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from infra.contract import OUTPUT_KEYS

ENVIRONMENTS = ("local", "aws")

# Stack output -> inventory variable (docs/architecture.md). kubeconfig becomes a file path; nodes become
# the kind_nodes hosts; ingress_host is for the workloads, not the addons.
OUTPUT_TO_VAR = {
    "environment": "lab_environment",
    "kubeconfig": "lab_kubeconfig",
    "context": "lab_kube_context",
    "ingress_address": "lab_ingress_address",
    "ingress_http_port": "lab_ingress_http_port",
    "ingress_https_port": "lab_ingress_https_port",
    "nfs_server": "lab_nfs_server",
    "nfs_path": "lab_nfs_path",
}


def test_every_addon_relevant_output_has_an_inventory_variable() -> None:
    assert set(OUTPUT_TO_VAR) | {"nodes", "ingress_host"} == set(OUTPUT_KEYS)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_fixture_carries_every_lab_variable(env: str, ansible: Any) -> None:
    lab_vars = ansible.load_fixture(env)["all"]["vars"]
    missing = set(OUTPUT_TO_VAR.values()) - set(lab_vars)
    assert not missing, f"{env} inventory lacks {missing}"
    assert lab_vars["lab_environment"] == env


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_groups_resolve(env: str, inventories: dict[str, dict[str, Any]]) -> None:
    inv = inventories[env]
    assert inv["cluster"]["hosts"] == ["localhost"]
    assert len(inv["nfs_server"]["hosts"]) == 1
    kind_nodes = inv.get("kind_nodes", {}).get("hosts", [])
    if env == "local":
        assert kind_nodes, "the local inventory lists the kind node containers"
    else:
        assert not kind_nodes, "there are no kind nodes on AWS"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_variables_resolve_per_host(env: str, inventories: dict[str, dict[str, Any]]) -> None:
    hostvars = inventories[env]["_meta"]["hostvars"]
    local = hostvars["localhost"]
    # inventory vars and playbooks/group_vars/all.yml (via --playbook-dir) both reach the host
    assert local["lab_environment"] == env
    assert local["addons_environments"] == list(ENVIRONMENTS)
    ipaddress.ip_address(local["lab_nfs_server"])  # an IP: the kubelet mounts NFS with the node's resolver
    assert local["lab_nfs_path"].startswith("/")
    nfs_host = inventories[env]["nfs_server"]["hosts"][0]
    expected = "community.docker.docker" if env == "local" else "ssh"
    assert hostvars[nfs_host].get("ansible_connection", "ssh") == expected


def test_aws_bastion_escalates(inventories: dict[str, dict[str, Any]]) -> None:
    bastion = inventories["aws"]["_meta"]["hostvars"]["bastion"]
    assert bastion["ansible_become"] is True
    assert bastion["ansible_user"] == "ubuntu"


def test_local_fixture_is_what_infra_generates(ansible: Any, tmp_path: Any, monkeypatch: Any) -> None:
    """The recorded local inventory is exactly what infra/inventory.py builds from these stack outputs."""
    from infra import inventory
    from infra.contract import StackOutputs

    fixture = ansible.load_fixture("local")
    monkeypatch.setenv("INFRA_STATE_DIR", str(tmp_path))
    lab = fixture["all"]["vars"]
    outputs = StackOutputs(
        environment="local",
        kubeconfig="apiVersion: v1\n",
        context=lab["lab_kube_context"],
        ingress_address=lab["lab_ingress_address"],
        ingress_host=lab["lab_ingress_host"],
        ingress_http_port=lab["lab_ingress_http_port"],
        ingress_https_port=lab["lab_ingress_https_port"],
        nfs_server=lab["lab_nfs_server"],
        nfs_path=lab["lab_nfs_path"],
        nodes=list(fixture["all"]["children"]["kind_nodes"]["hosts"]),
        extras={
            "docker_hosts": {
                group: list(fixture["all"]["children"][group]["hosts"])
                for group in ("kind_nodes", "nfs_server")
            }
        },
    )
    built = inventory.build(outputs)
    built["all"]["vars"]["lab_kubeconfig"] = lab["lab_kubeconfig"]  # an absolute path under the state dir
    assert built == fixture
