"""Time series the live probes record while they poll, for the charts of the verification report.

The labs are about watching things happen: the HPA adding replicas as CPU rises, the StatefulSet creating
``web-3`` and then deleting ``web-3`` before ``web-2``, the NLB spreading requests over the pods. A probe
already polls to decide its claim; :func:`record` keeps what each poll saw (a timestamp, the observed value,
and the value or bound the claim expects) so the report can draw it.

Where the points go: ``infra verify`` names a file in ``INFRA_SERIES_FILE`` for its pytest processes (several
run side by side, each with threads), and :func:`record` appends one JSON line per point to it. Without the
variable (``pytest tests/live`` by hand, unit tests) :func:`record` does nothing, so probes call it freely.
:func:`load` reads the file back, grouped by claim and series.

Naming: ``series`` is ``"<chart>/<line>"`` (``"replicas/current"``) or just ``"<chart>"``; the lines of one
chart share its axes, so related values are compared at a glance. What the labs record (values are numbers
unless said otherwise; :func:`record_hpa` records the first three from one polled HPA object):

* HPA-3 ``replicas/current``: ``status.currentReplicas``; bound ``spec.maxReplicas``.
* HPA-3 ``replicas/desired``: ``status.desiredReplicas``; expected ``ceil(current x utilization / target)``
  clamped to min..max, the controller's formula, which it re-evaluates every 15 s by default
  (``--horizontal-pod-autoscaler-sync-period``).
* HPA-3 ``cpu/utilization``: current CPU utilization in % of the request; expected: the target (50).
* HPA-2 ``cpu/utilization``: the same while waiting for the first metric (no point until it is known).
* STS-3 ``pods``: the StatefulSet's pod names (a list of strings) at each poll; the chart shows each pod's
  lifetime, so ``-3`` created, then ``-3`` deleted before ``-2``, is visible at a glance.
* STS-3 ``replicas/ready``: ``status.readyReplicas``; expected: the replicas the probe scaled to.
* NLB-3 ``requests``: requests answered per pod (a mapping pod -> count); expected: an even share
  (requests / pods); bound 1 (every pod answers at least once).
* NLB-2 ``targets``: the registered NLB target IPs (a list of strings).
* CTL-1, CTL-4, CTL-6 ``endpoints``: the Service's ready endpoints by pod name (a list of strings).
* CTL-4 ``rollout/updated``: ``status.updatedReplicas``; expected ``spec.replicas``.
* CTL-4 ``rollout/available``: ``status.availableReplicas``; bound ``spec.replicas - maxUnavailable``.
* SQL-4 ``replication/lag``: ``Seconds_Behind_Source`` of the new replica; expected 0.

Appends are safe across threads (a lock) and processes (``O_APPEND`` plus an advisory ``flock`` around each
one-line write), so lines never interleave; :func:`load` skips a line cut short by a killed process.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:  # advisory locks: on every Unix; elsewhere O_APPEND alone keeps short lines whole
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

SERIES_VARIABLE = "INFRA_SERIES_FILE"

Value = float | list[str] | dict[str, float]


@dataclass(frozen=True)
class Point:
    """One observation: when (epoch seconds), what was seen, and what the claim expects or bounds it by."""

    at: float
    value: Value
    expected: float | None = None
    bound: float | None = None
    unit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"at": self.at, "value": self.value}
        for key in ("expected", "bound", "unit"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


Series = dict[str, dict[str, list[Point]]]  # claim -> series -> points, oldest first

_lock = threading.Lock()


def series_file() -> Path | None:
    """The file named by ``INFRA_SERIES_FILE``, or None: recording is off."""
    name = os.environ.get(SERIES_VARIABLE, "").strip()
    return Path(name) if name else None


def normalise_value(value: Any) -> Value:
    """Numbers stay numbers, a set or sequence of names becomes a sorted list, a mapping name -> number.

    Raises TypeError for anything else: a probe's bug, caught by its own unit test, not at a live run.
    """
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): float(v) for k, v in sorted(value.items())}
    if isinstance(value, set | frozenset | Sequence) and not isinstance(value, str | bytes):
        return sorted(str(v) for v in value)
    raise TypeError(f"a series value is a number, a list of names or a mapping name -> number: {value!r}")


def record(
    claim_id: str,
    series: str,
    value: Any,
    *,
    expected: float | None = None,
    bound: float | None = None,
    unit: str | None = None,
    at: float | None = None,
) -> None:
    """Append one point of ``claim_id``'s ``series`` to ``$INFRA_SERIES_FILE``; nothing when it is unset.

    ``at`` defaults to now (wall-clock, so points from side-by-side processes line up). Writing never fails a
    probe: the claim is decided by the probe, the chart is only its illustration.
    """
    path = series_file()
    if path is None:
        return
    point = Point(
        time.time() if at is None else float(at),
        normalise_value(value),
        None if expected is None else float(expected),
        None if bound is None else float(bound),
        unit,
    )
    line = json.dumps({"claim": claim_id, "series": series, **point.to_dict()}, separators=(",", ":"))
    try:
        _append(path, (line + "\n").encode())
    except OSError:
        return


def hpa_points(hpa: Mapping[str, Any]) -> list[tuple[str, float, dict[str, Any]]]:
    """The HPA-3 series of one polled HPA object: (series, value, expected/bound/unit) for :func:`record`.

    ``desired`` is expected to equal the controller's formula on the same object's numbers
    (:func:`infra.probes.hpa.expected_replicas`); no CPU point while the metric is ``<unknown>``.
    """
    from infra.probes import hpa as formula  # the probes' own arithmetic; loaded only by the probes

    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    maximum, minimum = int(spec.get("maxReplicas") or 0), int(spec.get("minReplicas") or 1)
    current, desired = int(status.get("currentReplicas") or 0), int(status.get("desiredReplicas") or 0)
    utilization, target = formula.cpu_utilization(dict(hpa)), formula.cpu_target(dict(hpa))
    points: list[tuple[str, float, dict[str, Any]]] = [("replicas/current", current, {"bound": maximum})]
    if utilization is None or not target:
        return [*points, ("replicas/desired", desired, {})]
    expected = formula.expected_replicas(current, utilization, target, minimum, maximum)
    return [
        *points,
        ("replicas/desired", desired, {"expected": expected}),
        ("cpu/utilization", utilization, {"expected": target, "unit": "% of request"}),
    ]


def record_hpa(claim_id: str, hpa: Mapping[str, Any], *, at: float | None = None) -> None:
    """Record one polled HPA object (:func:`hpa_points`); nothing when recording is off."""
    if series_file() is None:
        return
    when = time.time() if at is None else at
    for name, value, extra in hpa_points(hpa):
        record(claim_id, name, value, at=when, **extra)


def _append(path: Path, data: bytes) -> None:
    """One write of a whole line under a thread lock and an advisory file lock."""
    with _lock:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, data)
        finally:
            os.close(fd)  # closing releases the flock


def load(path: Path | str | None) -> Series:
    """The points in ``path`` by claim and series, oldest first; an absent file is no series at all.

    Lines that are not whole JSON points (a process killed mid-write) are skipped.
    """
    if path is None:
        return {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    found: Series = {}
    for raw in text.splitlines():
        point = _parse(raw)
        if point is not None:
            claim, name, value = point
            found.setdefault(claim, {}).setdefault(name, []).append(value)
    for by_series in found.values():
        for points in by_series.values():
            points.sort(key=lambda p: p.at)
    return found


def _parse(raw: str) -> tuple[str, str, Point] | None:
    try:
        data = json.loads(raw)
        claim, name, at = str(data["claim"]), str(data["series"]), float(data["at"])
        value = normalise_value(data["value"])
        extra = {k: _number(data.get(k)) for k in ("expected", "bound")}
    except (ValueError, KeyError, TypeError):
        return None
    unit = data.get("unit")
    return claim, name, Point(at, value, extra["expected"], extra["bound"], str(unit) if unit else None)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {value!r}")
    return number


def chart_name(series: str) -> tuple[str, str]:
    """``"replicas/current"`` -> (``"replicas"``, ``"current"``); ``"pods"`` -> (``"pods"``, ``"pods"``)."""
    chart, _, line = series.partition("/")
    return chart, line or chart


def write(points: Series, path: Path) -> Path:
    """Write series back as JSON lines (fixtures, tests): the same format :func:`record` appends."""
    lines = []
    for claim, by_series in points.items():
        for name, values in by_series.items():
            for point in values:
                lines.append(json.dumps({"claim": claim, "series": name, **point.to_dict()}))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path
