"""The rendered kOps spec, field by field, and our own validation of it."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
import yaml

from infra import kops
from infra.envconfig import aws as envconfig
from infra.errors import ConfigError

INPUTS = kops.KopsInputs(
    vpc_id="vpc-0abc",
    subnet_ids={"us-east-1a": "subnet-0aaa", "us-east-1b": "subnet-0bbb"},
    state_bucket="lab-kops-state-123",
    lbc_policy_arn="arn:aws:iam::123456789012:policy/lbc",
    ssh_key_name="bastion-kp",
    node_security_group_ids=("sg-0ingress",),
)


@pytest.fixture(scope="module")
def cfg() -> envconfig.AwsConfig:
    return envconfig.parse({"sshCidr": "198.18.0.7/32"})


@pytest.fixture(scope="module")
def documents(cfg: envconfig.AwsConfig) -> list[dict[str, Any]]:
    return kops.render(cfg, INPUTS)


@pytest.fixture(scope="module")
def spec(documents: list[dict[str, Any]]) -> dict[str, Any]:
    return documents[0]["spec"]


def test_cluster_identity(documents: list[dict[str, Any]]) -> None:
    cluster = documents[0]
    assert (cluster["apiVersion"], cluster["kind"]) == ("kops.k8s.io/v1alpha2", "Cluster")
    assert cluster["metadata"] == {"name": "lab.k8s.local"}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("cloudProvider", "aws"),
        ("kubernetesVersion", "1.35.1"),
        ("networkCIDR", "172.30.0.0/16"),
        ("nonMasqueradeCIDR", "172.30.0.0/16"),
        ("networkID", "vpc-0abc"),
        ("networking", {"amazonvpc": {}}),
        ("awsLoadBalancerController", {"enabled": True}),
        ("certManager", {"enabled": True}),
        ("configBase", "s3://lab-kops-state-123/lab.k8s.local"),
        ("sshKeyName", "bastion-kp"),
        ("sshAccess", ["172.30.0.0/16"]),
        ("kubernetesApiAccess", ["172.30.0.0/16", "198.18.0.7/32"]),
        ("api", {"loadBalancer": {"class": "Network", "type": "Public"}}),
        ("topology", {"masters": "public", "nodes": "public"}),
        ("iam", {"allowContainerRegistry": True, "legacy": False}),
        ("authorization", {"rbac": {}}),
        # exactly this: no serverTLSBootstrap (kops-controller issues CA-signed kubelet serving certificates,
        # which metrics-server verifies without --kubelet-insecure-tls: playbooks/group_vars/env_aws.yml)
        ("kubelet", {"anonymousAuth": False}),
        (
            "externalPolicies",
            {
                "master": ["arn:aws:iam::123456789012:policy/lbc"],
                "node": ["arn:aws:iam::123456789012:policy/lbc"],
            },
        ),
        (
            "subnets",
            [
                {
                    "cidr": "172.30.32.0/19",
                    "name": "us-east-1a",
                    "type": "Public",
                    "zone": "us-east-1a",
                    "id": "subnet-0aaa",
                },
                {
                    "cidr": "172.30.64.0/19",
                    "name": "us-east-1b",
                    "type": "Public",
                    "zone": "us-east-1b",
                    "id": "subnet-0bbb",
                },
            ],
        ),
    ],
)
def test_cluster_spec_field(spec: dict[str, Any], path: str, expected: Any) -> None:
    assert spec[path] == expected


def test_the_bastion_public_address_may_reach_the_api(cfg: envconfig.AwsConfig) -> None:
    """The bastion reaches the internet-facing API NLB through the internet gateway, so with its public
    address: kubernetesApiAccess must name it, or `kops validate` and kubectl on the bastion time out."""
    inputs = dataclasses.replace(INPUTS, bastion_public_ip="198.51.100.20")
    spec = kops.render(cfg, inputs)[0]["spec"]
    assert spec["kubernetesApiAccess"] == ["172.30.0.0/16", "198.18.0.7/32", "198.51.100.20/32"]


def test_etcd_clusters_have_the_control_plane_as_members(spec: dict[str, Any]) -> None:
    assert [e["name"] for e in spec["etcdClusters"]] == ["main", "events"]
    for etcd in spec["etcdClusters"]:
        assert etcd["etcdMembers"] == [
            {"encryptedVolume": True, "instanceGroup": "control-plane-us-east-1a", "name": "a"}
        ]


def test_instance_groups(documents: list[dict[str, Any]]) -> None:
    control_plane, nodes = documents[1:]
    assert control_plane["metadata"] == {
        "name": "control-plane-us-east-1a",
        "labels": {"kops.k8s.io/cluster": "lab.k8s.local"},
    }
    assert control_plane["spec"] == {
        "machineType": "t3.medium",
        "maxSize": 1,
        "minSize": 1,
        "nodeLabels": {"kops.k8s.io/instancegroup": "control-plane-us-east-1a"},
        "role": "Master",
        "subnets": ["us-east-1a"],
    }
    assert nodes["spec"] == {
        "machineType": "t3.large",
        "maxSize": 2,
        "minSize": 2,
        "nodeLabels": {"kops.k8s.io/instancegroup": "nodes"},
        "role": "Node",
        "subnets": ["us-east-1a", "us-east-1b"],
        "additionalSecurityGroups": ["sg-0ingress"],
    }


def test_three_control_planes_spread_over_zones() -> None:
    cfg = envconfig.parse({"sshCidr": "198.18.0.7/32", "controlPlaneCount": 3})
    documents = kops.render(cfg, INPUTS)
    groups = [d for d in documents if d["kind"] == "InstanceGroup" and d["spec"]["role"] == "Master"]
    assert [g["metadata"]["name"] for g in groups] == [
        "control-plane-us-east-1a-1",
        "control-plane-us-east-1b-2",
        "control-plane-us-east-1a-3",
    ]
    assert [g["spec"]["subnets"] for g in groups] == [["us-east-1a"], ["us-east-1b"], ["us-east-1a"]]
    assert [m["name"] for m in documents[0]["spec"]["etcdClusters"][0]["etcdMembers"]] == ["a", "b", "c"]


def test_yaml_is_plain_multi_document(cfg: envconfig.AwsConfig) -> None:
    text = kops.render_yaml(cfg, INPUTS)
    assert "&id" not in text  # no anchors: kops and humans read it
    assert [d["kind"] for d in yaml.safe_load_all(text)] == ["Cluster", "InstanceGroup", "InstanceGroup"]


def _broken(documents: list[dict[str, Any]], edit: Any) -> list[dict[str, Any]]:
    copied = copy.deepcopy(documents)
    edit(copied)
    return copied


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d[0]["spec"].pop("kubernetesVersion"), "Cluster spec.kubernetesVersion is required"),
        (lambda d: d[0]["spec"].pop("configBase"), "Cluster spec.configBase is required"),
        (lambda d: d[0]["metadata"].pop("name"), "Cluster metadata.name is required"),
        (
            lambda d: d[0]["spec"].update(cloudProvider="gce"),
            "spec.cloudProvider 'gce' is not one of ['aws']",
        ),
        (lambda d: d[0]["spec"]["subnets"][0].update(type="Open"), "spec.subnets[us-east-1a].type 'Open'"),
        (
            lambda d: d[0]["spec"]["api"]["loadBalancer"].update(type="External"),
            "loadBalancer.type 'External'",
        ),
        (lambda d: d[0]["spec"].update(networking={"weave": {}}), "spec.networking must name exactly one"),
        (
            lambda d: d[0]["spec"]["subnets"][1].update(cidr="10.9.0.0/19"),
            "spec.subnets[us-east-1b].cidr 10.9.0.0/19 is outside networkCIDR 172.30.0.0/16",
        ),
        (lambda d: d[0]["spec"].update(networkCIDR="172.30.0.0/99"), "spec.networkCIDR '172.30.0.0/99'"),
        (
            lambda d: d[0]["spec"].update(certManager={"enabled": False}),
            "spec.awsLoadBalancerController.enabled requires spec.certManager.enabled: true",
        ),
        (lambda d: d[0]["spec"].pop("certManager"), "requires spec.certManager.enabled"),
        (
            lambda d: d[0]["spec"]["externalPolicies"].update(workers=[]),
            "spec.externalPolicies key 'workers'",
        ),
        (
            lambda d: d[0]["spec"]["externalPolicies"].update(node=["lbc"]),
            "spec.externalPolicies.node: 'lbc' is not an IAM policy ARN",
        ),
        (lambda d: d[2]["spec"].update(role="Worker"), "InstanceGroup nodes spec.role 'Worker'"),
        (
            lambda d: d[2]["spec"].update(subnets=["us-east-1c"]),
            "InstanceGroup nodes: spec.subnets must name",
        ),
        (lambda d: d[2]["spec"].update(minSize=3), "need integers 0 <= minSize <= maxSize, got 3/2"),
        (lambda d: d[2]["metadata"]["labels"].clear(), "label kops.k8s.io/cluster must be the cluster name"),
        (lambda d: d.pop(2), "no node InstanceGroup"),
        (lambda d: d.pop(1), "no control-plane InstanceGroup"),
        (lambda d: d[0]["spec"]["etcdClusters"][0].update(etcdMembers=[]), "etcd cluster main: members []"),
        (
            lambda d: d[0]["spec"]["kubelet"].update(serverTLSBootstrap=True),
            "spec.kubelet.serverTLSBootstrap makes kubelets wait for kubelet-serving CSRs",
        ),
        (
            lambda d: d[1].update(apiVersion="kops/v1alpha1"),
            "document 1: apiVersion must be kops.k8s.io/v1alpha2",
        ),
    ],
)
def test_validation_finds_the_problem(documents: list[dict[str, Any]], edit: Any, expected: str) -> None:
    problems = kops.find_problems(_broken(documents, edit))
    assert any(expected in p for p in problems), problems


def test_rendered_spec_has_no_problems(documents: list[dict[str, Any]]) -> None:
    assert kops.find_problems(documents) == []


def test_validate_raises_config_error_with_all_problems(documents: list[dict[str, Any]]) -> None:
    def edit(d: list[dict[str, Any]]) -> None:
        d[0]["spec"]["certManager"]["enabled"] = False
        d[0]["spec"]["cloudProvider"] = "azure"

    with pytest.raises(ConfigError) as caught:
        kops.validate(_broken(documents, edit))
    assert "certManager" in caught.value.message
    assert "azure" in caught.value.message


def test_placeholder_render_for_plan(cfg: envconfig.AwsConfig) -> None:
    text = kops.render_yaml(cfg, kops.PLACEHOLDER_INPUTS)
    cluster = next(yaml.safe_load_all(text))
    assert cluster["spec"]["networkID"] == "vpc-<created-by-pulumi>"
    assert all("id" not in s for s in cluster["spec"]["subnets"])
