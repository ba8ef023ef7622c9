"""The kOps cluster spec (``kops.k8s.io/v1alpha2`` Cluster + InstanceGroups), rendered from AwsConfig.

Rendered in Python rather than by ``kops create cluster`` flags so that ``infra plan`` can show it offline
and our own checks (:func:`validate`) run before any AWS resource exists. The cluster reuses the VPC and
subnets the Pulumi stack creates (``networkID``, ``subnets[].id``), so ``pulumi destroy`` owns the network.

The AWS Load Balancer Controller policy is attached through ``spec.externalPolicies`` (keys ``master`` and
``node``: kOps keeps the pre-1.26 role names there). kOps then attaches it when it creates the roles and
detaches it before deleting them, which a Pulumi attachment to kOps-owned roles could not do in order.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from infra.envconfig.aws import AwsConfig
from infra.errors import ConfigError

API_VERSION = "kops.k8s.io/v1alpha2"
CLUSTER_LABEL = "kops.k8s.io/cluster"
INSTANCE_GROUP_LABEL = "kops.k8s.io/instancegroup"
CONTROL_PLANE_ROLE = "Master"  # v1alpha2 spelling of the control-plane role
NODE_ROLE = "Node"

# Enums of the fields we set, from the kOps v1alpha2 API types.
CLOUD_PROVIDERS = frozenset({"aws"})
SUBNET_TYPES = frozenset({"Public", "Private", "Utility"})
IG_ROLES = frozenset({"Master", "ControlPlane", "Node", "Bastion", "APIServer"})
LB_TYPES = frozenset({"Public", "Internal"})
LB_CLASSES = frozenset({"Classic", "Network"})
TOPOLOGIES = frozenset({"public", "private"})
EXTERNAL_POLICY_ROLES = frozenset({"master", "node", "bastion"})
NETWORKING_PROVIDERS = frozenset(
    {"amazonvpc", "calico", "cilium", "flannel", "kubenet", "kuberouter", "kindnet", "cni", "external"}
)
ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/.+$")


@dataclass(frozen=True)
class KopsInputs:
    """Values only known once Pulumi created the network, IAM policy, bucket and key pair."""

    vpc_id: str
    subnet_ids: Mapping[str, str]  # zone -> subnet id
    state_bucket: str
    lbc_policy_arn: str
    ssh_key_name: str
    node_security_group_ids: Sequence[str] = field(default_factory=tuple)
    # The bastion runs `kops validate` and kubectl against the internet-facing API NLB. That traffic leaves
    # through the internet gateway, so the NLB sees the bastion's public address, not one from the VPC:
    # without it in kubernetesApiAccess every call from the bastion times out.
    bastion_public_ip: str = ""


# What `infra plan` renders: the shape is real, the IDs are markers that `pulumi up` replaces.
PLACEHOLDER_INPUTS = KopsInputs(
    vpc_id="vpc-<created-by-pulumi>",
    subnet_ids={},
    state_bucket="<kops-state-bucket>",
    lbc_policy_arn="arn:aws:iam::000000000000:policy/<aws-load-balancer-controller>",
    ssh_key_name="<bastion-key-pair>",
    node_security_group_ids=("sg-<ingress-targets>",),
    bastion_public_ip="192.0.2.1",  # RFC 5737 marker for the bastion's public address
)


def state_store(inputs: KopsInputs) -> str:
    return f"s3://{inputs.state_bucket}"


def control_plane_groups(config: AwsConfig) -> list[str]:
    """One control-plane instance group per member, spread over the zones (kOps' own naming)."""
    zones = itertools.islice(itertools.cycle(config.zones), config.control_plane_count)
    names = [f"control-plane-{zone}" for zone in zones]
    if len(set(names)) != len(names):  # more members than zones: number them
        names = [f"{name}-{i}" for i, name in enumerate(names, start=1)]
    return names


def render_cluster(config: AwsConfig, inputs: KopsInputs) -> dict[str, Any]:
    control_planes = control_plane_groups(config)

    def etcd_members() -> list[
        dict[str, Any]
    ]:  # a fresh list per etcd cluster: no YAML anchors in the output
        return [
            {"encryptedVolume": True, "instanceGroup": ig, "name": chr(ord("a") + i)}
            for i, ig in enumerate(control_planes)
        ]

    subnets = []
    for subnet in config.subnets:
        entry: dict[str, Any] = {
            "cidr": str(subnet.cidr),
            "name": subnet.zone,
            "type": "Public",
            "zone": subnet.zone,
        }
        if subnet.zone in inputs.subnet_ids:
            entry["id"] = inputs.subnet_ids[subnet.zone]
        subnets.append(entry)
    vpc = str(config.vpc_cidr)
    api_access = {str(config.ssh_cidr), vpc}
    if inputs.bastion_public_ip:
        api_access.add(f"{inputs.bastion_public_ip}/32")
    return {
        "apiVersion": API_VERSION,
        "kind": "Cluster",
        "metadata": {"name": config.cluster_name},
        "spec": {
            "api": {"loadBalancer": {"class": "Network", "type": "Public"}},
            "authorization": {"rbac": {}},
            "awsLoadBalancerController": {"enabled": True},
            "certManager": {"enabled": True},
            "channel": "stable",
            "cloudProvider": "aws",
            "configBase": f"{state_store(inputs)}/{config.cluster_name}",
            "etcdClusters": [{"name": name, "etcdMembers": etcd_members()} for name in ("main", "events")],
            "externalPolicies": {"master": [inputs.lbc_policy_arn], "node": [inputs.lbc_policy_arn]},
            "iam": {"allowContainerRegistry": True, "legacy": False},
            # No serverTLSBootstrap: on AWS kops-controller bootstraps the nodes and issues each kubelet a
            # serving certificate signed by the cluster CA, which metrics-server verifies (no insecure TLS).
            "kubelet": {"anonymousAuth": False},
            # The API answers the user's machine (kubeconfig output), the bastion (its public address, see
            # KopsInputs.bastion_public_ip) and clients inside the VPC.
            "kubernetesApiAccess": sorted(api_access),
            "kubernetesVersion": config.kubernetes_version,
            "networkCIDR": vpc,
            "networkID": inputs.vpc_id,
            # amazonvpc: pods take VPC addresses, which is what lets an NLB in IP mode target them.
            "networking": {"amazonvpc": {}},
            "nonMasqueradeCIDR": vpc,
            "sshAccess": [vpc],  # nodes are reached through the bastion only
            "sshKeyName": inputs.ssh_key_name,
            "subnets": subnets,
            "topology": {"masters": "public", "nodes": "public"},
        },
    }


def render_instance_groups(config: AwsConfig, inputs: KopsInputs) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for name, zone in zip(control_plane_groups(config), itertools.cycle(config.zones), strict=False):
        groups.append(
            _instance_group(config, name, CONTROL_PLANE_ROLE, config.control_plane_instance_type, 1, [zone])
        )
    nodes = _instance_group(
        config, "nodes", NODE_ROLE, config.node_instance_type, config.node_count, config.zones
    )
    if inputs.node_security_group_ids:
        nodes["spec"]["additionalSecurityGroups"] = list(inputs.node_security_group_ids)
    groups.append(nodes)
    return groups


def _instance_group(
    config: AwsConfig, name: str, role: str, machine_type: str, size: int, zones: Sequence[str]
) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "InstanceGroup",
        "metadata": {"name": name, "labels": {CLUSTER_LABEL: config.cluster_name}},
        "spec": {
            "machineType": machine_type,
            "maxSize": size,
            "minSize": size,
            "nodeLabels": {INSTANCE_GROUP_LABEL: name},
            "role": role,
            "subnets": list(zones),
        },
    }


