"""AWS lab: an EC2 bastion and a kOps cluster with the AWS Load Balancer Controller (``pulumi up -s aws``).

Only wiring: config is read once (``aws_lab.config``), each concern is a component, and the outputs are
the contract both environments share (``infra.contract.OUTPUT_KEYS``) plus the aws extras the inventory needs
(``infra.contract.EXTRA_KEYS["aws"]``): nothing downstream asks AWS again.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws
from aws_lab import config as stack_config
from aws_lab.bastion import Bastion, BastionArgs
from aws_lab.cluster import Cluster, ClusterArgs
from aws_lab.iam import Iam, IamArgs
from aws_lab.ingress import Ingress, IngressArgs
from aws_lab.network import Network, NetworkArgs
from aws_lab.state import KopsState, KopsStateArgs

from infra.contract import export_outputs
from infra.errors import InfraError
from infra.kops import KopsInputs

try:
    cfg = stack_config.load()
    keys = stack_config.ssh_keys(cfg)
except InfraError as error:  # one line in `pulumi up`, no traceback, nothing registered
    raise pulumi.RunError(str(error)) from None

provider = aws.Provider("aws", region=cfg.region, default_tags={"tags": {"lab/environment": "aws"}})
opts = pulumi.ResourceOptions(providers={"aws": provider})

network = Network("network", NetworkArgs(cfg), opts)
iam = Iam("iam", IamArgs(cfg), opts)
state = KopsState("kops-state", KopsStateArgs(cfg), opts)
bastion = Bastion(
    "bastion",
    BastionArgs(
        cfg,
        subnet_id=network.subnet_ids[cfg.zones[0]],
        security_group_id=network.bastion_security_group.id,
        instance_profile=iam.bastion_profile.name,
        public_key=keys.public,
    ),
    opts,
)
ingress = Ingress("ingress", IngressArgs(cfg, vpc_id=network.vpc.id, subnet_ids=network.subnet_ids), opts)

kops_inputs = pulumi.Output.all(
    network.vpc.id,
    pulumi.Output.all(*network.subnet_ids.values()),
    state.bucket_name,
    iam.lbc_policy.arn,
    bastion.key_pair.key_name,
    network.ingress_targets_security_group.id,
    bastion.public_ip,
).apply(
    lambda v: KopsInputs(
        vpc_id=v[0],
        subnet_ids=dict(zip(network.subnet_ids, v[1], strict=True)),
        state_bucket=v[2],
        lbc_policy_arn=v[3],
        ssh_key_name=v[4],
        node_security_group_ids=(v[5],),
        bastion_public_ip=v[6],
    )
)
cluster = Cluster(
    "cluster",
    ClusterArgs(
        cfg,
        host=bastion.public_ip,
        private_key=keys.private,
        inputs=kops_inputs,
        # Everything the cluster lives in: `pulumi destroy` deletes the cluster before any of these.
        depends_on=[network, iam, state, bastion, ingress],
    ),
    opts,
)

outputs = {
    "environment": "aws",
    "kubeconfig": cluster.kubeconfig,
    "context": cfg.cluster_name,
    "ingress_address": ingress.dns_name,
    "ingress_host": ingress.host,
    "ingress_http_port": ingress.ports["http"],
    "ingress_https_port": ingress.ports["https"],
    "nfs_server": bastion.private_ip,
    "nfs_path": cfg.nfs_path,
    "nodes": cluster.nodes,
    # aws extras: the inventory is built from these alone
    "aws_region": cfg.region,
    "vpc_cidr": str(cfg.vpc_cidr),
    "bastion_address": bastion.public_ip,  # Ansible on the user's machine SSHes here (lab:sshCidr)
    "ssh_user": cfg.bastion_user,
    "ssh_private_key_file": str(Path(cfg.ssh_private_key_file).expanduser()),
    "ingress_target_groups": ingress.target_group_arns,
    "ingress_proxy_protocol": ingress.proxy_protocol,
}
export_outputs(outputs)
