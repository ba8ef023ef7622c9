"""What an environment's config renders: the kind config, the bastion's user data, ``infra plan``'s plans.

The config models (:mod:`infra.envconfig`) only read and validate the ``lab:`` keys; the files made from
them are rendered here (the kOps spec in :mod:`infra.kops`), for the Pulumi programs and ``infra plan``
alike. :data:`PLANNERS` names the plan of each environment, so the flow from ``infra plan`` to the config is
plain imports.

The kind config's and the user data's texts are inputs of running resources (the kind cluster command's
stdin, the bastion's ``user_data``): a changed byte replaces the cluster or the bastion on the next
``pulumi up``, so their header comments stay as they were written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import yaml

from infra import kops
from infra.envconfig import aws, local
from infra.envconfig.aws import AwsConfig
from infra.envconfig.local import KIND_NETWORK, KIND_VERSION, LocalConfig


@dataclass
class EnvPlan:
    """One environment's offline plan.

    ``creates``: human-readable lines of what ``up`` would create (one per resource group).
    ``artifacts``: rendered configuration by file name (``kind-config.yaml``, ``kops-cluster.yaml``), which
    ``infra plan`` writes under ``.infra/<env>/plan/`` for inspection.
    """

    environment: str
    creates: list[str] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)


def render_kind_config(cfg: LocalConfig) -> str:
    """The kind cluster config YAML that ``kind create cluster --config -`` reads."""
    header = (
        f"# kind {KIND_VERSION} cluster config, rendered by infra/envconfig/local.py from the lab: keys\n"
    )
    return header + yaml.safe_dump(cfg.kind_cluster(), sort_keys=False, default_flow_style=False)


def bastion_user_data(config: AwsConfig) -> str:
    """cloud-init script of the bastion: pinned kops, kubectl and helm, each refused unless its sha256 fits.

    It ends by writing a marker file the cluster step waits for, so a failed download stops ``pulumi up`` with
    the pointer to the cloud-init log instead of a kops "command not found" later.
    """
    tools = (
        ("kops", aws.kops_url(config.kops), config.kops.sha256),
        ("kubectl", aws.kubectl_url(config.kubectl), config.kubectl.sha256),
    )
    lines = [
        "#!/bin/bash",
        "# Bastion bootstrap rendered by infra/envconfig/aws.py: pinned CLIs, each checked by sha256.",
        "set -euo pipefail",
        "export DEBIAN_FRONTEND=noninteractive",
        # first boot: apt-daily/unattended-upgrades may hold the dpkg lock; wait for it instead of failing
        "apt-get -o DPkg::Lock::Timeout=600 update -q",
        "apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends ca-certificates curl tar",
        'work="$(mktemp -d)"',
        "fetch() {  # fetch URL FILE SHA256: download, then refuse it unless the checksum matches",
        '  curl -fsSL --retry 5 --retry-delay 5 -o "$2" "$1"',
        '  echo "$3  $2" | sha256sum --check --strict -',
        "}",
    ]
    for name, url, sha in tools:
        lines += [
            f'fetch {url} "$work/{name}" {sha}',
            f'install -m 0755 "$work/{name}" /usr/local/bin/{name}',
        ]
    lines += [
        f'fetch {aws.helm_url(config.helm)} "$work/helm.tar.gz" {config.helm.sha256}',
        'tar -xzf "$work/helm.tar.gz" -C "$work" linux-amd64/helm',
        'install -m 0755 "$work/linux-amd64/helm" /usr/local/bin/helm',
        'rm -rf "$work"',
        "kops version && kubectl version --client && helm version --short",
        "touch /var/lib/lab-bastion-ready",
        "",
    ]
    return "\n".join(lines)


def plan_local(config: LocalConfig | None = None) -> EnvPlan:
    """What ``infra up --env local`` would create, and the rendered kind config, offline."""
    cfg = config or local.load_config()
    api = (
        f"{cfg.api_server_address}:{cfg.api_server_port}"
        if cfg.api_server_port
        else (f"{cfg.api_server_address} (a free port kind picks)")
    )
    listen = cfg.ingress_listen_address
    creates = [
        f"kind cluster '{cfg.cluster_name}' (kind {KIND_VERSION}): {cfg.control_planes} control plane + "
        f"{cfg.workers} workers, node image {cfg.node_image}",
        f"ingress: host {listen}:{cfg.http_port} and {listen}:{cfg.https_port} -> node {cfg.ingress_node} "
        f"ports 80/443 (label ingress-ready=true), host {cfg.ingress_host}",
        f"API server on {api}; kubeconfig context {cfg.context}",
        f"NFS server container {cfg.nfs_container} ({cfg.nfs_image}; Ansible runs NFS-Ganesha in it) on the "
        f"'{KIND_NETWORK}' Docker network, "
        f"export {cfg.nfs_path} on volume {cfg.nfs_volume}",
    ]
    return EnvPlan(
        environment="local", creates=creates, artifacts={"kind-config.yaml": render_kind_config(cfg)}
    )


def plan_aws(config: AwsConfig | None = None) -> EnvPlan:
    """What ``infra up --env aws`` would create, and the rendered kOps spec and bastion user data, offline."""
    cfg = config or aws.load_config()
    spec = kops.render_yaml(cfg, kops.PLACEHOLDER_INPUTS)
    zones = ", ".join(f"{s.zone} {s.cidr}" for s in cfg.subnets)
    creates = [
        f"network: VPC {cfg.vpc_cidr} in {cfg.region}, public subnets {zones}, internet gateway, routes",
        f"security: SSH to the bastion from {cfg.ssh_cidr} only; NFS and ingress ports from {cfg.vpc_cidr}",
        "iam: bastion role + instance profile (kOps permissions), AWS Load Balancer Controller policy",
        "kops state: private S3 bucket, versioned, SSE-S3 encrypted, public access blocked",
        f"bastion: {cfg.bastion_instance_type} with kops {cfg.kops.version}, kubectl {cfg.kubectl.version}, "
        f"helm {cfg.helm.version} (sha256 verified); NFS export {cfg.nfs_path}",
        "ingress: internet-facing NLB with an Elastic IP per zone, ip target groups for ports 80 and 443",
        f"cluster: kOps {cfg.cluster_name}, Kubernetes {cfg.kubernetes_version}, "
        f"{cfg.control_plane_count} x {cfg.control_plane_instance_type} control plane + "
        f"{cfg.node_count} x {cfg.node_instance_type} nodes, amazonvpc CNI, AWS Load Balancer Controller",
    ]
    return EnvPlan(
        environment="aws",
        creates=creates,
        artifacts={"kops-cluster.yaml": spec, "bastion-user-data.sh": bastion_user_data(cfg)},
    )


# The offline plan of each environment, by name (``infra plan`` looks an environment up here).
PLANNERS: dict[str, Callable[[], EnvPlan]] = {"local": plan_local, "aws": plan_aws}
