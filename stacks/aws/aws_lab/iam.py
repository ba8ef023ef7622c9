"""IAM: the bastion's role and instance profile (what kOps needs), and the Load Balancer Controller policy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra.envconfig.aws import AwsConfig

# Written from the controller's documented permissions (docs/install/iam_policy.json upstream, v2.14 series).
LBC_POLICY_VERSION = "v2.14"
LBC_POLICY_FILE = (
    Path(__file__).resolve().parent.parent
    / "policies"
    / (f"aws-load-balancer-controller-{LBC_POLICY_VERSION}.iam_policy.json")
)
# The managed policies the kOps getting-started guide gives the identity that runs kops on AWS.
KOPS_MANAGED_POLICIES = (
    "AmazonEC2FullAccess",
    "AmazonRoute53FullAccess",
    "AmazonS3FullAccess",
    "IAMFullAccess",
    "AmazonVPCFullAccess",
    "AmazonSQSFullAccess",
    "AmazonEventBridgeFullAccess",
)
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def lbc_policy_document() -> str:
    """The controller policy as committed (parsed once so a broken file fails the program, not AWS)."""
    return json.dumps(json.loads(LBC_POLICY_FILE.read_text()))


@dataclass(frozen=True)
class IamArgs:
    config: AwsConfig


class Iam(pulumi.ComponentResource):
    def __init__(self, name: str, args: IamArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lab:aws:Iam", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        tags = {"lab/cluster": cfg.cluster_name}
        # kOps attaches it to the control-plane and node roles (spec.externalPolicies), see infra/kops.py.
        self.lbc_policy = aws.iam.Policy(
            f"{name}-aws-load-balancer-controller",
            description=f"AWS Load Balancer Controller {LBC_POLICY_VERSION} for {cfg.cluster_name}",
            policy=lbc_policy_document(),
            tags=tags,
            opts=child,
        )
        self.bastion_role = aws.iam.Role(
            f"{name}-bastion", assume_role_policy=json.dumps(EC2_TRUST), tags=tags, opts=child
        )
        self.attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-bastion-{policy}",
                role=self.bastion_role.name,
                policy_arn=f"arn:aws:iam::aws:policy/{policy}",
                opts=child,
            )
            for policy in KOPS_MANAGED_POLICIES
        ]
        self.bastion_profile = aws.iam.InstanceProfile(
            f"{name}-bastion", role=self.bastion_role.name, tags=tags, opts=child
        )
        self.register_outputs(
            {
                "lbc_policy_arn": self.lbc_policy.arn,
                "bastion_role": self.bastion_role.name,
                "bastion_instance_profile": self.bastion_profile.name,
            }
        )
