"""AWS calls outside Pulumi: preflight checks before ``up`` and the probes of the NLB labs (NLB-1..3).

Everything goes through :class:`AwsApi`, whose ``endpoint_url`` is injectable so tests (and a local moto
server) answer the same boto3 calls over real HTTP. Decision logic (:func:`compare_targets`) is pure and
unit-tested on its own; the live probes only gather its inputs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from infra.errors import ConfigError, InfraError

CREDENTIALS_HINT = (
    "configure AWS credentials (`aws configure`, `aws sso login`, or AWS_PROFILE / AWS_ACCESS_KEY_ID) "
    "and check them with `aws sts get-caller-identity`"
)
# Probes must fail fast and say why, not hang in botocore's default retry loop.
CLIENT_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=20)


@dataclass(frozen=True)
class CallerIdentity:
    account: str
    arn: str


@dataclass(frozen=True)
class LoadBalancer:
    arn: str
    name: str
    dns_name: str
    type: str  # "network" | "application" | "gateway"
    scheme: str  # "internet-facing" | "internal"
    vpc_id: str
    state: str


@dataclass(frozen=True)
class TargetGroup:
    arn: str
    name: str
    port: int
    protocol: str
    target_type: str  # "ip" | "instance" | ...


@dataclass(frozen=True)
class Target:
    id: str  # an IP for ip target groups
    port: int
    state: str  # initial | healthy | unhealthy | unused | draining | unavailable
    reason: str = ""


@dataclass(frozen=True)
class TargetDiff:
    """Registered targets vs the pod IPs that should be registered (NLB-2)."""

    missing: tuple[str, ...] = ()  # expected pod IPs not registered
    unexpected: tuple[str, ...] = ()  # registered IPs that are no pod of the service (draining ones excluded)
    draining: tuple[str, ...] = ()

    @property
    def matches(self) -> bool:
        return not self.missing and not self.unexpected

    def describe(self) -> str:
        if self.matches:
            return "registered targets are exactly the pod IPs"
        parts = []
        if self.missing:
            parts.append(f"pod IPs not registered: {', '.join(self.missing)}")
        if self.unexpected:
            parts.append(f"registered IPs that are no pod: {', '.join(self.unexpected)}")
        return "; ".join(parts)


class AwsApi:
    """boto3 clients for one region; ``endpoint_url`` points them at a moto server in tests."""

    def __init__(
        self, region: str, *, endpoint_url: str | None = None, session: boto3.session.Session | None = None
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self._session = session or boto3.session.Session()
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            try:
                self._clients[service] = self._session.client(
                    service, region_name=self.region, endpoint_url=self.endpoint_url, config=CLIENT_CONFIG
                )
            except NoRegionError as exc:  # pragma: no cover - region is always passed
                raise InfraError("no AWS region configured", "set lab:region in the AWS stack") from exc
        return self._clients[service]

    # --- preflight --------------------------------------------------------------------------------------
    def caller_identity(self) -> CallerIdentity:
        """Who the credentials belong to; a clear InfraError when there are none or they are rejected."""
        try:
            answer = self.client("sts").get_caller_identity()
        except NoCredentialsError:
            raise InfraError("no AWS credentials found", CREDENTIALS_HINT) from None
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise InfraError(f"AWS rejected the credentials ({code})", CREDENTIALS_HINT) from None
        except BotoCoreError as exc:
            raise InfraError(f"cannot reach AWS STS in {self.region}: {exc}", CREDENTIALS_HINT) from None
        return CallerIdentity(account=answer["Account"], arn=answer["Arn"])

    def availability_zones(self) -> list[str]:
        """Names of the available availability zones of the region (local/wavelength zones left out)."""
        try:
            answer = self.client("ec2").describe_availability_zones(
                Filters=[
                    {"Name": "state", "Values": ["available"]},
                    {"Name": "zone-type", "Values": ["availability-zone"]},
                ]
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise InfraError(
                f"cannot list availability zones of {self.region} ({code})",
                "check lab:region and that the region is enabled for the account",
            ) from None
        return sorted(zone["ZoneName"] for zone in answer["AvailabilityZones"])

    def require_zones(self, wanted: Sequence[str], minimum: int = 2) -> list[str]:
        """Refuse a region with fewer than ``minimum`` zones, or configured zones the region does not have."""
        available = self.availability_zones()
        if len(available) < minimum:
            raise ConfigError(
                f"region {self.region} has {len(available)} availability zone(s); the lab needs {minimum}",
                "pick another lab:region",
            )
        unknown = [zone for zone in wanted if zone not in available]
        if unknown:
            raise ConfigError(
                f"availability zone(s) {', '.join(unknown)} are not available in {self.region}",
                f"use some of: {', '.join(available)} (lab:subnets)",
            )
        return available

    # --- load balancers ---------------------------------------------------------------------------------
    def load_balancers(self) -> list[LoadBalancer]:
        pages = self.client("elbv2").get_paginator("describe_load_balancers").paginate()
        return [_load_balancer(lb) for page in pages for lb in page["LoadBalancers"]]

    def find_load_balancer(self, dns_name: str) -> LoadBalancer:
        """The load balancer answering on ``dns_name`` (the stack's ``ingress_address`` or a Service's)."""
        wanted = dns_name.rstrip(".").lower()
        for lb in self.load_balancers():
            if lb.dns_name.lower() == wanted:
                return lb
        raise InfraError(
            f"no load balancer with DNS name {dns_name} in {self.region}",
            "check the region and that the Service/stack that owns it exists",
        )

    def find_load_balancers_by_tags(self, tags: Mapping[str, str]) -> list[LoadBalancer]:
        """Load balancers carrying all ``tags`` (e.g. the controller's ``service.k8s.aws/stack: ns/name``)."""
        balancers = self.load_balancers()
        client = self.client("elbv2")
        found: list[LoadBalancer] = []
        for chunk in _chunks([lb.arn for lb in balancers], 20):  # DescribeTags takes at most 20 ARNs
            for description in client.describe_tags(ResourceArns=chunk)["TagDescriptions"]:
                have = {t["Key"]: t["Value"] for t in description.get("Tags", [])}
                if all(have.get(k) == v for k, v in tags.items()):
                    found.extend(lb for lb in balancers if lb.arn == description["ResourceArn"])
        return found

    def target_groups(self, load_balancer_arn: str) -> list[TargetGroup]:
        try:
            answer = self.client("elbv2").describe_target_groups(LoadBalancerArn=load_balancer_arn)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TargetGroupNotFound":
                return []  # a load balancer without target groups (moto answers so; AWS returns none)
            raise
        return [
            TargetGroup(
                arn=tg["TargetGroupArn"],
                name=tg["TargetGroupName"],
                port=int(tg.get("Port", 0)),
                protocol=tg.get("Protocol", ""),
                target_type=tg.get("TargetType", ""),
            )
            for tg in answer["TargetGroups"]
        ]

    def targets(self, target_group_arn: str) -> list[Target]:
        """Registered targets of a target group with their health state (NLB-2)."""
        answer = self.client("elbv2").describe_target_health(TargetGroupArn=target_group_arn)
        return [
            Target(
                id=d["Target"]["Id"],
                port=int(d["Target"].get("Port", 0)),
                state=d.get("TargetHealth", {}).get("State", "unknown"),
                reason=d.get("TargetHealth", {}).get("Reason", ""),
            )
            for d in answer["TargetHealthDescriptions"]
        ]


def compare_targets(targets: Iterable[Target], expected_ips: Iterable[str]) -> TargetDiff:
    """Do the registered targets equal the pod IPs? Draining targets are on their way out: not unexpected.

    Used by NLB-2 after scaling: a scale-down leaves the removed pod's IP draining for the deregistration
    delay, which is the claim ("scaling down drains a target"), not a mismatch.
    """
    expected = set(expected_ips)
    registered = {t.id for t in targets if t.state != "draining"}
    draining = {t.id for t in targets if t.state == "draining"} - expected
    return TargetDiff(
        missing=tuple(sorted(expected - registered)),
        unexpected=tuple(sorted(registered - expected)),
        draining=tuple(sorted(draining)),
    )


@dataclass
class Preflight:
    """What ``up --env aws`` checks before Pulumi runs, collected for one report line each."""

    identity: CallerIdentity
    zones: list[str] = field(default_factory=list)


def preflight(api: AwsApi, zones: Sequence[str]) -> Preflight:
    """Credentials, region and zones: the mistakes that would otherwise surface deep inside ``pulumi up``."""
    identity = api.caller_identity()
    return Preflight(identity=identity, zones=api.require_zones(zones))


def default_region() -> str:
    """AWS_REGION / AWS_DEFAULT_REGION, else the AWS stack's ``lab:region`` (the region ``up`` deploys to)."""
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if os.environ.get(key):
            return os.environ[key]
    from infra.envconfig.aws import load_config

    try:
        return load_config().region
    except ConfigError:
        return "us-east-1"


def check_credentials(region: str | None = None, *, endpoint_url: str | None = None) -> CallerIdentity:
    """Preflight of ``up --env aws``: credentials resolve and STS accepts them (else InfraError + fix)."""
    return AwsApi(region or default_region(), endpoint_url=endpoint_url).caller_identity()


def _load_balancer(lb: Mapping[str, Any]) -> LoadBalancer:
    return LoadBalancer(
        arn=lb["LoadBalancerArn"],
        name=lb["LoadBalancerName"],
        dns_name=lb["DNSName"],
        type=lb.get("Type", ""),
        scheme=lb.get("Scheme", ""),
        vpc_id=lb.get("VpcId", ""),
        state=lb.get("State", {}).get("Code", ""),
    )


def _chunks(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
