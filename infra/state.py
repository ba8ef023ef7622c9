"""The run-time state of one environment: every path under ``.infra/<env>/``, named once.

``infra up`` writes these files from the stack outputs and everything downstream reads them, so the layout is
a contract between modules. It is spelled here and nowhere else: modules ask an :class:`EnvState` for a
path instead of joining strings onto a folder. The folder is gitignored; files holding credentials are 0600.

::

    .infra/
      pulumi/                  the Pulumi file backend           (infra.pulumi)
      pulumi-passphrase        the stacks' passphrase             (infra.pulumi)
      reports/                 verify and drift reports           (infra.paths.reports_dir)
      <env>/
        kubeconfig             the stack's kubeconfig, 0600       (inventory stage)
        kind.kubeconfig        kind's own copy (local only)       (stacks/local)
        outputs.json           stack outputs minus the kubeconfig (inventory stage)
        inventory.yml          the Ansible inventory              (inventory stage)
        known_hosts            SSH host keys of the bastion (aws) (Ansible, trusted on first use)
        secrets/               run-time Secrets' material, 0600   (infra.secrets, infra.certs)
        plan/                  rendered cluster config            (infra plan)
        overlay/               host overlay of the manifests      (infra.gitops.desired)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.environments import Environment, get_environment
from infra.errors import ConfigError
from infra.paths import env_dir


@dataclass(frozen=True)
class EnvState:
    """The ``.infra/<env>/`` folder of one environment; the root is read when asked (tests move it)."""

    env: Environment

    @classmethod
    def of(cls, env: Environment | str) -> EnvState:
        """The state of an environment object, or of a name (validated: an unknown name is an InfraError)."""
        return cls(env if isinstance(env, Environment) else get_environment(env))

    @property
    def name(self) -> str:
        return self.env.name

    @property
    def root(self) -> Path:
        return env_dir(self.env.name)

    @property
    def kubeconfig(self) -> Path:
        """The stack's kubeconfig, written 0600 by the inventory stage."""
        return self.root / "kubeconfig"

    @property
    def kind_kubeconfig(self) -> Path:
        """Written by ``kind create cluster --kubeconfig`` (local only); the stack reads it back."""
        return self.root / "kind.kubeconfig"

    @property
    def outputs(self) -> Path:
        """The stack outputs without the kubeconfig (``StackOutputs.public()``)."""
        return self.root / "outputs.json"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory.yml"

    @property
    def known_hosts(self) -> Path:
        """SSH host keys of the environment's hosts (the bastion): trusted on first use, removed by down."""
        return self.root / "known_hosts"

    @property
    def secrets(self) -> Path:
        """Material of the run-time Secrets (certificate, key, passwords), each file 0600."""
        return self.root / "secrets"

    @property
    def plan(self) -> Path:
        """What ``infra plan`` rendered for inspection (kind config, kOps spec, bastion user data)."""
        return self.root / "plan"

    @property
    def overlay(self) -> Path:
        """The kustomize overlay that sets the stack's ingress host on the manifests."""
        return self.root / "overlay"

    @property
    def generated(self) -> tuple[Path, ...]:
        """The files ``up`` (and the stack) generate and ``down`` removes, secrets aside."""
        return (self.kubeconfig, self.kind_kubeconfig, self.outputs, self.inventory, self.known_hosts)

    def public_outputs(self) -> dict[str, Any]:
        """``outputs.json`` as a mapping; {} when ``up`` never ran here, a ConfigError when unreadable."""
        path = self.outputs
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"{path} is unreadable: {exc}", f"re-run `infra up --env {self.name}`"
            ) from None
        return data if isinstance(data, dict) else {}
