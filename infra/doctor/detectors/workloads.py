"""Controllers that cannot make pods: ReplicaFailure (quota), stalled rollouts, StatefulSets stuck on an
ordinal.

Status semantics: the ReplicaSet controller sets ``ReplicaFailure=True`` (reason ``FailedCreate``, message
from the API server, e.g. ``pods "web-x" is forbidden: exceeded quota: ...``) and the Deployment controller
copies it to the Deployment; a rollout past ``progressDeadlineSeconds`` gets ``Progressing=False`` with reason
``ProgressDeadlineExceeded``. StatefulSet, DaemonSet and Job controllers report failed creations as
``FailedCreate`` events. An ``OrderedReady`` StatefulSet creates pod N+1 only once pod N is Running and Ready.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from infra.checks.model import Severity, as_dict, dig, labels_match
from infra.doctor.registry import Hit, detector
from infra.doctor.snapshot import Snapshot, condition, condition_text, event_text, name_of, namespace_of


def _creation_failure(message: str, namespace: str) -> tuple[str, str | None]:
    if "exceeded quota" in message:
        return (
            f"a ResourceQuota in namespace {namespace} refuses the new pods: the namespace's quota is used "
            "up",
            f"raise the quota (kubectl describe resourcequota -n {namespace}) or lower the pods' "
            "requests/replicas",
        )
    if "must specify" in message:
        return (
            f"a ResourceQuota in namespace {namespace} requires requests/limits the pod template does not "
            "set",
            "set the named resources.requests/limits on every container (or add a LimitRange with defaults)",
        )
    if "forbidden" in message or "denied" in message:
        return (
            "an admission policy (Pod Security, a webhook) rejects the pods",
            "make the pod template comply with the policy named in the message",
        )
    return "the controller cannot create its pods", None


@detector(
    "REPLICA-FAILURE",
    Severity.ERROR,
    "a controller cannot create its pods (ReplicaFailure / FailedCreate: quota, admission)",
    fix="fix what the API server refuses (quota, policy) as the message says",
    needs=("Deployment", "Event"),
)
def replica_failure(snapshot: Snapshot) -> Iterator[Hit]:
    for deploy in snapshot.of_kind("Deployment"):
        cond = condition(deploy, "ReplicaFailure")
        if cond and cond.get("status") == "True":
            meaning, fix = _creation_failure(str(cond.get("message") or ""), namespace_of(deploy))
            yield Hit(deploy, condition_text(cond), meaning, fix)
    owned_by_deployment = {
        name_of(rs)
        for rs in snapshot.of_kind("ReplicaSet")
        if any(as_dict(o).get("kind") == "Deployment" for o in dig(rs, "metadata", "ownerReferences") or [])
    }
    for kind in ("ReplicaSet", "StatefulSet", "DaemonSet", "Job"):
        for obj in snapshot.of_kind(kind):
            if kind == "ReplicaSet" and name_of(obj) in owned_by_deployment:
                continue  # its Deployment carries the condition
            events = snapshot.events_for(obj, "FailedCreate", "SuccessfulCreate")
            if not events or events[-1].get("reason") != "FailedCreate":
                continue
            meaning, fix = _creation_failure(str(events[-1].get("message") or ""), namespace_of(obj))
            yield Hit(obj, f"event {event_text(events[-1])}", meaning, fix)


@detector(
    "DEPLOY-PROGRESS",
    Severity.ERROR,
    "a Deployment rollout past its progress deadline (ProgressDeadlineExceeded)",
    fix="fix what keeps the new pods from becoming Ready (see its pods' findings), or kubectl rollout undo",
    needs=("Deployment",),
)
def deploy_progress(snapshot: Snapshot) -> Iterator[Hit]:
    for deploy in snapshot.of_kind("Deployment"):
        cond = condition(deploy, "Progressing")
        if not cond or cond.get("status") != "False" or cond.get("reason") != "ProgressDeadlineExceeded":
            continue
        deadline = dig(deploy, "spec", "progressDeadlineSeconds") or 600
        status = as_dict(deploy.get("status"))
        yield Hit(
            deploy,
            condition_text(cond),
            f"the rollout made no progress for {deadline}s: {status.get('updatedReplicas', 0)} updated, "
            f"{status.get('availableReplicas', 0)} available of {dig(deploy, 'spec', 'replicas')} wanted; "
            "`kubectl rollout status` fails",
            f"fix the new pods (kubectl get pods -n {namespace_of(deploy)}; "
            "their IMAGE-PULL/CRASH-LOOP/POD-* findings), "
            f"or kubectl rollout undo deployment/{name_of(deploy)} -n {namespace_of(deploy)}",
        )


def _ordinal(pod: dict[str, Any], sts_name: str) -> int | None:
    suffix = name_of(pod).removeprefix(f"{sts_name}-")
    return int(suffix) if suffix.isdigit() and name_of(pod) != suffix else None


def _ready(pod: dict[str, Any]) -> bool:
    cond = condition(pod, "Ready")
    return bool(cond and cond.get("status") == "True")


@detector(
    "STS-ORDINAL",
    Severity.ERROR,
    "an OrderedReady StatefulSet stuck on an unready ordinal (later pods are not created or updated)",
    fix="fix the stuck pod; after fixing the template, delete it so the controller recreates it",
    needs=("StatefulSet", "Pod"),
)
def statefulset_ordinal(snapshot: Snapshot) -> Iterator[Hit]:
    for sts in snapshot.of_kind("StatefulSet"):
        if dig(sts, "spec", "podManagementPolicy") == "Parallel":
            continue
        wanted = int(dig(sts, "spec", "replicas") if dig(sts, "spec", "replicas") is not None else 1)
        if int(dig(sts, "status", "readyReplicas") or 0) >= wanted:
            continue
        name = name_of(sts)
        pods = {o: p for p in snapshot.pods_of(sts) if (o := _ordinal(p, name)) is not None}
        stuck = next((o for o in range(wanted) if o in pods and not _ready(pods[o])), None)
        if stuck is None:
            continue
        missing = [o for o in range(stuck + 1, wanted) if o not in pods]
        pod = pods[stuck]
        cond = condition(pod, "Ready")
        evidence = f"pod {name_of(pod)} phase {dig(pod, 'status', 'phase')}"
        if cond:
            evidence += f", {condition_text(cond)}"
        meaning = f"pod {name_of(pod)} is not Ready, and an OrderedReady StatefulSet waits for it"
        if missing:
            evidence += f"; not created: {', '.join(f'{name}-{o}' for o in missing)}"
            meaning += f": {len(missing)} later pod(s) are not created"
        yield Hit(
            sts,
            evidence + f" (readyReplicas {dig(sts, 'status', 'readyReplicas') or 0}/{wanted})",
            meaning,
            f"fix pod {name_of(pod)} (see its own findings: "
            f"kubectl describe pod -n {namespace_of(sts)} {name_of(pod)}); "
            "a pod of a broken revision is not replaced on its own: "
            f"kubectl delete pod -n {namespace_of(sts)} {name_of(pod)}",
        )


@detector(
    "STS-SERVICE",
    Severity.ERROR,
    "a StatefulSet's serviceName is a headless Service selecting its pods",
    fix="add a headless Service (clusterIP: None) named as spec.serviceName selecting the StatefulSet's pods",
    needs=("StatefulSet", "Service"),
)
def statefulset_service(snapshot: Snapshot) -> Iterator[Hit]:
    for sts in snapshot.of_kind("StatefulSet"):
        name = dig(sts, "spec", "serviceName")
        if not name:
            continue
        svc = snapshot.get("Service", namespace_of(sts), str(name))
        labels = as_dict(dig(sts, "spec", "template", "metadata", "labels"))
        if svc is None:
            yield Hit(
                sts,
                f"spec.serviceName {name}; no Service {name} in namespace {namespace_of(sts)}",
                f"serviceName {name} names no Service in namespace {namespace_of(sts)}: "
                "pods get no stable DNS names",
                f"add a headless Service {name} (clusterIP: None) selecting the StatefulSet's pods",
            )
        elif (cluster_ip := dig(svc, "spec", "clusterIP")) != "None":
            yield Hit(
                sts,
                f"spec.serviceName {name}; Service {name} has clusterIP {cluster_ip}",
                f"serviceName {name} is not headless (clusterIP: {cluster_ip}): no per-pod DNS records "
                f"<pod>.{name}",
                f"recreate Service {name} with spec.clusterIP: None (clusterIP cannot be changed in place)",
            )
        elif not labels_match(as_dict(dig(svc, "spec", "selector")), labels):
            selector = ",".join(f"{k}={v}" for k, v in as_dict(dig(svc, "spec", "selector")).items())
            yield Hit(
                sts,
                f"spec.serviceName {name}; its selector {selector or 'none'} does not match the pod labels",
                f"headless Service {name} does not select this StatefulSet's pods",
                "make the Service selector a subset of spec.template.metadata.labels",
            )
