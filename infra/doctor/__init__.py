"""``infra doctor``: known problems detected from the live cluster, as code.

A read-only collector lists the objects that matter in one pass (:mod:`infra.doctor.collect`) into a snapshot
(:mod:`infra.doctor.snapshot`, savable as JSON); small detectors (:mod:`infra.doctor.detectors`), each knowing
one problem, its evidence and its fix, run over it (:mod:`infra.doctor.report`).

For other commands (``infra up`` / ``infra verify`` print the likely cause of a failure):

* :func:`diagnose` -- collect and run every detector: a :class:`DoctorReport`;
* :func:`relevant` -- the findings of a report about a namespace (or one object), plus cluster-wide ones;
* :func:`likely_causes` -- both, as printable lines, and never an exception: a failing command must still
  report its own failure when the doctor cannot reach the cluster.

"""

from __future__ import annotations

from infra.doctor.collect import collect
from infra.doctor.registry import DETECTORS, Finding
from infra.doctor.report import DoctorReport, relevant, run
from infra.doctor.snapshot import Snapshot
from infra.errors import InfraError
from infra.kube import KubeTarget

__all__ = [
    "DETECTORS",
    "DoctorReport",
    "Finding",
    "Snapshot",
    "collect",
    "diagnose",
    "likely_causes",
    "relevant",
    "run",
]


def diagnose(target: KubeTarget, namespace: str | None = None) -> DoctorReport:
    """Collect the cluster (one namespace or all) and run every detector. Raises InfraError (exit 2) if no
    cluster answers."""
    return run(collect(target, namespace))


def likely_causes(
    target: KubeTarget, namespace: str | None = None, *, kind: str | None = None, name: str | None = None
) -> list[str]:
    """One line per finding (``Kind/ns/name ID: evidence — meaning — fix: ...``) that may explain a failure in
    ``namespace`` (or of one object), errors first; a line saying why when the doctor could not look."""
    try:
        report = diagnose(target, namespace)
    except InfraError as error:
        return [f"infra doctor could not look: {error.message}"]
    return [f.line() for f in relevant(report, namespace=namespace, kind=kind, name=name)]
