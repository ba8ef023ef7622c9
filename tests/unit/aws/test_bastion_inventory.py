"""The aws inventory: the bastion and the addons' variables, from the stack outputs alone (no AWS call)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import inventory
from infra.contract import parse_outputs
from infra.errors import ConfigError, InfraError
from infra.paths import REPO_ROOT
from infra.state import EnvState

FIXTURE = REPO_ROOT / "tests" / "unit" / "playbooks" / "fixtures" / "aws.yml"
ANSIBLE_INVENTORY = Path(sys.executable).with_name("ansible-inventory")


@pytest.fixture
def built(aws_stack: Any) -> dict[str, Any]:
    return inventory.build(parse_outputs(aws_stack.outputs))["all"]


def test_the_bastion_is_reached_over_its_public_address(built: dict[str, Any], aws_stack: Any) -> None:
    bastion = built["children"]["nfs_server"]["hosts"]["bastion"]
    assert bastion["ansible_host"] == aws_stack.bastion_public_ip
    assert bastion["ansible_host"] != built["vars"]["lab_nfs_server"]  # the private one is for the kubelets
    assert built["vars"]["lab_nfs_server"] == aws_stack.bastion_private_ip
    assert bastion["ansible_user"] == "ubuntu"
    assert bastion["ansible_ssh_private_key_file"] == str(aws_stack.private_key)
    assert bastion["ansible_become"] is True


def test_the_bastion_host_key_is_trusted_on_first_use_per_environment(
    built: dict[str, Any], tmp_path: Path
) -> None:
    args = built["children"]["nfs_server"]["hosts"]["bastion"]["ansible_ssh_common_args"]
    assert "StrictHostKeyChecking=accept-new" in args
    assert f"UserKnownHostsFile={tmp_path / 'state' / 'aws' / 'known_hosts'}" in args


def test_aws_variables_come_from_the_stack_outputs(built: dict[str, Any], aws_stack: Any) -> None:
    lab = built["vars"]
    assert lab["lab_environment"] == "aws"
    assert lab["lab_aws_region"] == aws_stack.region
    assert lab["lab_vpc_cidr"] == "172.30.0.0/16"
    assert lab["lab_ingress_target_groups"] == aws_stack.target_groups
    assert lab["lab_ingress_proxy_protocol"] is False  # the stack leaves proxy protocol off
    assert lab["lab_ingress_address"] == aws_stack.outputs["ingress_address"]
    assert lab["lab_ingress_host"] == aws_stack.outputs["ingress_host"]
    assert built["children"]["kind_nodes"] == {"hosts": {}}


def _shape(value: Any) -> Any:
    """Keys all the way down; values only by type (paths and addresses differ per machine and run)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return type(value).__name__


def test_matches_the_recorded_fixture_in_shape(built: dict[str, Any]) -> None:
    """tests/unit/playbooks/fixtures/aws.yml (what the playbook tests render with) is what infra writes."""
    fixture = yaml.safe_load(FIXTURE.read_text())["all"]
    assert _shape(built) == _shape(fixture)
    assert list(built["vars"]) == list(fixture["vars"])


def test_ansible_resolves_the_written_inventory(aws_stack: Any, tmp_path: Path) -> None:
    if not ANSIBLE_INVENTORY.is_file():
        pytest.skip("ansible-inventory is not installed beside this Python")
    inventory.write(parse_outputs(aws_stack.outputs))
    path = tmp_path / "state" / "aws" / "inventory.yml"
    done = subprocess.run(
        [str(ANSIBLE_INVENTORY), "-i", str(path), "--playbook-dir", str(REPO_ROOT / "playbooks"), "--list"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, "ANSIBLE_HOME": str(tmp_path / "ansible")},
    )
    listed = json.loads(done.stdout)
    assert listed["nfs_server"]["hosts"] == ["bastion"]
    assert listed["cluster"]["hosts"] == ["localhost"]
    assert not listed.get("kind_nodes", {}).get("hosts")
    hostvars = listed["_meta"]["hostvars"]
    assert hostvars["bastion"]["ansible_host"] == aws_stack.bastion_public_ip
    assert hostvars["localhost"]["lab_ingress_target_groups"]["https"] == aws_stack.target_groups["https"]
    assert hostvars["localhost"]["lab_aws_region"] == aws_stack.region


def test_proxy_protocol_follows_the_stack_output(aws_stack: Any) -> None:
    on = parse_outputs({**aws_stack.outputs, "ingress_proxy_protocol": True})
    assert inventory.build(on)["all"]["vars"]["lab_ingress_proxy_protocol"] is True


def test_an_outdated_stack_without_the_aws_extras_is_a_clear_error(aws_stack: Any) -> None:
    """A stack brought up before the extras existed: the fix is to bring it up to date, not a KeyError."""
    old = {
        k: v for k, v in aws_stack.outputs.items() if k not in ("bastion_address", "ingress_target_groups")
    }
    with pytest.raises(InfraError, match="missing bastion_address, ingress_target_groups") as caught:
        parse_outputs(old)
    assert "--from pulumi" in caught.value.hint


def test_target_groups_must_name_both_ingress_ports(aws_stack: Any) -> None:
    half = {**aws_stack.outputs, "ingress_target_groups": {"http": aws_stack.target_groups["http"]}}
    with pytest.raises(InfraError, match=r"'ingress_target_groups' is .*not the ip target group ARN"):
        parse_outputs(half)


def test_a_missing_private_key_is_a_config_error(aws_stack: Any, tmp_path: Path) -> None:
    outputs = parse_outputs({**aws_stack.outputs, "ssh_private_key_file": str(tmp_path / "nowhere")})
    with pytest.raises(ConfigError, match=r"lab:sshPrivateKeyFile .*nowhere does not exist"):
        inventory.write(outputs)
    assert not (tmp_path / "state" / "aws").exists()  # nothing half-written


def test_the_inventory_asks_no_one(aws_stack: Any, tmp_path: Path) -> None:
    """Built with neither boto3 nor the stack config loaded: a pure function of the outputs."""
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(aws_stack.outputs))
    script = (
        "import json, sys\n"
        "from infra import inventory\n"
        "from infra.contract import parse_outputs\n"
        f"built = inventory.build(parse_outputs(json.loads(open({str(outputs)!r}).read())))\n"
        "assert built['all']['vars']['lab_aws_region'] == 'eu-west-1'\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')"
        " or m in ('infra.aws', 'infra.envconfig.aws', 'infra.envconfig.local'))\n"
        "print(json.dumps(loaded))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, "INFRA_STATE_DIR": str(tmp_path / "state")},
        cwd=REPO_ROOT,
    )
    assert json.loads(done.stdout) == []


def test_down_removes_the_known_hosts_file(aws_stack: Any, tmp_path: Path) -> None:
    inventory.write(parse_outputs(aws_stack.outputs))
    known_hosts = EnvState.of("aws").known_hosts
    known_hosts.write_text("203.0.113.9 ssh-ed25519 AAAA...\n")  # what ssh records on the first connection
    removed = {p.name for p in inventory.remove("aws")}
    assert removed == {"kubeconfig", "outputs.json", "inventory.yml", "known_hosts"}
