"""Bastion: the EC2 instance kops runs on, its key pair, and user data installing the pinned CLIs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.envconfig.aws import AwsConfig
from infra.renderers import bastion_user_data

CANONICAL = "099720109477"  # Ubuntu's AMI owner
UBUNTU_AMI = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"


@dataclass(frozen=True)
class BastionArgs:
    config: AwsConfig
    subnet_id: pulumi.Input[str]
    security_group_id: pulumi.Input[str]
    instance_profile: pulumi.Input[str]
    public_key: str


class Bastion(pulumi.ComponentResource):
    """Ubuntu 24.04 (latest Canonical build at creation; user data is pinned, the AMI is looked up once and
    then kept: ``ignore_changes`` stops a newer AMI from replacing a running bastion)."""

    def __init__(self, name: str, args: BastionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lab:aws:Bastion", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        tags = {"Name": f"{cfg.short_name}-bastion", "lab/cluster": cfg.cluster_name}
        ami = aws.ec2.get_ami_output(
            most_recent=True,
            owners=[CANONICAL],
            filters=[
                {"name": "name", "values": [UBUNTU_AMI]},
                {"name": "virtualization-type", "values": ["hvm"]},
            ],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.key_pair = aws.ec2.KeyPair(f"{name}-key", public_key=args.public_key, tags=tags, opts=child)
        self.user_data = bastion_user_data(cfg)
        self.instance = aws.ec2.Instance(
            f"{name}-instance",
            ami=ami.id,
            instance_type=cfg.bastion_instance_type,
            subnet_id=args.subnet_id,
            vpc_security_group_ids=[args.security_group_id],
            iam_instance_profile=args.instance_profile,
            key_name=self.key_pair.key_name,
            associate_public_ip_address=True,
            user_data=self.user_data,
            user_data_replace_on_change=True,
            metadata_options={"http_tokens": "required", "http_endpoint": "enabled"},
            root_block_device={"volume_size": 30, "volume_type": "gp3", "encrypted": True},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["ami"]),
        )
        self.public_ip = self.instance.public_ip
        self.private_ip = self.instance.private_ip
        self.register_outputs(
            {"public_ip": self.public_ip, "private_ip": self.private_ip, "key_name": self.key_pair.key_name}
        )
