"""infra/aws.py against a real moto server over HTTP (one server per session, see conftest.py)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from infra.aws import AwsApi, Target, check_credentials, compare_targets, default_region, preflight
from infra.errors import ConfigError, InfraError

REGION = "us-east-1"


@pytest.fixture(scope="module")
def nlb(moto_endpoint: str) -> dict[str, Any]:
    """An internet-facing NLB with an ip target group and three registered pod IPs, made with plain boto3."""
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    ec2 = session.client("ec2", region_name=REGION, endpoint_url=moto_endpoint)
    elbv2 = session.client("elbv2", region_name=REGION, endpoint_url=moto_endpoint)
    vpc = ec2.create_vpc(CidrBlock="172.30.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for cidr, zone in (("172.30.32.0/19", "us-east-1a"), ("172.30.64.0/19", "us-east-1b"))
    ]
    lb = elbv2.create_load_balancer(
        Name="echo-nlb",
        Subnets=subnets,
        Type="network",
        Scheme="internet-facing",
        Tags=[{"Key": "service.k8s.aws/stack", "Value": "lab-nlb/echo"}],
    )["LoadBalancers"][0]
    other = elbv2.create_load_balancer(Name="other-nlb", Subnets=subnets, Type="network")["LoadBalancers"][0]
    group = elbv2.create_target_group(Name="echo-tg", Protocol="TCP", Port=8080, VpcId=vpc, TargetType="ip")[
        "TargetGroups"
    ][0]
    elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="TCP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
    )
    pods = ["172.30.33.10", "172.30.65.11", "172.30.40.12"]
    elbv2.register_targets(
        TargetGroupArn=group["TargetGroupArn"], Targets=[{"Id": ip, "Port": 8080} for ip in pods]
    )
    return {"lb": lb, "other": other, "group": group, "pods": pods}


@pytest.fixture
def api(moto_endpoint: str, aws_credentials: None) -> AwsApi:
    return AwsApi(REGION, endpoint_url=moto_endpoint)


def test_caller_identity(api: AwsApi) -> None:
    identity = api.caller_identity()
    assert identity.account.isdigit()
    assert len(identity.account) == 12
    assert identity.arn.startswith("arn:aws:")


def test_check_credentials_uses_the_region(moto_endpoint: str, aws_credentials: None, monkeypatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert default_region() == "eu-west-1"
    assert check_credentials(endpoint_url=moto_endpoint).account.isdigit()


def test_default_region_falls_back_to_the_stack_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert default_region() == "us-east-1"  # lab:region's default in stacks/aws/Pulumi.yaml


def test_missing_credentials_is_a_clear_error(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(InfraError, match="no AWS credentials found") as caught:
        AwsApi(REGION, endpoint_url=moto_endpoint).caller_identity()
    assert "aws sts get-caller-identity" in (caught.value.hint or "")


def test_unreachable_endpoint_is_a_clear_error(aws_credentials: None) -> None:
    with pytest.raises(InfraError, match="cannot reach AWS STS in us-east-1"):
        AwsApi(REGION, endpoint_url="http://127.0.0.1:9").caller_identity()


def test_availability_zones(api: AwsApi) -> None:
    zones = api.availability_zones()
    assert {"us-east-1a", "us-east-1b"} <= set(zones)
    assert all(z.startswith("us-east-1") for z in zones)


def test_preflight_accepts_the_default_zones(api: AwsApi) -> None:
    result = preflight(api, ["us-east-1a", "us-east-1b"])
    assert result.identity.account.isdigit()
    assert len(result.zones) >= 2


def test_unknown_zone_is_refused(api: AwsApi) -> None:
    with pytest.raises(ConfigError, match="us-east-1z are not available in us-east-1"):
        api.require_zones(["us-east-1a", "us-east-1z"])


def test_region_with_too_few_zones_is_refused(api: AwsApi) -> None:
    # every moto region has several zones: ask for more than it has
    with pytest.raises(ConfigError, match=r"has \d+ availability zone\(s\); the lab needs 99"):
        api.require_zones(["us-east-1a"], minimum=99)


def test_find_load_balancer_by_dns_name(api: AwsApi, nlb: dict[str, Any]) -> None:
    found = api.find_load_balancer(nlb["lb"]["DNSName"].upper() + ".")
    assert (found.arn, found.name, found.type, found.scheme) == (
        nlb["lb"]["LoadBalancerArn"],
        "echo-nlb",
        "network",
        "internet-facing",
    )


def test_unknown_dns_name_is_a_clear_error(api: AwsApi, nlb: dict[str, Any]) -> None:
    with pytest.raises(InfraError, match=r"no load balancer with DNS name nope\.elb\.amazonaws\.com"):
        api.find_load_balancer("nope.elb.amazonaws.com")


def test_find_load_balancers_by_tags(api: AwsApi, nlb: dict[str, Any]) -> None:
    found = api.find_load_balancers_by_tags({"service.k8s.aws/stack": "lab-nlb/echo"})
    assert [lb.name for lb in found] == ["echo-nlb"]
    assert api.find_load_balancers_by_tags({"service.k8s.aws/stack": "other/ns"}) == []


def test_target_groups_of_the_nlb(api: AwsApi, nlb: dict[str, Any]) -> None:
    (group,) = api.target_groups(nlb["lb"]["LoadBalancerArn"])
    assert (group.name, group.port, group.protocol, group.target_type) == ("echo-tg", 8080, "TCP", "ip")
    assert api.target_groups(nlb["other"]["LoadBalancerArn"]) == []


def test_registered_targets_are_the_pod_ips(api: AwsApi, nlb: dict[str, Any]) -> None:
    targets = api.targets(nlb["group"]["TargetGroupArn"])
    assert sorted(t.id for t in targets) == sorted(nlb["pods"])
    assert {t.port for t in targets} == {8080}
    assert all(t.state for t in targets)
    diff = compare_targets(targets, nlb["pods"])
    assert diff.matches, diff.describe()
    assert not compare_targets(targets, nlb["pods"][:2]).matches  # a pod fewer: one IP is unexpected


@pytest.mark.parametrize(
    ("targets", "expected", "missing", "unexpected", "draining"),
    [
        ([Target("10.0.0.1", 80, "healthy")], ["10.0.0.1"], (), (), ()),
        ([Target("10.0.0.1", 80, "healthy")], ["10.0.0.1", "10.0.0.2"], ("10.0.0.2",), (), ()),
        (
            [Target("10.0.0.1", 80, "healthy"), Target("10.0.0.9", 80, "unhealthy")],
            ["10.0.0.1"],
            (),
            ("10.0.0.9",),
            (),
        ),
        (
            [Target("10.0.0.1", 80, "healthy"), Target("10.0.0.3", 80, "draining")],
            ["10.0.0.1"],
            (),
            (),
            ("10.0.0.3",),
        ),
        ([Target("10.0.0.1", 80, "draining")], ["10.0.0.1"], ("10.0.0.1",), (), ()),
    ],
)
def test_compare_targets(targets, expected, missing, unexpected, draining) -> None:
    diff = compare_targets(targets, expected)
    assert (diff.missing, diff.unexpected, diff.draining) == (missing, unexpected, draining)
    assert diff.matches == (not missing and not unexpected)
    assert ("exactly the pod IPs" in diff.describe()) == diff.matches