def render(config: AwsConfig, inputs: KopsInputs) -> list[dict[str, Any]]:
    """The Cluster followed by its InstanceGroups, validated (raises ConfigError on our own rules)."""
    documents = [render_cluster(config, inputs), *render_instance_groups(config, inputs)]
    validate(documents)
    return documents


def render_yaml(config: AwsConfig, inputs: KopsInputs) -> str:
    """The multi-document YAML ``kops create -f`` reads."""
    return yaml.safe_dump_all(render(config, inputs), sort_keys=False, default_flow_style=False)


# --- validation -------------------------------------------------------------------------------------------


def validate(documents: Sequence[Mapping[str, Any]]) -> None:
    """Our own checks of a kOps spec: required fields, enums, CIDRs inside the VPC, add-on dependencies,
    and settings that would break an addon (kubelet serving certificates metrics-server must verify).

    kOps validates too, but only on the bastion after the network exists; these run offline and first.
    """
    problems = find_problems(documents)
    if problems:
        raise ConfigError(
            "kOps cluster spec is invalid: " + "; ".join(problems),
            "fix the `lab:` keys it comes from (stacks/aws/Pulumi.yaml defaults, your Pulumi.aws.yaml)",
        )


def find_problems(documents: Sequence[Mapping[str, Any]]) -> list[str]:
    clusters = [d for d in documents if d.get("kind") == "Cluster"]
    groups = [d for d in documents if d.get("kind") == "InstanceGroup"]
    problems = [
        f"document {i}: apiVersion must be {API_VERSION}"
        for i, d in enumerate(documents)
        if d.get("apiVersion") != API_VERSION
    ]
    if len(clusters) != 1:
        return [*problems, f"expected exactly one Cluster, found {len(clusters)}"]
    cluster = clusters[0]
    name = _get(cluster, "metadata.name")
    spec = cluster.get("spec") or {}
    for path in ("kubernetesVersion", "networkCIDR", "configBase", "subnets", "etcdClusters", "networking"):
        if not spec.get(path):
            problems.append(f"Cluster spec.{path} is required")
    if not name:
        problems.append("Cluster metadata.name is required")
    problems += _enum(spec.get("cloudProvider"), CLOUD_PROVIDERS, "spec.cloudProvider")
    problems += _enum(
        _get(spec, "api.loadBalancer.type"), LB_TYPES, "spec.api.loadBalancer.type", optional=True
    )
    problems += _enum(
        _get(spec, "api.loadBalancer.class"), LB_CLASSES, "spec.api.loadBalancer.class", optional=True
    )
    for key in ("masters", "nodes"):
        problems += _enum(_get(spec, f"topology.{key}"), TOPOLOGIES, f"spec.topology.{key}", optional=True)
    networking = spec.get("networking") or {}
    if len(networking) != 1 or not set(networking) <= NETWORKING_PROVIDERS:
        problems.append(f"spec.networking must name exactly one of {sorted(NETWORKING_PROVIDERS)}")
    if _get(spec, "awsLoadBalancerController.enabled") and not _get(spec, "certManager.enabled"):
        problems.append("spec.awsLoadBalancerController.enabled requires spec.certManager.enabled: true")
    if _get(spec, "kubelet.serverTLSBootstrap"):
        problems.append(
            "spec.kubelet.serverTLSBootstrap makes kubelets wait for kubelet-serving CSRs that nothing in "
            "kOps approves; leave it unset: kops-controller already issues CA-signed serving certificates"
        )
    for role, arns in (spec.get("externalPolicies") or {}).items():
        problems += _enum(role, EXTERNAL_POLICY_ROLES, "spec.externalPolicies key")
        problems += [
            f"spec.externalPolicies.{role}: '{a}' is not an IAM policy ARN" for a in arns if not ARN.match(a)
        ]
    problems += _cidr_problems(spec)
    problems += _group_problems(name, spec, groups)
    return problems


