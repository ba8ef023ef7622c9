"""Pods that do not run: unschedulable (capacity or constraints), images that do not pull, crash loops, OOM
kills.

Status semantics, as the kubelet and scheduler write them: an unschedulable pod carries ``PodScheduled=False``
with reason ``Unschedulable`` and the scheduler's message (``0/3 nodes are available: 3 Insufficient cpu.``);
a container that cannot start has ``state.waiting.reason`` ``ErrImagePull`` / ``ImagePullBackOff`` /
``CrashLoopBackOff``, and the previous run's end is in ``lastState.terminated`` (``OOMKilled``, exit 137).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from infra.checks.model import Severity, as_dict, as_list, dig
from infra.checks.quantity import parse_quantity
from infra.doctor.registry import Hit, detector
from infra.doctor.snapshot import Snapshot, condition, condition_text, event_text

# Phrases of the scheduler's per-node reasons -> (what it means, fix).
UNSCHEDULABLE_CAUSES = (
    (
        "PersistentVolumeClaim",
        "the pod waits for an unbound PersistentVolumeClaim",
        "fix the claim first (its PVC-PENDING finding)",
    ),
    (
        "volume node affinity",
        "its volume is bound in another zone than the free nodes",
        "schedule in the volume's zone or use a WaitForFirstConsumer class",
    ),
    (
        "taint",
        "nodes carry taints the pod does not tolerate",
        "add the matching tolerations, or remove the taint (kubectl taint nodes NODE KEY-)",
    ),
    (
        "affinity/selector",
        "nodes lack the labels its nodeSelector/affinity requires",
        "label a node (kubectl label node NODE KEY=VALUE) or relax the nodeSelector/affinity",
    ),
    (
        "didn't have free ports",
        "its hostPort is taken on every node",
        "drop the hostPort or free it",
    ),
)
PULL_REASONS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
INSUFFICIENT = re.compile(r"Insufficient (\w[\w./-]*\w)")


def pod_name(pod: dict[str, Any]) -> str:
    return str(dig(pod, "metadata", "name"))


def pod_ns(pod: dict[str, Any]) -> str:
    return str(dig(pod, "metadata", "namespace") or "default")


def container_statuses(pod: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(label, status)`` for init containers, then containers (labels like ``container app``)."""
    for key, label in (("initContainerStatuses", "init container"), ("containerStatuses", "container")):
        for status in as_list(dig(pod, "status", key)):
            if isinstance(status, dict):
                yield f"{label} {status.get('name')}", status


def spec_container(pod: dict[str, Any], name: Any) -> dict[str, Any]:
    for key in ("containers", "initContainers"):
        for container in as_list(dig(pod, "spec", key)):
            if isinstance(container, dict) and container.get("name") == name:
                return container
    return {}


def _quantity(value: Any) -> Decimal | None:
    try:
        return parse_quantity(value)
    except (ValueError, TypeError):
        return None


def pod_request(pod: dict[str, Any], resource: str) -> Decimal:
    """What the scheduler counts: the sum over containers, or the largest init container if that is more."""
    total = sum(
        (
            _quantity(dig(c, "resources", "requests", resource)) or Decimal(0)
            for c in as_list(dig(pod, "spec", "containers"))
        ),
        Decimal(0),
    )
    inits = [
        _quantity(dig(c, "resources", "requests", resource)) or Decimal(0)
        for c in as_list(dig(pod, "spec", "initContainers"))
    ]
    return max([total, *inits])


def largest_allocatable(snapshot: Snapshot, resource: str) -> Decimal | None:
    values = [_quantity(dig(n, "status", "allocatable", resource)) for n in snapshot.of_kind("Node")]
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _fmt(value: Decimal, resource: str) -> str:
    if resource == "memory":
        return f"{value / 2**20:.0f}Mi"
    if resource == "cpu" and value != value.to_integral_value():
        return f"{value * 1000:.0f}m"
    return f"{value.normalize():f}"


