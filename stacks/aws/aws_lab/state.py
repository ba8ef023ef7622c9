"""kOps state store: a private, versioned, encrypted S3 bucket."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.envconfig.aws import AwsConfig


@dataclass(frozen=True)
class KopsStateArgs:
    config: AwsConfig


class KopsState(pulumi.ComponentResource):
    """Versioning keeps earlier cluster specs (kOps' own recommendation); ``force_destroy`` lets
    ``pulumi destroy`` remove the bucket with those versions after ``kops delete cluster`` emptied it."""

    def __init__(self, name: str, args: KopsStateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lab:aws:KopsState", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket_prefix=f"{args.config.short_name}-kops-state-",
            force_destroy=True,
            tags={"lab/cluster": args.config.cluster_name},
            opts=child,
        )
        self.ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        self.versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        self.bucket_name = self.bucket.bucket
        self.register_outputs({"bucket": self.bucket_name})