def _cidr_problems(spec: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    vpc = _network(spec.get("networkCIDR"), "spec.networkCIDR", problems)
    fields = [(f"spec.subnets[{s.get('name')}].cidr", s.get("cidr")) for s in spec.get("subnets") or []]
    fields.append(("spec.nonMasqueradeCIDR", spec.get("nonMasqueradeCIDR")))
    for label, value in fields:
        net = _network(value, label, problems)
        if (
            net is not None
            and vpc is not None
            and label != "spec.nonMasqueradeCIDR"
            and not net.subnet_of(vpc)
        ):
            problems.append(f"{label} {net} is outside networkCIDR {vpc}")
    for label, values in (
        ("sshAccess", spec.get("sshAccess")),
        ("kubernetesApiAccess", spec.get("kubernetesApiAccess")),
    ):
        for value in values or []:
            _network(value, f"spec.{label}", problems)
    for subnet in spec.get("subnets") or []:
        problems += _enum(subnet.get("type"), SUBNET_TYPES, f"spec.subnets[{subnet.get('name')}].type")
        for key in ("name", "zone", "cidr"):
            if not subnet.get(key):
                problems.append(f"spec.subnets entry is missing {key}")
    return problems


def _group_problems(
    name: str | None, spec: Mapping[str, Any], groups: Sequence[Mapping[str, Any]]
) -> list[str]:
    problems: list[str] = []
    subnet_names = {s.get("name") for s in spec.get("subnets") or []}
    control_planes = set()
    for group in groups:
        ig = _get(group, "metadata.name") or "<unnamed>"
        ig_spec = group.get("spec") or {}
        labels = _get(group, "metadata.labels") or {}  # label keys hold dots: not reachable by _get
        if labels.get(CLUSTER_LABEL) != name:
            problems.append(f"InstanceGroup {ig}: label {CLUSTER_LABEL} must be the cluster name '{name}'")
        problems += _enum(ig_spec.get("role"), IG_ROLES, f"InstanceGroup {ig} spec.role")
        if ig_spec.get("role") in ("Master", "ControlPlane"):
            control_planes.add(ig)
        if not ig_spec.get("machineType"):
            problems.append(f"InstanceGroup {ig}: spec.machineType is required")
        low, high = ig_spec.get("minSize"), ig_spec.get("maxSize")
        if not isinstance(low, int) or not isinstance(high, int) or not 0 <= low <= high:
            problems.append(f"InstanceGroup {ig}: need integers 0 <= minSize <= maxSize, got {low}/{high}")
        unknown = [s for s in ig_spec.get("subnets") or [] if s not in subnet_names]
        if not ig_spec.get("subnets") or unknown:
            problems.append(f"InstanceGroup {ig}: spec.subnets must name cluster subnets, unknown {unknown}")
    if not control_planes:
        problems.append("no control-plane InstanceGroup (role Master)")
    if not any((g.get("spec") or {}).get("role") == "Node" for g in groups):
        problems.append("no node InstanceGroup (role Node)")
    for etcd in spec.get("etcdClusters") or []:
        members = {m.get("instanceGroup") for m in etcd.get("etcdMembers") or []}
        if members != control_planes:
            problems.append(
                f"etcd cluster {etcd.get('name')}: members {sorted(members)} must be the control-plane "
                f"groups {sorted(control_planes)}"
            )
        if len(members) % 2 == 0:
            problems.append(f"etcd cluster {etcd.get('name')}: an even member count has no quorum")
    return problems


def _enum(value: Any, allowed: frozenset[str], label: str, *, optional: bool = False) -> list[str]:
    if value is None and optional:
        return []
    if value not in allowed:
        return [f"{label} '{value}' is not one of {sorted(allowed)}"]
    return []


def _network(value: Any, label: str, problems: list[str]) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(str(value), strict=True)
    except ValueError:
        problems.append(f"{label} '{value}' is not an IPv4 CIDR")
        return None


def _get(obj: Mapping[str, Any], dotted: str) -> Any:
    """``_get(spec, "api.loadBalancer.type")``; None when any step is missing."""
    current: Any = obj
    for part in dotted.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current
