"""The lab's NFS server container on kind's Docker network, created and destroyed with the stack.

Why the stack creates it rather than Ansible: the stack must export the server's IP (the kubelet resolves the
NFS server with the node's resolver, so the provisioner needs an IP), and Docker only knows that IP
once the container runs; kind's network gets its IPv4 subnet from Docker's IPAM, so a fixed ``--ip`` is
refused ("user specified IP address is supported only when connecting to networks with user configured
subnets"). Creating the container here makes the IP an ordinary stack output and ties its lifetime to the
cluster (``pulumi destroy`` removes both). What it serves is Ansible's: the ``nfs_server`` role reaches the
container through the inventory (community.docker connection) and installs, configures and starts
NFS-Ganesha in it. See README.md.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

import pulumi
from pulumi_command import local

from infra.envconfig.local import KIND_NETWORK
from infra.ownership import OWNERSHIP_LABELS

# NFS-Ganesha's VFS backend opens files by handle (CAP_DAC_READ_SEARCH) and raises its open-file limit
# (CAP_SYS_RESOURCE); nothing more is granted. --init reaps the daemons Ansible starts with `docker exec`.
CAPABILITIES = ("DAC_READ_SEARCH", "SYS_RESOURCE")


@dataclass
class NfsServerArgs:
    container: str
    volume: str  # a Docker volume: exporting from the container's overlay filesystem is not supported
    image: str
    export_path: str
    network: str = KIND_NETWORK


def run_script(args: NfsServerArgs) -> str:
    """Start the container (replacing a leftover of the same name), then print its IPv4 address."""
    labels = " ".join(f"--label {shlex.quote(f'{k}={v}')}" for k, v in OWNERSHIP_LABELS.items())
    caps = " ".join(f"--cap-add {cap}" for cap in CAPABILITIES)
    ip_format = shlex.quote(f'{{{{ (index .NetworkSettings.Networks "{args.network}").IPAddress }}}}')
    return "\n".join(
        [
            "set -eu",
            f"docker rm --force {args.container} >/dev/null 2>&1 || true",
            f"docker run --detach --init --name {args.container} --hostname {args.container} "
            f"--network {args.network} --restart unless-stopped {caps} {labels} "
            f"--volume {args.volume}:{args.export_path} {args.image} sleep infinity >/dev/null",
            f"docker inspect --format {ip_format} {args.container}",
        ]
    )


def remove_script(args: NfsServerArgs) -> str:
    return f"docker rm --force {args.container} && docker volume rm --force {args.volume}"


class NfsServer(pulumi.ComponentResource):
    """Exposes ``address``: the container's IPv4 address on the kind network."""

    address: pulumi.Output[str]

    def __init__(self, name: str, args: NfsServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lab:local:NfsServer", name, None, opts)
        script = run_script(args)
        self.container = local.Command(
            f"{name}-container",
            create=script,
            delete=remove_script(args),
            triggers=[script],
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True, replace_on_changes=["*"]),
        )
        self.address = self.container.stdout.apply(lambda out: out.strip())
        self.register_outputs({"address": self.address})
