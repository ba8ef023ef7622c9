"""Detectors: each a plain function over a snapshot, registered with a stable ID, severity, title and fix.

The shape follows ``infra check``'s rules (``infra/checks/registry.py``): a decorator registers the function;
it yields :class:`Hit` objects and the runner adds the ID and severity. Where a live problem has a static twin
in ``infra check`` (HPA-TARGET, HPA-REQUEST, SVC-SELECTOR, STS-SERVICE, ING-TLS), the detector uses the same
ID so a user who greps for one finds both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from infra.checks.model import Severity, as_dict
from infra.doctor.snapshot import Snapshot, ref


@dataclass(frozen=True)
class Hit:
    """What a detector reports about one object; ``fix`` None means the detector's registered fix."""

    obj: dict[str, Any]
    evidence: str  # condition type/reason/message or event reason and count, as seen on the cluster
    meaning: str  # what it means, in a sentence
    fix: str | None = None
    severity: Severity | None = None  # None: the detector's; lower it for the benign variants of a problem


@dataclass(frozen=True)
class Finding:
    """One diagnosed problem: ``ID object: evidence — meaning — fix``."""

    id: str
    severity: Severity
    title: str
    object: str  # Kind/namespace/name or Kind/name
    namespace: str  # "" for cluster-scoped objects
    evidence: str
    meaning: str
    fix: str

    def line(self) -> str:
        return f"{self.object} {self.id}: {self.evidence} — {self.meaning} — fix: {self.fix}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "severity": self.severity.label}


DetectorFunc = Callable[[Snapshot], Iterable[Hit]]


@dataclass(frozen=True)
class Detector:
    id: str
    severity: Severity
    title: str
    fix: str
    func: DetectorFunc
    needs: tuple[str, ...]  # kinds it reads; a kind the collector could not list silences it


DETECTORS: dict[str, Detector] = {}


def detector(
    detector_id: str, severity: Severity, title: str, *, fix: str, needs: tuple[str, ...]
) -> Callable[[DetectorFunc], DetectorFunc]:
    """Register a detector. IDs are stable: users grep for them, docs and ``infra check`` name them."""

    def register(func: DetectorFunc) -> DetectorFunc:
        if detector_id in DETECTORS:
            raise ValueError(f"duplicate detector ID {detector_id}")
        DETECTORS[detector_id] = Detector(detector_id, severity, title, fix, func, needs)
        return func

    return register


def finding(det: Detector, hit: Hit) -> Finding:
    meta = as_dict(hit.obj.get("metadata"))
    return Finding(
        det.id,
        hit.severity if hit.severity is not None else det.severity,
        det.title,
        ref(hit.obj),
        str(meta.get("namespace") or ""),
        hit.evidence,
        hit.meaning,
        hit.fix or det.fix,
    )
