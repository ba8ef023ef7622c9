"""Network: VPC, public subnets in every configured zone, internet gateway, routes, security groups."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.envconfig.aws import AwsConfig

ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class NetworkArgs:
    config: AwsConfig


class Network(pulumi.ComponentResource):
    """The VPC the kOps cluster reuses (``networkID``): Pulumi creates it, so ``pulumi destroy`` removes it.

    Subnets carry the tags the AWS Load Balancer Controller discovers internet-facing subnets by
    (``kubernetes.io/role/elb``) and mark the VPC as shared with the cluster.
    """

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lab:aws:Network", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        vpc_cidr = str(cfg.vpc_cidr)
        tags = {"Name": cfg.short_name, "lab/cluster": cfg.cluster_name}

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=tags,
            opts=child,
        )
        self.gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, tags=tags, opts=child)
        self.route_table = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=self.vpc.id,
            routes=[{"cidr_block": ANYWHERE, "gateway_id": self.gateway.id}],
            tags=tags,
            opts=child,
        )
        self.subnets: dict[str, aws.ec2.Subnet] = {}
        for subnet in cfg.subnets:
            resource = aws.ec2.Subnet(
                f"{name}-{subnet.zone}",
                vpc_id=self.vpc.id,
                cidr_block=str(subnet.cidr),
                availability_zone=subnet.zone,
                map_public_ip_on_launch=True,
                tags={
                    **tags,
                    "Name": f"{cfg.short_name}-{subnet.zone}",
                    "kubernetes.io/role/elb": "1",
                    f"kubernetes.io/cluster/{cfg.cluster_name}": "shared",
                },
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-{subnet.zone}", subnet_id=resource.id, route_table_id=self.route_table.id, opts=child
            )
            self.subnets[subnet.zone] = resource

        egress = [{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": [ANYWHERE]}]
        self.bastion_security_group = aws.ec2.SecurityGroup(
            f"{name}-bastion",
            description="Bastion: SSH from the configured CIDR; NFS for the cluster inside the VPC",
            vpc_id=self.vpc.id,
            ingress=[
                {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": [str(cfg.ssh_cidr)]},
                *(
                    {"protocol": proto, "from_port": port, "to_port": port, "cidr_blocks": [vpc_cidr]}
                    for port in (111, 2049)  # rpcbind + nfsd: the NFS provisioner mounts from the nodes
                    for proto in ("tcp", "udp")
                ),
            ],
            egress=egress,
            tags={**tags, "Name": f"{cfg.short_name}-bastion"},
            opts=child,
        )
        # Attached to the node instance group by kOps (additionalSecurityGroups): the ingress NLB targets
        # pod IPs and, without client IP preservation, connects from its own private addresses in the VPC.
        self.ingress_targets_security_group = aws.ec2.SecurityGroup(
            f"{name}-ingress-targets",
            description="Ingress controller pods: HTTP/HTTPS from the ingress NLB inside the VPC",
            vpc_id=self.vpc.id,
            ingress=[
                {"protocol": "tcp", "from_port": port, "to_port": port, "cidr_blocks": [vpc_cidr]}
                for port in (80, 443)
            ],
            egress=egress,
            tags={**tags, "Name": f"{cfg.short_name}-ingress-targets"},
            opts=child,
        )
        self.subnet_ids = {zone: subnet.id for zone, subnet in self.subnets.items()}
        self.register_outputs(
            {
                "vpc_id": self.vpc.id,
                "subnet_ids": self.subnet_ids,
                "bastion_security_group_id": self.bastion_security_group.id,
                "ingress_targets_security_group_id": self.ingress_targets_security_group.id,
            }
        )
