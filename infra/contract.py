"""The output contract every stack exports, so everything downstream is environment-agnostic.

Both ``stacks/local`` and ``stacks/aws`` export the same core keys (:data:`OUTPUT_KEYS`), and each exports
the extras its own hosts and addons need (:data:`EXTRA_KEYS`): the local stack its Docker host lists, the AWS
stack the bastion's public address and SSH login, the region, the VPC CIDR and the ingress target groups. With
both, the Ansible inventory is a pure function of the outputs: nothing downstream of a stack asks AWS or
re-reads the stack's config. ``infra`` reads them with ``pulumi stack output --json --show-secrets``
and builds :class:`StackOutputs`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from infra.errors import InfraError

# The ingress ports by the name ingress-nginx's Service gives them; the AWS stack's target groups use them.
INGRESS_PORT_NAMES: tuple[str, ...] = ("http", "https")


@dataclass(frozen=True)
class StackOutputs:
    environment: str  # "local" | "aws"
    kubeconfig: str  # full kubeconfig YAML (exported as a Pulumi secret)
    context: str  # kubeconfig context name
    ingress_address: str  # IP or DNS name the ingress answers on (kind: 127.0.0.1, AWS: NLB DNS name)
    ingress_host: str  # "<ip-with-dashes>.nip.io" host for the TLS lab
    ingress_http_port: int  # port of ingress_address for HTTP (kind: lab:httpPort, AWS: the NLB listener, 80)
    ingress_https_port: int  # port of ingress_address for HTTPS (kind: lab:httpsPort, AWS: 443)
    nfs_server: str  # an IP the kubelet can reach (never a cluster DNS name)
    nfs_path: str  # exported directory on the NFS server
    nodes: list[str]  # node names (kind: node container names, used by Ansible's docker connection)
    # The environment's own keys (EXTRA_KEYS[environment]), validated by parse_outputs.
    extras: Mapping[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """Everything but the kubeconfig, safe to print; the extras at the top level, as the stack exports."""
        core = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("kubeconfig", "extras")}
        return {**core, **self.extras}

    def exported(self, key: str) -> Any:
        """One of the environment's extras; asking for another environment's key is a programming error."""
        if key not in self.extras:
            raise KeyError(f"the {self.environment} stack exports no {key!r} (it has: {sorted(self.extras)})")
        return self.extras[key]


OUTPUT_KEYS: tuple[str, ...] = tuple(f.name for f in fields(StackOutputs) if f.name != "extras")
PORT_KEYS: tuple[str, ...] = ("ingress_http_port", "ingress_https_port")


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _host_lists(value: Any) -> bool:
    return isinstance(value, dict) and all(
        _text(group) and isinstance(hosts, list) and all(_text(h) for h in hosts)
        for group, hosts in value.items()
    )


def _target_groups(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == set(INGRESS_PORT_NAMES)
        and all(_text(arn) for arn in value.values())
    )


# Per environment: extra key -> (what it is, a check of its value). What each stack exports beyond the core.
EXTRAS: dict[str, dict[str, tuple[str, Callable[[Any], bool]]]] = {
    "local": {
        # Ansible group -> container names it reaches over `docker exec` (kind_nodes, nfs_server)
        "docker_hosts": ("a mapping of Ansible group to container names", _host_lists),
    },
    "aws": {
        "aws_region": ("the region name", _text),
        "vpc_cidr": ("the VPC's CIDR", _text),
        # nfs_server is the bastion's private IP (what the kubelets mount); Ansible SSHes to the public one
        "bastion_address": ("the bastion's public IP", _text),
        "ssh_user": ("the bastion's login user", _text),
        "ssh_private_key_file": ("the private key file Ansible logs in with", _text),
        "ingress_target_groups": (
            "the ip target group ARN of each ingress port (http, https)",
            _target_groups,
        ),
        "ingress_proxy_protocol": (
            "whether those target groups send proxy protocol v2",
            lambda v: v in (True, False),
        ),
    },
}
EXTRA_KEYS: dict[str, tuple[str, ...]] = {env: tuple(keys) for env, keys in EXTRAS.items()}


def keys_of(environment: str) -> tuple[str, ...]:
    """Every key a stack of ``environment`` exports: the core, then its extras."""
    return OUTPUT_KEYS + EXTRA_KEYS.get(environment, ())


def parse_outputs(raw: dict[str, Any]) -> StackOutputs:
    """Validate ``pulumi stack output --json --show-secrets`` against the contract."""
    missing = [k for k in OUTPUT_KEYS if k not in raw]
    if missing:
        raise InfraError(
            f"stack outputs are missing {', '.join(missing)}",
            "run `infra up` (or `pulumi up`) for this environment first",
        )
    values = {k: raw[k] for k in OUTPUT_KEYS}
    if not isinstance(values["nodes"], list):
        raise InfraError("stack output 'nodes' is not a list", "re-run `pulumi up` with the current stack")
    for key in PORT_KEYS:
        values[key] = _port(key, values[key])
    return StackOutputs(**values, extras=_extras(str(values["environment"]), raw))


def _extras(environment: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The environment's extra outputs, each checked; a stack from before they existed must be brought up."""
    wanted = EXTRAS.get(environment, {})
    missing = [k for k in wanted if k not in raw]
    if missing:
        raise InfraError(
            f"the {environment} stack outputs are missing {', '.join(missing)}",
            f"bring the stack up to date: `infra up --env {environment} --from pulumi`",
        )
    for key, (what, valid) in wanted.items():
        if not valid(raw[key]):
            raise InfraError(
                f"stack output {key!r} is {raw[key]!r}, not {what}",
                f"bring the stack up to date: `infra up --env {environment} --from pulumi`",
            )
    return {key: raw[key] for key in wanted}


def _port(key: str, value: Any) -> int:
    """A TCP port: an int in 1..65535. Pulumi carries numbers as doubles, so ``8080.0`` counts as 8080."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise InfraError(
            f"stack output {key!r} is {value!r}, not a port number (a whole number from 1 to 65535)",
            "re-run `pulumi up` with the current stack, which exports the ingress ports as numbers",
        )
    return value


def export_outputs(outputs: dict[str, Any]) -> None:
    """Export exactly the contract from a Pulumi program; a stack exporting more or less fails its update.

    ``outputs["environment"]`` (a plain string) says which extras belong to the core keys. A change of the
    core must be made in every stack at once, never half-way.
    """
    import pulumi  # only Pulumi programs call this; the CLI never imports the SDK

    expected = keys_of(str(outputs.get("environment")))
    if set(outputs) != set(expected):
        raise pulumi.RunError(
            f"stack outputs {sorted(outputs)} differ from infra.contract {sorted(expected)}"
        )
    for key in expected:
        pulumi.export(key, outputs[key])


def ingress_host_for(address: str) -> str:
    """``127.0.0.1`` -> ``127-0-0-1.nip.io``; a DNS name (AWS NLB) is used as its resolved IP by callers."""
    return f"{address.replace('.', '-')}.nip.io"
