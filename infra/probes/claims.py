"""The LABS.md claims, by stable ID: the verification suite has one live test per claim.

``/work/shared/LABS.md`` is not part of the repository, so the IDs and titles live here; the offline suite
checks that ``tests/live`` holds exactly one (non-slow) test per claim, named ``test_<area>_<n>_...``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from infra.errors import InfraError

ALL_ENVIRONMENTS = ("local", "aws")


@dataclass(frozen=True)
class Claim:
    id: str  # "STS-3"
    title: str
    environments: tuple[str, ...] = ALL_ENVIRONMENTS

    @property
    def test_prefix(self) -> str:
        """``STS-3`` -> ``test_sts_3_``: the live test's name starts with it (the ``_`` ends the number)."""
        area, number = self.id.split("-")
        return f"test_{area.lower()}_{number}_"

    def applies_to(self, environment: str) -> bool:
        return environment in self.environments


_AWS = ("aws",)

CLAIMS: tuple[Claim, ...] = (
    Claim("ENV-1", "all nodes Ready (1 control-plane + 2 workers by default)"),
    Claim("ADD-1", "metrics-server APIService Available; kubectl top returns numbers"),
    Claim("ADD-2", "ingress-nginx controller Ready and answering on the ingress address"),
    Claim("ADD-3", "StorageClass nfs-client binds a PVC and creates its directory on the export"),
    Claim(
        "ADD-4", "AWS Load Balancer Controller Ready; its IAM policy on control-plane and node roles", _AWS
    ),
    Claim("TLS-1", "web app (3 replicas, port 8080) behind a Service and an Ingress with spec.tls"),
    Claim("TLS-2", "certificate is a kubernetes.io/tls Secret whose key is not in git"),
    Claim("TLS-3", "HTTPS answers 200, the served SAN covers the host, HTTP redirects to HTTPS"),
    Claim("STS-1", "ClusterIP Service resolves to one address, headless to one per pod"),
    Claim("STS-2", "StatefulSet pods web-0..2, each resolvable as web-N.web-headless"),
    Claim("STS-3", "scaling is ordered: 3->4 creates -3; 4->2 deletes -3 then -2"),
    Claim("STS-4", "volumeClaimTemplates give each pod its own nfs-client PVC; PVC count == pod count"),
    Claim("STS-5", "per-pod data is private and survives pod deletion; scale-down keeps PVCs"),
    Claim("SQL-1", "headless mysql + ClusterIP mysql-read; ConfigMap with primary and replica configs"),
    Claim("SQL-2", "mysql-0 is the read-write primary; its writes appear on mysql-1 and mysql-2"),
    Claim("SQL-3", "a write on a replica fails with ERROR 1290 (--super-read-only)"),
    Claim("SQL-4", "a new replica clones the data at once; data on NFS PVCs survives pod deletion"),
    Claim("SQL-5", "credentials come from a Secret; no empty root password"),
    Claim("QOS-1", "Guaranteed, Burstable and BestEffort pods get their QoS class"),
    Claim("QOS-2", "a pod requesting more than any node's allocatable stays Pending (Insufficient)"),
    Claim(
        "HPA-1", "Deployment requests 200m CPU; autoscaling/v2 HPA 50% CPU, min 1, max 10, full target ref"
    ),
    Claim("HPA-2", "the HPA's current metric is known within a bounded time"),
    Claim("HPA-3", "under load the replicas rise per the HPA formula, never above max; they fall back after"),
    Claim("HPA-4", "missing scaleTargetRef.apiVersion and missing CPU request are caught before apply"),
    Claim("NLB-1", "echo LoadBalancer Service in NLB IP mode, internet-facing, gets a DNS name", _AWS),
    Claim("NLB-2", "NLB targets are exactly the pod IPs; scaling drains and registers targets", _AWS),
    Claim("NLB-3", "100 requests through the NLB reach every pod", _AWS),
    Claim("GIT-1", "after a reconcile, the manifests diff against the cluster is empty"),
    Claim("GIT-2", "a hand edit or deletion is reported as drift and undone by the next reconcile"),
    Claim("GIT-3", "objects removed from git are pruned; only toolkit-labelled objects are ever pruned"),
    Claim("GIT-4", "the HPA-scaled Deployment has no spec.replicas in git; reconcile never fights the HPA"),
)

BY_ID: dict[str, Claim] = {claim.id: claim for claim in CLAIMS}
ORDER: dict[str, int] = {claim.id: index for index, claim in enumerate(CLAIMS)}

_TEST_NAME = re.compile(r"^test_([a-z]+)_(\d+)_")


def claim_id_of(test_name: str) -> str | None:
    """``test_sts_3_scaling_is_ordered[x]`` -> ``STS-3``; None for a name that follows no known claim."""
    match = _TEST_NAME.match(test_name)
    if not match:
        return None
    claim_id = f"{match.group(1).upper()}-{match.group(2)}"
    return claim_id if claim_id in BY_ID else None


def normalise_ids(raw_ids: list[str] | tuple[str, ...]) -> list[str]:
    """User-typed IDs (``sts-3``, ``STS-3``, ``STS-3,SQL-1``) -> known IDs in LABS.md order.

    An unknown ID is a user's mistake: :class:`InfraError` listing the known areas.
    """
    wanted: set[str] = set()
    for raw in raw_ids:
        for part in raw.split(","):
            claim_id = part.strip().upper()
            if not claim_id:
                continue
            if claim_id not in BY_ID:
                areas = ", ".join(sorted({c.id.split("-")[0] for c in CLAIMS}))
                raise InfraError(
                    f"unknown claim ID '{part.strip()}'",
                    f"use IDs from LABS.md such as STS-3 (areas: {areas}); see tests/live/README.md",
                )
            wanted.add(claim_id)
    return sorted(wanted, key=ORDER.__getitem__)
