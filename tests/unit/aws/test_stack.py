"""The Pulumi program under mocks: every resource group, the dependencies that order destroy, the outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.contract import keys_of, parse_outputs

T_VPC = "aws:ec2/vpc:Vpc"
T_SUBNET = "aws:ec2/subnet:Subnet"
T_SG = "aws:ec2/securityGroup:SecurityGroup"
T_COMMAND = "command:remote:Command"
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker of a secret value in mock inputs


def _unsecret(value: Any) -> Any:
    return value["value"] if isinstance(value, dict) and SECRET_SIG in value else value


def test_components_one_per_concern(program_run: Any) -> None:
    components = sorted(r.typ for r in program_run.mocks.resources if r.typ.startswith("lab:aws:"))
    assert components == [
        "lab:aws:Bastion",
        "lab:aws:Cluster",
        "lab:aws:Iam",
        "lab:aws:Ingress",
        "lab:aws:KopsState",
        "lab:aws:Network",
    ]


def test_provider_uses_the_configured_region(program_run: Any) -> None:
    (provider,) = program_run.mocks.of_type("pulumi:providers:aws")
    assert provider.inputs["region"] == "us-east-1"


def test_network(program_run: Any) -> None:
    mocks = program_run.mocks
    (vpc,) = mocks.of_type(T_VPC)
    assert vpc.inputs["cidrBlock"] == "172.30.0.0/16"
    assert vpc.inputs["enableDnsHostnames"] is True
    subnets = {s.inputs["availabilityZone"]: s.inputs for s in mocks.of_type(T_SUBNET)}
    assert {zone: s["cidrBlock"] for zone, s in subnets.items()} == {
        "us-east-1a": "172.30.32.0/19",
        "us-east-1b": "172.30.64.0/19",
    }
    for subnet in subnets.values():
        assert subnet["mapPublicIpOnLaunch"] is True
        assert subnet["tags"]["kubernetes.io/role/elb"] == "1"  # the controller's subnet discovery
        assert subnet["tags"]["kubernetes.io/cluster/lab.k8s.local"] == "shared"
    (routes,) = mocks.of_type("aws:ec2/routeTable:RouteTable")
    assert routes.inputs["routes"][0]["cidrBlock"] == "0.0.0.0/0"
    assert len(mocks.of_type("aws:ec2/internetGateway:InternetGateway")) == 1
    assert len(mocks.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")) == 2


def test_bastion_security_group_allows_ssh_only_from_the_configured_cidr(program_run: Any) -> None:
    group = program_run.mocks.named("network-bastion")
    ssh = [rule for rule in group.inputs["ingress"] if rule["fromPort"] == 22]
    assert ssh == [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["198.18.0.7/32"]}]
    others = [rule for rule in group.inputs["ingress"] if rule["fromPort"] != 22]
    assert {rule["fromPort"] for rule in others} == {111, 2049}
    assert all(rule["cidrBlocks"] == ["172.30.0.0/16"] for rule in others)


def test_ingress_targets_security_group(program_run: Any) -> None:
    group = program_run.mocks.named("network-ingress-targets")
    assert sorted((r["fromPort"], tuple(r["cidrBlocks"])) for r in group.inputs["ingress"]) == [
        (80, ("172.30.0.0/16",)),
        (443, ("172.30.0.0/16",)),
    ]


def test_iam(program_run: Any) -> None:
    mocks = program_run.mocks
    (policy,) = mocks.of_type("aws:iam/policy:Policy")
    document = json.loads(policy.inputs["policy"])
    actions = {
        a
        for s in document["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    for needed in (
        "elasticloadbalancing:CreateLoadBalancer",
        "elasticloadbalancing:RegisterTargets",
        "elasticloadbalancing:DescribeTargetHealth",
        "ec2:DescribeSubnets",
        "iam:CreateServiceLinkedRole",
    ):
        assert needed in actions
    (role,) = mocks.of_type("aws:iam/role:Role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"
    }
    attached = sorted(
        a.inputs["policyArn"].rsplit("/", 1)[1]
        for a in mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    )
    assert attached == sorted(
        [
            "AmazonEC2FullAccess",
            "AmazonEventBridgeFullAccess",
            "AmazonRoute53FullAccess",
            "AmazonS3FullAccess",
            "AmazonSQSFullAccess",
            "AmazonVPCFullAccess",
            "IAMFullAccess",
        ]
    )
    assert len(mocks.of_type("aws:iam/instanceProfile:InstanceProfile")) == 1


def test_kops_state_bucket_is_private_versioned_encrypted(program_run: Any) -> None:
    mocks = program_run.mocks
    (bucket,) = mocks.of_type("aws:s3/bucket:Bucket")
    assert bucket.inputs["bucketPrefix"] == "lab-kops-state-"
    (block,) = mocks.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(
        block.inputs[k] is True
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    (versioning,) = mocks.of_type("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    (encryption,) = mocks.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    (ownership,) = mocks.of_type("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_bastion(program_run: Any, base_config: dict[str, str]) -> None:
    mocks = program_run.mocks
    (instance,) = mocks.of_type("aws:ec2/instance:Instance")
    assert instance.inputs["instanceType"] == "t3.small"
    assert instance.inputs["ami"] == "ami-0123456789abcdef0"
    assert instance.inputs["associatePublicIpAddress"] is True
    assert instance.inputs["metadataOptions"]["httpTokens"] == "required"
    assert instance.inputs["rootBlockDevice"]["encrypted"] is True
    user_data = instance.inputs["userData"]
    assert "30b14da38922b829157175d1c3af81de05701da6bc0456799fa1c3f2795a9f9c" in user_data
    assert "sha256sum --check --strict" in user_data
    (key,) = mocks.of_type("aws:ec2/keyPair:KeyPair")
    assert key.inputs["publicKey"] == Path(base_config["sshPublicKeyFile"]).read_text().strip()
    (ami_lookup,) = [c for c in mocks.calls if c.token == "aws:ec2/getAmi:getAmi"]
    assert ami_lookup.args["owners"] == ["099720109477"]


def test_ingress_nlb(program_run: Any) -> None:
    mocks = program_run.mocks
    (nlb,) = mocks.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert nlb.inputs["loadBalancerType"] == "network"
    assert nlb.inputs["internal"] is False
    assert len(nlb.inputs["subnetMappings"]) == 2
    assert all(m["allocationId"].startswith("eipalloc-") for m in nlb.inputs["subnetMappings"])
    groups = {g.inputs["port"]: g.inputs for g in mocks.of_type("aws:lb/targetGroup:TargetGroup")}
    assert sorted(groups) == [80, 443]
    assert {g["targetType"] for g in groups.values()} == {"ip"}
    assert {g["name"] for g in groups.values()} == {"lab-ingress-http", "lab-ingress-https"}
    assert sorted(listener.inputs["port"] for listener in mocks.of_type("aws:lb/listener:Listener")) == [
        80,
        443,
    ]


def test_ingress_target_groups_send_no_proxy_protocol(program_run: Any) -> None:
    """The NLB side of "proxy protocol on both sides or neither": off, and read back by the inventory."""
    groups = program_run.mocks.of_type("aws:lb/targetGroup:TargetGroup")
    assert [g.inputs["proxyProtocolV2"] for g in groups] == [False, False]


def test_cluster_commands_run_kops_on_the_bastion(program_run: Any) -> None:
    command = program_run.mocks.named("cluster-kops")
    assert SECRET_SIG in command.inputs["connection"]  # it holds the private key: a secret as a whole
    connection = _unsecret(command.inputs["connection"])
    assert (connection["host"], connection["user"]) == ("198.51.100.20", "ubuntu")
    assert "not-a-real-key" in connection["privateKey"]
    for step in ("kops create -f", "kops update cluster --yes", "kops validate cluster --wait"):
        assert step in command.inputs["create"]
    assert "kops delete cluster --yes" in command.inputs["delete"]
    assert "KOPS_STATE_STORE=s3://lab-kops-state-20261121" in command.inputs["create"]
    spec = list(yaml.safe_load_all(command.inputs["stdin"]))
    cluster = spec[0]["spec"]
    assert cluster["networkID"] == "network-vpc-id"
    assert {s["zone"]: s["id"] for s in cluster["subnets"]} == {
        "us-east-1a": "network-us-east-1a-id",
        "us-east-1b": "network-us-east-1b-id",
    }
    assert cluster["externalPolicies"]["master"] == [
        "arn:aws:iam::123456789012:policy/iam-aws-load-balancer-controller"
    ]
    assert cluster["sshKeyName"] == "bastion-key-kp"
    # the bastion calls the public API NLB from its public address (through the internet gateway)
    assert "198.51.100.20/32" in cluster["kubernetesApiAccess"]
    assert spec[2]["spec"]["additionalSecurityGroups"] == ["network-ingress-targets-id"]


def test_destroy_deletes_the_cluster_before_what_it_lives_in(program_run: Any) -> None:
    """Pulumi deletes dependents first: the kOps command depends on network, IAM, bucket, bastion, NLB."""
    dependencies = program_run.monitor.dependencies["cluster-kops"]
    for name in (
        "network-vpc",
        "network-us-east-1a",
        "network-igw",
        "network-public",
        "iam-aws-load-balancer-controller",
        "kops-state-bucket",
        "bastion-instance",
        "ingress-nlb",
        "ingress-http",
    ):
        assert any(urn.endswith(f"::{name}") for urn in dependencies), name
    assert any(
        urn.endswith("::cluster-kops") for urn in program_run.monitor.dependencies["cluster-kubeconfig"]
    )


def test_outputs_are_exactly_the_contract(program_run: Any) -> None:
    outputs = program_run.outputs
    assert tuple(outputs) == keys_of("aws")
    parsed = parse_outputs(outputs)
    assert parsed.environment == "aws"
    assert yaml.safe_load(parsed.kubeconfig)["current-context"] == "lab.k8s.local"
    assert parsed.context == "lab.k8s.local"
    assert parsed.ingress_address == "lab-ingress-0123456789.elb.us-east-1.amazonaws.com"
    first_eip = program_run.mocks.named("ingress-us-east-1a")
    assert first_eip.inputs["domain"] == "vpc"
    assert parsed.ingress_host.endswith(".nip.io")
    assert parsed.ingress_host.startswith("198-51-100-")
    assert (parsed.ingress_http_port, parsed.ingress_https_port) == (80, 443)  # the NLB's listener ports
    listeners = {r.name: r.inputs["port"] for r in program_run.mocks.of_type("aws:lb/listener:Listener")}
    assert listeners == {"ingress-http": 80, "ingress-https": 443}
    assert parsed.nfs_server == "172.30.32.10"
    assert parsed.nfs_path == "/exports/k8s"
    assert parsed.nodes == ["i-0a1b", "i-0b2c", "i-0c3d"]


def test_the_aws_extras_are_what_the_inventory_needs(program_run: Any, ssh_key_files: Any) -> None:
    """Bastion, SSH login, region, VPC and the ingress target groups: exported, so no one asks AWS later."""
    parsed = parse_outputs(program_run.outputs)
    assert parsed.exported("bastion_address") == "198.51.100.20"  # the instance's public IP
    assert parsed.exported("bastion_address") != parsed.nfs_server  # the private one is for the kubelets
    assert parsed.exported("ssh_user") == "ubuntu"
    assert parsed.exported("ssh_private_key_file") == str(ssh_key_files[0])
    assert parsed.exported("aws_region") == "us-east-1"
    assert parsed.exported("vpc_cidr") == "172.30.0.0/16"
    groups = {r.name: r for r in program_run.mocks.of_type("aws:lb/targetGroup:TargetGroup")}
    assert parsed.exported("ingress_target_groups") == {
        "http": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/ingress-http",
        "https": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/ingress-https",
    }
    assert set(groups) == {"ingress-http", "ingress-https"}
    # the groups' own attribute, so ingress-nginx's use-proxy-protocol cannot disagree with the NLB
    assert {g.inputs["proxyProtocolV2"] for g in groups.values()} == {False}
    assert parsed.exported("ingress_proxy_protocol") is False


def test_kubeconfig_command_output_is_secret(program_run: Any) -> None:
    command = program_run.mocks.named("cluster-kubeconfig")
    assert command.inputs["logging"] == "none"
    assert "kops export kubecfg --admin=8760h" in command.inputs["create"]


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"sshCidr": "0.0.0.0/0"}, "allowSshFromAnywhere"),
        ({"sshCidr": "203.0.113.10/32"}, "documentation address"),
        ({"nodeInstanceType": "large"}, "lab:nodeInstanceType 'large'"),
        ({"vpcCidr": "10.0.0.0/16"}, "outside the VPC 10.0.0.0/16"),
        (
            {"sshPublicKeyFile": "/nonexistent/id.pub"},
            "lab:sshPublicKeyFile /nonexistent/id.pub cannot be read",
        ),
        (
            {"subnets": json.dumps([{"zone": "us-east-1a", "cidr": "172.30.32.0/19"}])},
            "at least 2 availability zones",
        ),
    ],
)
def test_bad_config_registers_nothing(
    run_program: Any, base_config: dict[str, str], override: dict[str, str], expected: str
) -> None:
    run = run_program({**base_config, **override})
    assert run.error is not None
    assert expected in str(run.error)
    assert type(run.error).__name__ == "RunError"  # one line in `pulumi up`, no traceback
    assert [r.typ for r in run.mocks.resources if r.typ != "pulumi:pulumi:Stack"] == []


def test_missing_ssh_cidr_registers_nothing(run_program: Any, base_config: dict[str, str]) -> None:
    """A project without sshCidr's placeholder default: the model itself requires the key."""
    config = {k: v for k, v in base_config.items() if k != "sshCidr"}
    run = run_program(config, project_defaults=False)
    assert run.error is not None
    assert "lab:sshCidr is required" in str(run.error)
    assert [r for r in run.mocks.resources if r.typ != "pulumi:pulumi:Stack"] == []


def test_the_placeholder_default_reaches_the_program_and_registers_nothing(
    run_program: Any, base_config: dict[str, str]
) -> None:
    """No lab:sshCidr in the stack: Pulumi passes Pulumi.yaml's placeholder, which the program refuses."""
    config = {k: v for k, v in base_config.items() if k != "sshCidr"}
    run = run_program(config)
    assert run.error is not None
    assert "lab:sshCidr is 203.0.113.10/32, a documentation address" in str(run.error)
    assert [r for r in run.mocks.resources if r.typ != "pulumi:pulumi:Stack"] == []
