"""The output contract every stack exports, so everything downstream is environment-agnostic.

Both ``stacks/local`` and ``stacks/aws`` export exactly :data:`OUTPUT_KEYS`. ``infra`` reads them with
``pulumi stack output --json --show-secrets`` and builds :class:`StackOutputs`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from infra.errors import InfraError


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

    def public(self) -> dict[str, Any]:
        """Everything but the kubeconfig, safe to print."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "kubeconfig"}


OUTPUT_KEYS: tuple[str, ...] = tuple(f.name for f in fields(StackOutputs))
PORT_KEYS: tuple[str, ...] = ("ingress_http_port", "ingress_https_port")


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
    return StackOutputs(**values)


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

    A contract change must be made in every stack at once, never half-way.
    """
    import pulumi  # only Pulumi programs call this; the CLI never imports the SDK

    if set(outputs) != set(OUTPUT_KEYS):
        raise pulumi.RunError(
            f"stack outputs {sorted(outputs)} differ from infra.contract {sorted(OUTPUT_KEYS)}"
        )
    for key in OUTPUT_KEYS:
        pulumi.export(key, outputs[key])


def ingress_host_for(address: str) -> str:
    """``127.0.0.1`` -> ``127-0-0-1.nip.io``; a DNS name (AWS NLB) is used as its resolved IP by callers."""
    return f"{address.replace('.', '-')}.nip.io"
