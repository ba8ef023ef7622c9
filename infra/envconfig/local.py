"""Typed config of the local environment (kind in Docker), shared by ``stacks/local`` and ``infra plan``.

The Pulumi program reads the ``lab:`` keys of the stack into :class:`LocalConfig`; ``infra plan`` and
preflight read the same keys offline with :func:`load_config` (the defaults of ``stacks/local/Pulumi.yaml``,
then the user's optional ``stacks/local/Pulumi.local.yaml``), so a bad value fails the same way offline and
before ``pulumi up`` creates anything. Every failure is a :class:`~infra.errors.ConfigError`
naming the key.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from infra.contract import ingress_host_for
from infra.envconfig import NAMESPACE, read_config, validate
from infra.paths import STACKS_DIR

PROJECT_FILE = STACKS_DIR / "local" / "Pulumi.yaml"  # committed: the declared defaults
STACK_FILE = STACKS_DIR / "local" / "Pulumi.local.yaml"  # gitignored: the user's own values, the salt
FIX_HINT = (
    "set it with `pulumi config set lab:<key> <value> -C stacks/local -s local` "
    "(your stack file stacks/local/Pulumi.local.yaml)"
)

# kind release and a node image built for it, from the v0.33.0 release notes ("Images pre-built for this
# release"); kind supports an image only with the release that built it, and only by digest. The tools
# installer (infra/tools.py) pins the same kind release. Kubernetes 1.35, not the release's default 1.37:
# the AWS cluster's minor (kOps 1.35), the environment's schema version, and within the last ingress-nginx
# release's reach (retired March 2026, before 1.36).
KIND_VERSION = "v0.33.0"
NODE_IMAGE = "kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0"
# The NFS server container starts from plain Debian 12 (the point-release tag); Ansible's nfs_server role
# installs and runs NFS-Ganesha in it (user space: no nfs/nfsd kernel modules needed on the Docker host).
NFS_SERVER_IMAGE = "debian:12.15-slim"
# kind puts every node container on this user-defined Docker network (fixed name in kind's docker provider).
KIND_NETWORK = "kind"

# Docker image reference grammar (distribution/reference): [domain[:port]/]path[:tag][@digest].
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::\d+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_REFERENCE = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
# A kind cluster name becomes the prefix of node container and host names (``<name>-control-plane2``,
# ``<name>-external-load-balancer``), which must stay DNS-1123 labels of at most 63 characters.
CLUSTER_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
CLUSTER_NAME_MAX = 63 - len("-external-load-balancer")
CONTAINER_PORTS = {"http": 80, "https": 443}  # where ingress-nginx listens (hostPort) inside the node


def parse_image(value: str) -> re.Match[str]:
    """The parts of an image reference, or ValueError saying what is malformed."""
    match = IMAGE_REFERENCE.match(value)
    if not match:
        raise ValueError(f"'{value}' is not an image reference like registry/name:tag@sha256:<64 hex digits>")
    return match


class LocalConfig(BaseModel):
    """The local stack's settings. Keys are camelCase in Pulumi config (``lab:httpPort``), snake_case here."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)

    cluster_name: str = "lab"
    control_planes: int = Field(default=1, ge=1, le=3)
    workers: int = Field(default=2, ge=1, le=10)
    node_image: str = NODE_IMAGE
    http_port: int = Field(default=80, ge=1, le=65535)
    https_port: int = Field(default=443, ge=1, le=65535)
    ingress_listen_address: ipaddress.IPv4Address = ipaddress.IPv4Address("127.0.0.1")
    api_server_address: ipaddress.IPv4Address = ipaddress.IPv4Address("127.0.0.1")
    api_server_port: int = Field(default=0, ge=0, le=65535, description="0: kind picks a free port")
    nfs_image: str = NFS_SERVER_IMAGE
    nfs_path: str = "/exports/k8s"

    # --- field checks -------------------------------------------------------------------------------------
    @field_validator("control_planes", "workers", "http_port", "https_port", "api_server_port", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        """Pulumi config values arrive as strings: accept ``"2"``, refuse ``"two"``, ``2.5`` and booleans."""
        if isinstance(value, (bool, float)):
            raise ValueError(f"{value!r} is not a whole number")
        if isinstance(value, str):
            if not re.fullmatch(r"-?\d+", value.strip()):
                raise ValueError(f"'{value}' is not a whole number")
            return int(value)
        return value

    @field_validator("cluster_name")
    @classmethod
    def _cluster_name(cls, value: str) -> str:
        if not CLUSTER_NAME.match(value) or len(value) > CLUSTER_NAME_MAX:
            raise ValueError(
                f"'{value}' is not a valid kind cluster name: lowercase letters, digits and '-', starting "
                f"and ending with a letter or digit, at most {CLUSTER_NAME_MAX} characters (node names "
                "must stay DNS labels)"
            )
        return value

    @field_validator("node_image")
    @classmethod
    def _node_image(cls, value: str) -> str:
        match = parse_image(value)
        if not match["digest"]:
            raise ValueError(
                f"'{value}' is not pinned by digest: kind supports a node image only with the release that "
                f"built it; use an image from the kind {KIND_VERSION} release notes, e.g. {NODE_IMAGE}"
            )
        return value

    @field_validator("nfs_image")
    @classmethod
    def _nfs_image(cls, value: str) -> str:
        match = parse_image(value)
        if not (match["digest"] or (match["tag"] and match["tag"] != "latest")):
            raise ValueError(f"'{value}' is not pinned: give an explicit tag (not 'latest') or a digest")
        return value

    @field_validator("nfs_path")
    @classmethod
    def _nfs_path(cls, value: str) -> str:
        if not value.startswith("/") or value == "/" or shlex.quote(value) != value:
            raise ValueError(f"'{value}' must be an absolute path (not /) without spaces or shell characters")
        return value.rstrip("/")

    # --- cross-field checks -------------------------------------------------------------------------------
    @model_validator(mode="after")
    def _ports(self) -> LocalConfig:
        taken = {"httpPort": self.http_port, "httpsPort": self.https_port}
        if self.api_server_port:
            taken["apiServerPort"] = self.api_server_port
        seen: dict[int, str] = {}
        for key, port in taken.items():
            if port in seen:
                raise ValueError(
                    f"{NAMESPACE}:{seen[port]} and {NAMESPACE}:{key} both ask for host port {port}: "
                    "each host port can be bound once"
                )
            seen[port] = key
        return self

    # --- derived values -----------------------------------------------------------------------------------
    @property
    def context(self) -> str:
        """The kubeconfig context kind writes: ``kind-<cluster name>``."""
        return f"kind-{self.cluster_name}"

    @property
    def ingress_address(self) -> str:
        """Where the ingress answers from this machine (a wildcard listen address is reached on loopback)."""
        address = self.ingress_listen_address
        return "127.0.0.1" if address.is_unspecified else str(address)

    @property
    def ingress_host(self) -> str:
        return ingress_host_for(self.ingress_address)

    @property
    def ingress_node(self) -> str:
        """The node carrying ``ingress-ready=true`` and the host port mappings: the first control plane."""
        return self.node_names[0]

    @property
    def node_names(self) -> list[str]:
        """Node names, as kind makes them: ``<name>-control-plane``, ``-control-plane2``, ``-worker``."""

        def named(role: str, count: int) -> list[str]:
            return [f"{self.cluster_name}-{role}{i + 1 if i else ''}" for i in range(count)]

        return named("control-plane", self.control_planes) + named("worker", self.workers)

    @property
    def nfs_container(self) -> str:
        return nfs_container_for(self.cluster_name)

    @property
    def nfs_volume(self) -> str:
        """The Docker volume holding the export (an overlay filesystem cannot be exported over NFS)."""
        return f"{self.nfs_container}-data"

    def kind_cluster(self) -> dict[str, Any]:
        """The kind ``Cluster`` object (kind.x-k8s.io/v1alpha4) for this config."""
        listen = str(self.ingress_listen_address)
        first_plane: dict[str, Any] = {
            "role": "control-plane",
            "image": self.node_image,
            # kind's native node labels, not a kubeadm patch (a patch is tied to kubeadm's config version)
            "labels": {"ingress-ready": "true"},
            "extraPortMappings": [
                {
                    "containerPort": CONTAINER_PORTS["http"],
                    "hostPort": self.http_port,
                    "listenAddress": listen,
                    "protocol": "TCP",
                },
                {
                    "containerPort": CONTAINER_PORTS["https"],
                    "hostPort": self.https_port,
                    "listenAddress": listen,
                    "protocol": "TCP",
                },
            ],
        }
        nodes = [first_plane]
        nodes += [{"role": "control-plane", "image": self.node_image} for _ in range(self.control_planes - 1)]
        nodes += [{"role": "worker", "image": self.node_image} for _ in range(self.workers)]
        networking: dict[str, Any] = {"apiServerAddress": str(self.api_server_address)}
        if self.api_server_port:
            networking["apiServerPort"] = self.api_server_port
        return {
            "kind": "Cluster",
            "apiVersion": "kind.x-k8s.io/v1alpha4",
            "name": self.cluster_name,
            "networking": networking,
            "nodes": nodes,
        }


def nfs_container_for(cluster_name: str) -> str:
    """The NFS server container of a cluster; also how the inventory finds it from the stack outputs."""
    return f"{cluster_name}-nfs"


def cluster_name_from_context(context: str) -> str:
    """``kind-lab`` -> ``lab`` (kind names the kubeconfig context ``kind-<cluster>``)."""
    return context.removeprefix("kind-")


def parse(values: Mapping[str, Any]) -> LocalConfig:
    """Validate un-namespaced values (``{"workers": "2"}``) into :class:`LocalConfig`, or raise ConfigError.

    Every problem is reported at once, each prefixed by its ``lab:`` key, so one fix-and-retry suffices.
    """
    return validate(LocalConfig, values, label="local", fix_hint=FIX_HINT)


def load_config(stack_file: Path | None = None, *, project_file: Path | None = None) -> LocalConfig:
    """The stack's config offline: ``Pulumi.yaml``'s defaults, then the user's stack file if there is one."""
    return parse(read_config(project_file or PROJECT_FILE, stack_file or STACK_FILE, fix_hint=FIX_HINT))
