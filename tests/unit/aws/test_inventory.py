"""The aws inventory: built from the stack outputs plus what AWS (a real moto server) says about the lab."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from infra import inventory
from infra.aws import AwsApi
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


def test_aws_variables_come_from_the_stack_config_and_aws(built: dict[str, Any], aws_stack: Any) -> None:
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


def test_proxy_protocol_is_read_back_from_the_target_groups(aws_stack: Any, moto_endpoint: str) -> None:
    elbv2 = boto3.session.Session().client("elbv2", region_name=aws_stack.region, endpoint_url=moto_endpoint)
    outputs = parse_outputs(aws_stack.outputs)
    on = [{"Key": "proxy_protocol_v2.enabled", "Value": "true"}]
    off = [{"Key": "proxy_protocol_v2.enabled", "Value": "false"}]
    try:
        elbv2.modify_target_group_attributes(TargetGroupArn=aws_stack.target_groups["http"], Attributes=on)
        with pytest.raises(InfraError, match="disagree on proxy protocol"):
            inventory.build(outputs)
        elbv2.modify_target_group_attributes(TargetGroupArn=aws_stack.target_groups["https"], Attributes=on)
        assert inventory.build(outputs)["all"]["vars"]["lab_ingress_proxy_protocol"] is True
    finally:
        for arn in aws_stack.target_groups.values():
            elbv2.modify_target_group_attributes(TargetGroupArn=arn, Attributes=off)


def test_an_nlb_without_the_stack_target_groups_is_a_clear_error(aws_stack: Any, moto_endpoint: str) -> None:
    session = boto3.session.Session()
    ec2 = session.client("ec2", region_name=aws_stack.region, endpoint_url=moto_endpoint)
    elbv2 = session.client("elbv2", region_name=aws_stack.region, endpoint_url=moto_endpoint)
    lab_subnets = [{"Name": "cidr-block", "Values": ["172.30.32.0/19", "172.30.64.0/19"]}]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=lab_subnets)["Subnets"]]
    bare = elbv2.create_load_balancer(Name="bare-nlb", Subnets=subnets[:2], Type="network")
    bare = bare["LoadBalancers"][0]
    try:
        outputs = parse_outputs({**aws_stack.outputs, "ingress_address": bare["DNSName"]})
        with pytest.raises(InfraError, match=r"has no ip target group lab-ingress-http on port 80") as caught:
            inventory.build(outputs)
        assert "--from pulumi" in caught.value.hint
    finally:
        elbv2.delete_load_balancer(LoadBalancerArn=bare["LoadBalancerArn"])


def test_a_missing_bastion_is_a_clear_error(aws_stack: Any, tmp_path: Path, monkeypatch) -> None:
    """Another cluster name (no bastion tagged for it) stands for a stack that is not up."""
    from infra.envconfig import aws as envconfig

    other = tmp_path / "Pulumi.aws.yaml"
    document = yaml.safe_load(aws_stack.stack_file.read_text())
    document["config"]["lab:clusterName"] = "other.k8s.local"
    other.write_text(yaml.safe_dump(document))
    monkeypatch.setattr(envconfig, "STACK_FILE", other)
    with pytest.raises(InfraError, match=r"expected one running bastion of other\.k8s\.local"):
        inventory.write(parse_outputs(aws_stack.outputs))
    assert not (tmp_path / "state" / "aws").exists()  # nothing half-written


def test_a_missing_private_key_is_a_config_error(aws_stack: Any, tmp_path: Path, monkeypatch) -> None:
    from infra.envconfig import aws as envconfig

    other = tmp_path / "Pulumi.aws.yaml"
    document = yaml.safe_load(aws_stack.stack_file.read_text())
    document["config"]["lab:sshPrivateKeyFile"] = str(tmp_path / "nowhere")
    other.write_text(yaml.safe_dump(document))
    monkeypatch.setattr(envconfig, "STACK_FILE", other)
    with pytest.raises(ConfigError, match=r"lab:sshPrivateKeyFile .*nowhere does not exist"):
        inventory.build(parse_outputs(aws_stack.outputs))


def test_aws_errors_are_infra_errors(aws_stack: Any, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    api = AwsApi(aws_stack.region)
    with pytest.raises(InfraError, match=f"cannot read the AWS lab in {aws_stack.region}"):
        inventory.build(parse_outputs(aws_stack.outputs), aws_api=api)


def test_down_removes_the_known_hosts_file(aws_stack: Any, tmp_path: Path) -> None:
    inventory.write(parse_outputs(aws_stack.outputs))
    known_hosts = EnvState.of("aws").known_hosts
    known_hosts.write_text("203.0.113.9 ssh-ed25519 AAAA...\n")  # what ssh records on the first connection
    removed = {p.name for p in inventory.remove("aws")}
    assert removed == {"kubeconfig", "outputs.json", "inventory.yml", "known_hosts"}
