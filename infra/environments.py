"""The environments the toolkit can stand up, and what each one is made of."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from infra.errors import InfraError
from infra.paths import MANIFESTS_DIR, STACKS_DIR


@dataclass(frozen=True)
class Environment:
    name: str
    description: str
    kube_version: str  # Kubernetes minor the environment runs, used for strict schemas ("1.35")
    # StorageClasses and IngressClasses the environment provides once it is up (``infra check``'s
    # STORAGE-CLASS and INGRESS-CLASS rules compare manifests with these)
    storage_classes: tuple[str, ...] = ()
    ingress_classes: tuple[str, ...] = ()

    @property
    def stack_dir(self) -> Path:
        return STACKS_DIR / self.name

    @property
    def stack_name(self) -> str:
        return self.name

    @property
    def manifests(self) -> Path:
        return MANIFESTS_DIR / "envs" / self.name


# nfs-client: the nfs_provisioner addon's StorageClass; nginx: the ingress_nginx addon's IngressClass.
NFS_CLASS, NGINX_CLASS = "nfs-client", "nginx"
ENVIRONMENTS: dict[str, Environment] = {
    "local": Environment(
        "local",
        "kind cluster in Docker on this machine",
        kube_version="1.35",
        storage_classes=("standard", NFS_CLASS),  # standard: kind's default (rancher local-path-provisioner)
        ingress_classes=(NGINX_CLASS,),
    ),
    "aws": Environment(
        "aws",
        "EC2 bastion + kOps cluster on AWS",
        kube_version="1.35",
        # kOps' storage-aws addon (upup/models/cloudup/resources/addons/storage-aws.addons.k8s.io): default,
        # gp2 and kops-ssd-1-17 (in-tree EBS), kops-csi-1-21 (gp3, EBS CSI driver; the default class)
        storage_classes=("default", "gp2", "kops-ssd-1-17", "kops-csi-1-21", NFS_CLASS),
        # alb: the AWS Load Balancer Controller kOps installs (the aws_lb_controller role checks it exists)
        ingress_classes=(NGINX_CLASS, "alb"),
    ),
}
DEFAULT_ENV = "local"


def get_environment(name: str) -> Environment:
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        known = ", ".join(ENVIRONMENTS)
        raise InfraError(f"unknown environment '{name}'", f"use one of: {known}") from None


def select(name: str) -> list[Environment]:
    """``all`` or one environment name -> the environments to act on."""
    if name == "all":
        return list(ENVIRONMENTS.values())
    return [get_environment(name)]
