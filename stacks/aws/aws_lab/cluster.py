"""Cluster: kOps creates, updates, validates and deletes the cluster from the bastion over SSH.

``pulumi_command.remote.Command`` runs the scripts below. The component depends on the network, IAM, state
bucket, bastion and ingress NLB, so ``pulumi destroy`` runs the delete script (LoadBalancer Services first,
then ``kops delete cluster``) before any of those are removed.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from infra import kops
from infra.envconfig.aws import AwsConfig

SPEC_PATH = "~/lab/kops-cluster.yaml"
KUBECONFIG_TTL = "8760h"  # admin credentials in the kubeconfig output: one year, for a lab cluster
VALIDATE_WAIT = "25m"
READY_MARKER = "/var/lib/lab-bastion-ready"


def _preamble(cfg: AwsConfig, bucket: str) -> list[str]:
    return [
        "set -euo pipefail",
        # user data may still be running when SSH first answers; its marker says the CLIs are verified
        "cloud-init status --wait >/dev/null 2>&1 || true",
        f"test -f {READY_MARKER} || {{ echo 'bastion bootstrap failed:"
        " see /var/log/cloud-init-output.log' >&2; exit 1; }",
        f"export KOPS_STATE_STORE={shlex.quote('s3://' + bucket)}",
        f"export AWS_REGION={shlex.quote(cfg.region)}",
        f"export KOPS_CLUSTER_NAME={shlex.quote(cfg.cluster_name)}",
    ]


def apply_script(cfg: AwsConfig, bucket: str) -> str:
    """Create or replace the spec (read from stdin), apply it, and wait until the cluster validates."""
    return "\n".join(
        [
            *_preamble(cfg, bucket),
            "mkdir -p ~/lab",
            f"cat > {SPEC_PATH}",
            "if kops get cluster >/dev/null 2>&1; then",
            f"  kops replace -f {SPEC_PATH}",
            "else",
            f"  kops create -f {SPEC_PATH}",
            "fi",
            "kops update cluster --yes",
            f"kops export kubecfg --admin={KUBECONFIG_TTL}",
            f"kops validate cluster --wait {VALIDATE_WAIT}",
        ]
    )


def delete_script(cfg: AwsConfig, bucket: str) -> str:
    """Delete LoadBalancer Services first (the controller then deletes their NLBs, whose network interfaces
    would otherwise keep the subnets alive), then the cluster. A cluster already gone is not an error."""
    lb_services = (
        'kubectl get svc -A -o jsonpath=\'{range .items[?(@.spec.type=="LoadBalancer")]}'
        '{.metadata.namespace}{" "}{.metadata.name}{"\\n"}{end}\''
    )
    return "\n".join(
        [
            *_preamble(cfg, bucket),
            "if ! kops get cluster >/dev/null 2>&1; then echo 'cluster already deleted'; exit 0; fi",
            "kops export kubecfg --admin=1h || true",
            # best effort: an API that does not answer must not stop `kops delete cluster` (pipefail + -e)
            f"{{ {lb_services} 2>/dev/null || true; }} | while read -r ns name; do",
            '  [ -n "$name" ] && kubectl delete svc -n "$ns" "$name" --wait=true --timeout=300s || true',
            "done",
            "kops delete cluster --yes",
        ]
    )


def kubeconfig_script(cfg: AwsConfig, bucket: str) -> str:
    """Print a kubeconfig with admin credentials for the cluster (the stack's secret ``kubeconfig``)."""
    return "\n".join(
        [
            *_preamble(cfg, bucket),
            'tmp="$(mktemp)"',
            f'kops export kubecfg --admin={KUBECONFIG_TTL} --kubeconfig "$tmp" >/dev/null 2>&1',
            'cat "$tmp"',
            'rm -f "$tmp"',
        ]
    )


def nodes_script(cfg: AwsConfig, bucket: str) -> str:
    return "\n".join(
        [
            *_preamble(cfg, bucket),
            "kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}{\"\\n\"}{end}'",
        ]
    )


@dataclass(frozen=True)
class ClusterArgs:
    config: AwsConfig
    host: pulumi.Input[str]
    private_key: pulumi.Input[str]
    inputs: pulumi.Input[kops.KopsInputs]
    depends_on: Sequence[pulumi.Resource]


class Cluster(pulumi.ComponentResource):
    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lab:aws:Cluster", name, None, opts)
        cfg = args.config
        connection = remote.ConnectionArgsDict(
            host=args.host,
            user=cfg.bastion_user,
            private_key=args.private_key,
            dial_error_limit=60,  # the bastion boots while the first dials fail
            per_dial_timeout=15,
        )
        inputs = pulumi.Output.from_input(args.inputs)
        self.spec = inputs.apply(lambda i: kops.render_yaml(cfg, i))
        bucket = inputs.apply(lambda i: i.state_bucket)
        self.apply = remote.Command(
            f"{name}-kops",
            connection=connection,
            create=bucket.apply(lambda b: apply_script(cfg, b)),
            update=bucket.apply(lambda b: apply_script(cfg, b)),
            delete=bucket.apply(lambda b: delete_script(cfg, b)),
            stdin=self.spec,
            triggers=[self.spec],
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(args.depends_on),
                custom_timeouts=pulumi.CustomTimeouts(create="45m", update="45m", delete="30m"),
            ),
        )
        after_apply = pulumi.ResourceOptions(parent=self, depends_on=[self.apply])
        self.kubeconfig_command = remote.Command(
            f"{name}-kubeconfig",
            connection=connection,
            create=bucket.apply(lambda b: kubeconfig_script(cfg, b)),
            triggers=[self.apply.id, self.spec],
            logging="none",
            opts=pulumi.ResourceOptions.merge(
                after_apply, pulumi.ResourceOptions(additional_secret_outputs=["stdout"])
            ),
        )
        self.nodes_command = remote.Command(
            f"{name}-nodes",
            connection=connection,
            create=bucket.apply(lambda b: nodes_script(cfg, b)),
            triggers=[self.apply.id, self.spec],
            opts=after_apply,
        )
        self.kubeconfig = pulumi.Output.secret(self.kubeconfig_command.stdout)
        self.nodes = self.nodes_command.stdout.apply(lambda out: sorted(out.split()))
        self.register_outputs({"nodes": self.nodes, "context": cfg.cluster_name})