def _unschedulable(pod: dict[str, Any]) -> dict[str, Any] | None:
    cond = condition(pod, "PodScheduled")
    pending = dig(pod, "status", "phase") == "Pending"
    if pending and cond and cond.get("status") == "False" and cond.get("reason") == "Unschedulable":
        return cond
    return None


@detector(
    "POD-CAPACITY",
    Severity.ERROR,
    "a Pending pod the scheduler cannot place: Insufficient cpu/memory (QoS requests vs. node allocatable)",
    fix="lower the pod's resources.requests, free capacity, or add (larger) nodes",
    needs=("Pod",),
)
def pod_capacity(snapshot: Snapshot) -> Iterator[Hit]:
    for pod in snapshot.of_kind("Pod"):
        cond = _unschedulable(pod)
        resources = sorted(set(INSUFFICIENT.findall(str(cond.get("message")) if cond else "")))
        if not cond or not resources:
            continue
        parts, never = [], []
        for resource in resources:
            wanted, biggest = pod_request(pod, resource), largest_allocatable(snapshot, resource)
            part = f"requests {resource} {_fmt(wanted, resource)}"
            if biggest is not None:
                part += f", largest node allocatable {_fmt(biggest, resource)}"
                if wanted > biggest:
                    never.append(resource)
            parts.append(part)
        qos = dig(pod, "status", "qosClass") or "unknown"
        meaning = (
            f"no node has enough unreserved {' and '.join(resources)} for this pod "
            f"({'; '.join(parts)}; QoS {qos})"
        )
        if never:
            meaning += f": its {' and '.join(never)} request exceeds every node, so it can never schedule"
            fix = f"lower resources.requests.{never[0]} below a node's allocatable, or add larger nodes"
        else:
            meaning += ": the nodes are full of other pods' requests"
            fix = None
        yield Hit(pod, condition_text(cond), meaning, fix)


@detector(
    "POD-UNSCHEDULABLE",
    Severity.ERROR,
    "a Pending pod the scheduler cannot place for a reason other than capacity (taints, selectors, volumes)",
    fix="make the pod's nodeSelector/affinity/tolerations match a node, or fix the volume it waits for",
    needs=("Pod",),
)
def pod_unschedulable(snapshot: Snapshot) -> Iterator[Hit]:
    for pod in snapshot.of_kind("Pod"):
        cond = _unschedulable(pod)
        if not cond or INSUFFICIENT.search(str(cond.get("message"))):
            continue
        message = str(cond.get("message") or "")
        causes = [(m, f) for key, m, f in UNSCHEDULABLE_CAUSES if key in message]
        if causes:
            meaning = "no node fits: " + "; ".join(m for m, _f in causes)
            fix = "; or ".join(f for _m, f in causes)
        else:
            meaning = "the scheduler finds no node that satisfies the pod's constraints"
            fix = None
        yield Hit(pod, condition_text(cond), meaning, fix)


def _pull_meaning(image: str, message: str) -> tuple[str, str]:
    lowered = message.lower()
    if any(s in lowered for s in ("not found", "manifest unknown", "does not exist")):
        return (
            f"the image {image} does not exist in its registry: a wrong tag or name",
            f"fix the image reference (check the tag exists: crane ls / docker manifest inspect {image})",
        )
    if any(s in lowered for s in ("unauthorized", "authorization failed", "denied", "forbidden")):
        return (
            f"the registry refuses to serve {image} without (valid) credentials",
            "add imagePullSecrets with credentials for that registry, or make the image public",
        )
    if any(s in lowered for s in ("timeout", "no such host", "connection refused", "i/o timeout")):
        return (
            f"the node cannot reach the registry of {image}",
            "check the node's DNS/egress (proxy, NAT) to the registry, or mirror the image",
        )
    return (
        f"the kubelet cannot pull {image} and backs off between attempts",
        "read the pull error in the events (kubectl describe pod) and fix the image reference or access",
    )


