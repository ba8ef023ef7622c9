"""The environments the toolkit can stand up, and what each one is made of."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from infra.errors import InfraError
from infra.paths import MANIFESTS_DIR, STACKS_DIR


@dataclass(frozen=True)
class Environment:
    name: str
    description: str
    kube_version: str  # Kubernetes minor the environment runs, used for strict schemas ("1.35")

    @property
    def stack_dir(self) -> Path:
        return STACKS_DIR / self.name

    @property
    def stack_name(self) -> str:
        return self.name

    @property
    def manifests(self) -> Path:
        return MANIFESTS_DIR / "envs" / self.name


ENVIRONMENTS: dict[str, Environment] = {
    "local": Environment("local", "kind cluster in Docker on this machine", kube_version="1.35"),
    "aws": Environment("aws", "EC2 bastion + kOps cluster on AWS", kube_version="1.35"),
}
DEFAULT_ENV = "local"


def get_environment(name: str) -> Environment:
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        known = ", ".join(ENVIRONMENTS)
        raise InfraError(f"unknown environment '{name}'", f"use one of: {known}") from None


def select(name: str) -> list[Environment]:
    """``all`` or one environment name -> the environments to act on."""
    if name == "all":
        return list(ENVIRONMENTS.values())
    return [get_environment(name)]
