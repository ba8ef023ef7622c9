"""Ingress: the internet-facing NLB the ingress controller answers on, with a fixed Elastic IP per zone.

Created here rather than by the Load Balancer Controller from a Service so that (a) its DNS name, IPs and
listener ports are stack outputs before any addon runs (``ingress_address``, ``ingress_host``,
``ingress_http_port``, ``ingress_https_port``) and (b) ``pulumi destroy`` deletes it; an NLB left behind by a
controller would keep its network interfaces in the subnets and block their deletion. The ingress
controller's pods join the ``ip`` target groups through TargetGroupBindings
(``playbooks/roles/ingress_nginx``), whose ARNs are the stack output ``ingress_target_groups``.

Proxy protocol is off on the target groups: the stack exports the groups' own attribute
(``ingress_proxy_protocol``) and ingress-nginx's ``use-proxy-protocol`` follows it through the inventory, so
the two sides cannot disagree (nginx's "broken header").
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.envconfig.aws import INGRESS_PORTS, AwsConfig

PORTS = INGRESS_PORTS
# The NLB forwards plain TCP; ingress-nginx reads this setting back through the stack outputs.
PROXY_PROTOCOL = False


@dataclass(frozen=True)
class IngressArgs:
    config: AwsConfig
    vpc_id: pulumi.Input[str]
    subnet_ids: dict[str, pulumi.Input[str]]  # zone -> subnet id


def target_group_name(cfg: AwsConfig, port_name: str) -> str:
    """Deterministic and at most 32 characters (AWS's limit): a second ``pulumi up`` finds the same group."""
    return cfg.ingress_target_group_name(port_name)


class Ingress(pulumi.ComponentResource):
    def __init__(self, name: str, args: IngressArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lab:aws:Ingress", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        tags = {"lab/cluster": cfg.cluster_name, "lab/role": "ingress"}
        self.addresses = {
            zone: aws.ec2.Eip(
                f"{name}-{zone}", domain="vpc", tags={**tags, "Name": f"{cfg.short_name}-{zone}"}, opts=child
            )
            for zone in args.subnet_ids
        }
        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-nlb",
            name=f"{cfg.short_name}-ingress"[:32],
            load_balancer_type="network",
            internal=False,
            enable_cross_zone_load_balancing=True,
            subnet_mappings=[
                {"subnet_id": subnet_id, "allocation_id": self.addresses[zone].allocation_id}
                for zone, subnet_id in args.subnet_ids.items()
            ],
            tags=tags,
            opts=child,
        )
        self.target_groups: dict[str, aws.lb.TargetGroup] = {}
        self.ports: dict[str, pulumi.Output[int]] = {}  # listener port by name: the contract's ingress ports
        for port_name, port in PORTS.items():
            group = aws.lb.TargetGroup(
                f"{name}-{port_name}",
                name=target_group_name(cfg, port_name),
                port=port,
                protocol="TCP",
                target_type="ip",
                vpc_id=args.vpc_id,
                deregistration_delay=30,
                proxy_protocol_v2=PROXY_PROTOCOL,
                health_check={
                    "protocol": "TCP",
                    "interval": 10,
                    "healthy_threshold": 2,
                    "unhealthy_threshold": 2,
                },
                tags=tags,
                opts=child,
            )
            listener = aws.lb.Listener(
                f"{name}-{port_name}",
                load_balancer_arn=self.load_balancer.arn,
                port=port,
                protocol="TCP",
                default_actions=[{"type": "forward", "target_group_arn": group.arn}],
                tags=tags,
                opts=child,
            )
            self.target_groups[port_name] = group
            self.ports[port_name] = listener.port
        self.target_group_arns = {k: group.arn for k, group in self.target_groups.items()}
        self.proxy_protocol = pulumi.Output.all(
            *(group.proxy_protocol_v2 for group in self.target_groups.values())
        ).apply(_one_setting)
        first_zone = next(iter(args.subnet_ids))
        self.dns_name = self.load_balancer.dns_name
        # nip.io host of the first zone's fixed address: resolvable before any addon exists (TLS-1..3).
        self.host = self.addresses[first_zone].public_ip.apply(lambda ip: f"{ip.replace('.', '-')}.nip.io")
        self.register_outputs(
            {
                "dns_name": self.dns_name,
                "host": self.host,
                "ports": self.ports,
                "target_groups": self.target_group_arns,
                "proxy_protocol": self.proxy_protocol,
            }
        )


def _one_setting(values: list[bool | None]) -> bool:
    """The groups' shared proxy protocol v2 setting; groups that disagree would break one of the ports."""
    settings = {bool(v) for v in values}
    if len(settings) != 1:
        raise pulumi.RunError(f"the ingress target groups disagree on proxy protocol v2: {values}")
    return settings.pop()