@detector(
    "IMAGE-PULL",
    Severity.ERROR,
    "a container whose image does not pull (ErrImagePull / ImagePullBackOff)",
    fix="fix the image reference (tag, registry, name) or the pull credentials",
    needs=("Pod",),
)
def image_pull(snapshot: Snapshot) -> Iterator[Hit]:
    for pod in snapshot.of_kind("Pod"):
        for label, status in container_statuses(pod):
            waiting = as_dict(dig(status, "state", "waiting"))
            if waiting.get("reason") not in PULL_REASONS:
                continue
            image = str(status.get("image") or spec_container(pod, status.get("name")).get("image") or "?")
            failed = snapshot.events_for(pod, "Failed")
            detail = str(failed[-1].get("message")) if failed else str(waiting.get("message") or "")
            evidence = f"{label} waiting {waiting.get('reason')}"
            if waiting.get("message"):
                evidence += f": {waiting['message']}"
            if failed:
                evidence += f"; event {event_text(failed[-1])}"
            meaning, fix = _pull_meaning(image, detail)
            yield Hit(pod, evidence, meaning, fix)


def _limit(pod: dict[str, Any], name: Any) -> str:
    return str(dig(spec_container(pod, name), "resources", "limits", "memory") or "none")


@detector(
    "CRASH-LOOP",
    Severity.ERROR,
    "a container in CrashLoopBackOff, with the last termination reason (OOMKilled: memory limit)",
    fix="read the previous run's logs (kubectl logs --previous) and fix the command, config or limits",
    needs=("Pod",),
)
def crash_loop(snapshot: Snapshot) -> Iterator[Hit]:
    for pod in snapshot.of_kind("Pod"):
        for label, status in container_statuses(pod):
            waiting = as_dict(dig(status, "state", "waiting"))
            if waiting.get("reason") != "CrashLoopBackOff":
                continue
            last = as_dict(dig(status, "lastState", "terminated"))
            reason, code = last.get("reason") or "unknown", last.get("exitCode")
            evidence = (
                f"{label} waiting CrashLoopBackOff ({status.get('restartCount', 0)} restarts); "
                f"last terminated {reason} (exit {code})"
            )
            name = status.get("name")
            if reason == "OOMKilled":
                limit = _limit(pod, name)
                meaning = (
                    f"the container exceeds its memory limit ({limit}) and the kernel kills it (OOMKilled)"
                )
                fix = f"raise resources.limits.memory of {label} above its peak use (or cap the app's heap)"
            elif reason == "Completed" or code == 0:
                meaning = "the process exits successfully, and restartPolicy Always starts it again"
                fix = "run a long-lived process (the command must not return), or use a Job for one-off work"
            else:
                meaning = f"the process exits with code {code} soon after start, again and again"
                fix = (
                    f"kubectl logs --previous -n {pod_ns(pod)} {pod_name(pod)} -c {name}, then fix the cause"
                )
            yield Hit(pod, evidence, meaning, fix)


@detector(
    "OOM-KILLED",
    Severity.WARNING,
    "a container restarted after an OOM kill (not, or not yet, crash-looping)",
    fix="raise resources.limits.memory above the container's peak use",
    needs=("Pod",),
)
def oom_killed(snapshot: Snapshot) -> Iterator[Hit]:
    for pod in snapshot.of_kind("Pod"):
        for label, status in container_statuses(pod):
            last = as_dict(dig(status, "lastState", "terminated"))
            if (
                last.get("reason") != "OOMKilled"
                or dig(status, "state", "waiting", "reason") == "CrashLoopBackOff"
            ):
                continue
            yield Hit(
                pod,
                f"{label} lastState.terminated OOMKilled (exit {last.get('exitCode')}) at "
                f"{last.get('finishedAt')}; {status.get('restartCount', 0)} restarts",
                f"the container hit its memory limit ({_limit(pod, status.get('name'))}) and was killed",
            )
