"""What an environment's config would create, rendered offline for ``infra plan``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EnvPlan:
    """One environment's offline plan.

    ``creates``: human-readable lines of what ``up`` would create (one per resource group).
    ``artifacts``: rendered configuration by file name (``kind-config.yaml``, ``kops-cluster.yaml``), which
    ``infra plan`` writes under ``.infra/<env>/plan/`` for inspection.
    """

    environment: str
    creates: list[str] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
