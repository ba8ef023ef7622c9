"""The local lab stack: wires the kind cluster and the NFS server together and exports the output contract.

Beyond the core keys it exports its host lists (``docker_hosts``), so the inventory needs nothing else.
"""

from __future__ import annotations

import pulumi
from kind_cluster import KindCluster, KindClusterArgs
from local_config import load
from nfs_server import NfsServer, NfsServerArgs

from infra.contract import export_outputs
from infra.errors import ConfigError

try:
    cfg = load()
except ConfigError as error:  # one clear line instead of the program's traceback
    raise pulumi.RunError(str(error)) from None

cluster = KindCluster("kind", KindClusterArgs(config=cfg))
nfs = NfsServer(
    "nfs",
    NfsServerArgs(
        container=cfg.nfs_container, volume=cfg.nfs_volume, image=cfg.nfs_image, export_path=cfg.nfs_path
    ),
    # kind creates the Docker network the container joins; on destroy the container goes first.
    opts=pulumi.ResourceOptions(depends_on=[cluster]),
)

outputs = {
    "environment": "local",
    "kubeconfig": cluster.kubeconfig,
    "context": cluster.context,
    "ingress_address": cfg.ingress_address,
    "ingress_host": cfg.ingress_host,
    # the host ports kind maps to 80/443 of the ingress node: what everything downstream connects to
    "ingress_http_port": cfg.http_port,
    "ingress_https_port": cfg.https_port,
    "nfs_server": nfs.address,
    "nfs_path": cfg.nfs_path,
    "nodes": cluster.nodes,
    # local extras: the containers Ansible reaches with `docker exec`, by inventory group
    "docker_hosts": {"kind_nodes": list(cluster.nodes), "nfs_server": [cfg.nfs_container]},
}
export_outputs(outputs)
