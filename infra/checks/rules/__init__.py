"""Importing this package registers every policy rule (one module per area).

``apps``, ``autoscaling``, ``batch``, ``core`` and ``policy`` mirror the API server's validation of those API
groups (``infra check --list-rules`` names the upstream file); ``sets`` checks the set as a whole.
"""

from infra.checks.rules import (
    apps,
    autoscaling,
    batch,
    containers,
    core,
    credentials,
    hpa,
    network,
    policy,
    references,
    sets,
)

__all__ = [
    "apps",
    "autoscaling",
    "batch",
    "containers",
    "core",
    "credentials",
    "hpa",
    "network",
    "policy",
    "references",
    "sets",
]
