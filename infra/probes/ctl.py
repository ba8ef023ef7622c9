"""The controller lab's decisions (CTL-1..10), on API objects as JSON (``kubectl get -o json`` shapes).

The live probes (``tests/live/test_ctl.py``) act on the lab (delete a pod, scale, change a template, label
a node) and record what the API server says; these functions decide whether the controllers did what the
claims say. Facts they rely on:

- A controller marks what it made with an ``ownerReference`` that has ``controller: true`` (one per object):
  ReplicaSet -> Pod, Deployment -> ReplicaSet -> Pod, DaemonSet -> Pod, Job -> Pod, CronJob -> Job.
- A Deployment names each ReplicaSet ``<deployment>-<pod-template-hash>`` and writes its revision in the
  annotation ``deployment.kubernetes.io/revision``; ``kubectl rollout undo`` gives an old ReplicaSet the
  next revision number and scales it back up, instead of making a new one.
- EndpointSlices (``discovery.k8s.io/v1``) of a Service carry the label ``kubernetes.io/service-name``;
  each endpoint has ``conditions.ready`` and a ``targetRef`` to its pod. Endpoints are compared by pod
  name, not address: nodes without a real pod network (hollow nodes) give every pod the same IP.
- The DaemonSet controller adds tolerations for the node conditions (not-ready, unreachable, disk,
  memory and pid pressure, unschedulable), so a DaemonSet pod lands on a cordoned node too; a NoSchedule
  or NoExecute taint it does not tolerate keeps it off.
- The Job controller ends a Job past ``activeDeadlineSeconds`` with condition ``Failed``, reason
  ``DeadlineExceeded``; a CronJob's Job carries its scheduled time in the annotation
  ``batch.kubernetes.io/cronjob-scheduled-timestamp`` (Kubernetes 1.28+) and in its name suffix (minutes
  since the epoch).
- The ResourceQuota admission plugin refuses a pod with ``exceeded quota: <name>, requested: ...,
  used: ..., limited: ...``; the LimitRanger plugin fills in ``defaultRequest``/``default`` and records it
  in the annotation ``kubernetes.io/limit-ranger``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from croniter import croniter
from kubernetes.utils import parse_quantity

Obj = Mapping[str, Any]

REVISION = "deployment.kubernetes.io/revision"
TEMPLATE_HASH = "pod-template-hash"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
SCHEDULED_AT = "batch.kubernetes.io/cronjob-scheduled-timestamp"
LIMIT_RANGER = "kubernetes.io/limit-ranger"
# kubemark's hollow kubelet reports this runtime: the node registers and reports pods Running, but runs
# no container (no exec, logs, HTTP or completing Jobs).
FAKE_RUNTIMES = ("fakeRuntime://", "fake://")
# Tolerations the DaemonSet controller adds to every pod it makes (pkg/controller/daemon/util).
DAEMONSET_TOLERATED = {
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
}


def _meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def name_of(obj: Obj) -> str:
    return str(_meta(obj).get("name", "?"))


def _labels(obj: Obj) -> Mapping[str, str]:
    return _meta(obj).get("labels") or {}


def is_terminating(obj: Obj) -> bool:
    return bool(_meta(obj).get("deletionTimestamp"))


def is_ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def live(pods: Iterable[Obj]) -> list[Obj]:
    """Pods that count: not being deleted and not finished."""
    return [p for p in pods if not is_terminating(p) and not is_terminal(p)]


# --- nodes that run no containers --------------------------------------------------------------------------


def no_containers_reason(nodes: Sequence[Obj]) -> str | None:
    """Why probes that need running containers cannot run here (every node's runtime is a fake), or None."""
    runtimes = {
        str(((n.get("status") or {}).get("nodeInfo") or {}).get("containerRuntimeVersion", "")) for n in nodes
    }
    if nodes and all(r.startswith(FAKE_RUNTIMES) for r in runtimes):
        return (
            f"needs real pods: the nodes run no containers (container runtime {', '.join(sorted(runtimes))})"
        )
    return None


# --- ownership (CTL-1, CTL-2) ------------------------------------------------------------------------------


def controller_of(obj: Obj) -> Mapping[str, Any] | None:
    """The ownerReference with ``controller: true``: the object that manages this one."""
    return next((r for r in _meta(obj).get("ownerReferences") or [] if r.get("controller")), None)


def _describe_owner(ref: Mapping[str, Any] | None) -> str:
    return f"{ref.get('kind')}/{ref.get('name')}" if ref else "no controller"


def check_controlled_by(objects: Sequence[Obj], owner: Obj, kind: str) -> None:
    """Every object's controller reference points at ``owner`` (a ``kind``), by name and uid."""
    assert objects, f"{kind} {name_of(owner)} controls nothing"
    uid = _meta(owner).get("uid")
    for obj in objects:
        ref = controller_of(obj)
        wrong = f"{name_of(obj)} is controlled by {_describe_owner(ref)}, expected {kind}/{name_of(owner)}"
        assert ref is not None, wrong
        assert (ref.get("kind"), ref.get("name")) == (kind, name_of(owner)), wrong
        assert ref.get("uid") == uid, (
            f"{name_of(obj)}'s owner {kind}/{name_of(owner)} has uid {ref.get('uid')}, the live one {uid}"
        )


def check_ownership_chain(
    deployment: Obj, replicasets: Sequence[Obj], pods: Sequence[Obj]
) -> dict[str, list[str]]:
    """Deployment -> ReplicaSet -> Pod, checked on live objects; returns ReplicaSet name -> its pod names.

    Each pod's ReplicaSet must be the Deployment's and carry the pod's ``pod-template-hash``; the pods of
    the current ReplicaSet must number ``spec.replicas``.
    """
    ours = [rs for rs in replicasets if (controller_of(rs) or {}).get("uid") == _meta(deployment).get("uid")]
    check_controlled_by(ours, deployment, "Deployment")
    by_uid = {_meta(rs).get("uid"): rs for rs in ours}
    chain: dict[str, list[str]] = {name_of(rs): [] for rs in ours}
    for pod in live(pods):
        ref = controller_of(pod) or {}
        rs = by_uid.get(ref.get("uid"))
        assert rs is not None, (
            f"pod {name_of(pod)} is controlled by {_describe_owner(ref)}, "
            f"no ReplicaSet of {name_of(deployment)}"
        )
        pod_hash, rs_hash = _labels(pod).get(TEMPLATE_HASH), _labels(rs).get(TEMPLATE_HASH)
        assert pod_hash is not None, f"pod {name_of(pod)} has no {TEMPLATE_HASH} label"
        assert pod_hash == rs_hash, (
            f"pod {name_of(pod)} has {TEMPLATE_HASH} {pod_hash}, its ReplicaSet {name_of(rs)} {rs_hash}"
        )
        chain[name_of(rs)].append(name_of(pod))
    current = current_replicaset(deployment, ours)
    wanted = (deployment.get("spec") or {}).get("replicas", 1)
    assert len(chain[name_of(current)]) == wanted, (
        f"current ReplicaSet {name_of(current)} has pods {chain[name_of(current)]}, Deployment wants {wanted}"
    )
    return chain


def revision(obj: Obj) -> int:
    return int((_meta(obj).get("annotations") or {}).get(REVISION, 0))


def current_replicaset(deployment: Obj, replicasets: Sequence[Obj]) -> Obj:
    """The ReplicaSet whose revision is the Deployment's: the one the Deployment rolls towards."""
    wanted = revision(deployment)
    matching = [rs for rs in replicasets if revision(rs) == wanted]
    assert len(matching) == 1, (
        f"{len(matching)} ReplicaSets at the Deployment's revision {wanted}: "
        f"{[(name_of(rs), revision(rs)) for rs in replicasets]}"
    )
    return matching[0]


def _spec_replicas(obj: Obj) -> int:
    return int((obj.get("spec") or {}).get("replicas", 1))


def _status(obj: Obj, field: str) -> int:
    return int((obj.get("status") or {}).get(field) or 0)


def check_rolled_to_new(deployment: Obj, before: Obj, replicasets: Sequence[Obj]) -> Obj:
    """After a template change: a new ReplicaSet runs every replica; ``before`` is kept, scaled to 0.

    Returns the new ReplicaSet.
    """
    uid = _meta(before).get("uid")
    current = current_replicaset(deployment, replicasets)
    replicas = _spec_replicas(deployment)
    assert _meta(current).get("uid") != uid, (
        f"the Deployment is still at ReplicaSet {name_of(before)} (revision {revision(before)})"
    )
    assert revision(current) > revision(before), (
        f"new ReplicaSet {name_of(current)} has revision {revision(current)} <= {revision(before)}"
    )
    seen = (_spec_replicas(current), _status(current, "readyReplicas"))
    assert seen == (replicas, replicas), f"new ReplicaSet {name_of(current)} (replicas, ready) = {seen}"
    kept = [rs for rs in replicasets if _meta(rs).get("uid") == uid]
    assert kept, f"old ReplicaSet {name_of(before)} was deleted; revisionHistoryLimit should keep it"
    old = (_spec_replicas(kept[0]), _status(kept[0], "replicas"))
    assert old == (0, 0), f"old ReplicaSet {name_of(before)} still has (replicas, pods) = {old}"
    return current


def check_rolled_back(deployment: Obj, old: Obj, replicasets: Sequence[Obj]) -> None:
    """After ``kubectl rollout undo``: the very same old ReplicaSet (same uid) runs every replica again."""
    current = current_replicaset(deployment, replicasets)
    assert _meta(current).get("uid") == _meta(old).get("uid"), (
        f"undo rolled to {name_of(current)}, not back to the old ReplicaSet {name_of(old)}"
    )
    replicas = _spec_replicas(deployment)
    seen = (_spec_replicas(current), _status(current, "readyReplicas"))
    assert seen == (replicas, replicas), f"ReplicaSet {name_of(current)} (replicas, ready) = {seen}"
    others = {name_of(rs): _spec_replicas(rs) for rs in replicasets if rs is not current}
    assert not any(others.values()), f"other ReplicaSets still want pods: {others}"


# --- endpoints (CTL-4, CTL-6) ------------------------------------------------------------------------------


def endpoint_pods(slices: Iterable[Obj]) -> tuple[set[str], set[str]]:
    """(ready, not ready) pod names behind a Service, from its EndpointSlices.

    ``conditions.ready`` left out means ready (the API's rule for consumers); endpoints without a pod
    reference are ignored.
    """
    ready: set[str] = set()
    not_ready: set[str] = set()
    for item in slices:
        for endpoint in item.get("endpoints") or []:
            pod = (endpoint.get("targetRef") or {}).get("name")
            if not pod:
                continue
            is_ok = (endpoint.get("conditions") or {}).get("ready")
            (ready if is_ok is None or is_ok else not_ready).add(pod)
    return ready, not_ready


def check_endpoints_follow(service: str, slices: Sequence[Obj], pods: Sequence[Obj], replicas: int) -> None:
    """The Service's ready endpoints are exactly its ``replicas`` ready pods, no more, no fewer."""
    slices = [s for s in slices if _labels(s).get(SERVICE_NAME_LABEL) == service]
    ready_pods = {name_of(p) for p in live(pods) if is_ready(p)}
    assert len(ready_pods) == replicas, f"{len(ready_pods)} ready pods {sorted(ready_pods)}, want {replicas}"
    ready, not_ready = endpoint_pods(slices)
    assert ready == ready_pods, (
        f"Service {service}: ready endpoints {sorted(ready)} != ready pods {sorted(ready_pods)}"
        f" (not-ready endpoints {sorted(not_ready)}; {len(slices)} EndpointSlices)"
    )


@dataclass(frozen=True)
class Event:
    """One watch event: ADDED / MODIFIED / DELETED and the object as API JSON."""

    type: str
    obj: Mapping[str, Any]


def replay(initial: Sequence[Obj], events: Sequence[Event]) -> list[dict[str, Obj]]:
    """Object name -> object after the initial list and after each event: the states a watch saw."""
    state = {name_of(o): o for o in initial}
    states = [dict(state)]
    for event in events:
        if event.type == "DELETED":
            state.pop(name_of(event.obj), None)
        elif event.type in ("ADDED", "MODIFIED"):
            state[name_of(event.obj)] = event.obj
        else:
            continue
        states.append(dict(state))
    return states


def fewest_ready_endpoints(initial: Sequence[Obj], events: Sequence[Event]) -> int:
    """The smallest number of ready endpoints the Service had at any moment of the recording."""
    return min(len(endpoint_pods(state.values())[0]) for state in replay(initial, events))


def most_template_hashes(initial: Sequence[Obj], events: Sequence[Event]) -> int:
    """The largest number of ReplicaSets (pod-template-hashes) with live pods at the same moment."""
    return max(
        len({_labels(p).get(TEMPLATE_HASH) for p in live(state.values())})
        for state in replay(initial, events)
    )


def check_rolling_update(
    initial_slices: Sequence[Obj],
    slice_events: Sequence[Event],
    initial_pods: Sequence[Obj],
    pod_events: Sequence[Event],
    replicas: int,
    max_unavailable: int,
) -> None:
    """CTL-4 RollingUpdate: the Service never had fewer than ``replicas - maxUnavailable`` ready endpoints,
    and pods of two ReplicaSets ran side by side."""
    floor = replicas - max_unavailable
    fewest = fewest_ready_endpoints(initial_slices, slice_events)
    assert fewest >= floor, (
        f"the Service dropped to {fewest} ready endpoints during the update (maxUnavailable "
        f"{max_unavailable} promises at least {floor}; {len(slice_events)} EndpointSlice events)"
    )
    hashes = most_template_hashes(initial_pods, pod_events)
    assert hashes >= 2, f"pods of {hashes} ReplicaSet(s) at most at a time: the old and new never coexisted"


def check_recreate(initial_pods: Sequence[Obj], pod_events: Sequence[Event], old_hash: str) -> None:
    """CTL-4 Recreate: no pod of the new template exists until every pod of ``old_hash`` is gone."""
    states = replay(initial_pods, pod_events)
    assert any(_labels(p).get(TEMPLATE_HASH) == old_hash for p in live(states[0].values())), (
        f"no pod of the old template {old_hash} at the start"
    )
    new_seen = False
    for state in states:
        old = [
            name_of(p)
            for p in state.values()
            if _labels(p).get(TEMPLATE_HASH) == old_hash and not is_terminal(p)
        ]
        new = [name_of(p) for p in state.values() if _labels(p).get(TEMPLATE_HASH) not in (None, old_hash)]
        assert not (old and new), f"new pods {new} exist while old pods {old} are still there"
        new_seen = new_seen or bool(new)
    assert new_seen, "no pod of the new template appeared"


# --- DaemonSet placement (CTL-5) ---------------------------------------------------------------------------


def _tolerates(taint: Mapping[str, Any], tolerations: Sequence[Mapping[str, Any]]) -> bool:
    for toleration in tolerations:
        if toleration.get("effect") not in (None, "", taint.get("effect")):
            continue
        key, operator = toleration.get("key"), toleration.get("operator", "Equal")
        if not key and operator == "Exists":
            return True
        if key == taint.get("key") and (
            operator == "Exists" or toleration.get("value", "") == taint.get("value", "")
        ):
            return True
    return False


def daemon_tolerations(pod_spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The pod template's tolerations plus the ones the DaemonSet controller adds to every pod."""
    added = [{"key": k, "operator": "Exists", "effect": e} for k, e in sorted(DAEMONSET_TOLERATED)]
    return [*(pod_spec.get("tolerations") or []), *added]


def runs_daemon(node: Obj, pod_spec: Mapping[str, Any], *, ignore_selector: bool = False) -> bool:
    """Whether the DaemonSet with this pod template belongs on ``node``: nodeSelector and taints."""
    selector = pod_spec.get("nodeSelector") or {}
    if not ignore_selector and any(_labels(node).get(k) != v for k, v in selector.items()):
        return False
    tolerations = daemon_tolerations(pod_spec)
    return all(
        _tolerates(t, tolerations)
        for t in (node.get("spec") or {}).get("taints") or []
        if t.get("effect") in ("NoSchedule", "NoExecute")
    )


def eligible_nodes(nodes: Sequence[Obj], pod_spec: Mapping[str, Any]) -> set[str]:
    return {name_of(n) for n in nodes if runs_daemon(n, pod_spec)}


def nodes_to_label(nodes: Sequence[Obj], pod_spec: Mapping[str, Any]) -> list[str]:
    """Nodes that would run the DaemonSet if they had its nodeSelector labels, and lack them now."""
    return sorted(
        name_of(n)
        for n in nodes
        if runs_daemon(n, pod_spec, ignore_selector=True) and not runs_daemon(n, pod_spec)
    )


def pod_node(pod: Obj) -> str | None:
    """Where a DaemonSet pod runs or is bound to go: ``spec.nodeName``, else its node-name affinity."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    terms = (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
        or {}
    ).get("nodeSelectorTerms") or []
    for term in terms:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("values"):
                return str(field["values"][0])
    return None


def check_one_per_node(pods: Sequence[Obj], eligible: set[str]) -> None:
    """Exactly one (live) DaemonSet pod on each eligible node, and none on any other."""
    placed: dict[str, list[str]] = {}
    for pod in live(pods):
        placed.setdefault(pod_node(pod) or "<unbound>", []).append(name_of(pod))
    doubles = {n: p for n, p in placed.items() if len(p) > 1}
    assert not doubles, f"more than one pod on a node: {doubles}"
    missing, extra = sorted(eligible - placed.keys()), sorted(placed.keys() - eligible)
    where = f"eligible nodes {sorted(eligible)}, pods {placed}"
    assert not missing, f"no pod on eligible nodes {missing}; {where}"
    assert not extra, f"pods on nodes that are not eligible {extra}; {where}"


# --- Jobs and CronJobs (CTL-7) ------------------------------------------------------------------------------


def condition(obj: Obj, kind: str) -> Mapping[str, Any] | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), None)


def _true(obj: Obj, kind: str) -> bool:
    return (condition(obj, kind) or {}).get("status") == "True"


def check_job_complete(job: Obj) -> None:
    """Complete, with ``completions`` successful pods and no more failures than ``backoffLimit`` allows."""
    spec = job.get("spec") or {}
    completions, backoff = int(spec.get("completions") or 1), int(spec.get("backoffLimit", 6))
    failed_condition = condition(job, "Failed") or {}
    assert not _true(job, "Failed"), (
        f"Job {name_of(job)} failed: {failed_condition.get('reason')}: {failed_condition.get('message')}"
    )
    assert _true(job, "Complete"), (
        f"Job {name_of(job)} not Complete: {_status(job, 'succeeded')}/{completions} succeeded, "
        f"{_status(job, 'active')} active"
    )
    assert _status(job, "succeeded") == completions, (
        f"Job {name_of(job)}: {_status(job, 'succeeded')} succeeded, completions {completions}"
    )
    assert _status(job, "failed") <= backoff, (
        f"Job {name_of(job)}: {_status(job, 'failed')} > backoffLimit {backoff}"
    )


def check_deadline_exceeded(job: Obj) -> None:
    """Ended by ``activeDeadlineSeconds``: condition Failed, reason DeadlineExceeded, no pod left running."""
    assert (job.get("spec") or {}).get("activeDeadlineSeconds"), (
        f"Job {name_of(job)} has no activeDeadlineSeconds"
    )
    failed = condition(job, "Failed") or {}
    assert failed.get("status") == "True", (
        f"Job {name_of(job)} has not failed yet ({_status(job, 'active')} active, conditions "
        f"{[c.get('type') for c in (job.get('status') or {}).get('conditions') or []]})"
    )
    assert failed.get("reason") == "DeadlineExceeded", (
        f"Job {name_of(job)} failed with {failed.get('reason')} ({failed.get('message')}), "
        "not DeadlineExceeded"
    )
    assert not _true(job, "Complete"), f"Job {name_of(job)} is also Complete"
    assert _status(job, "active") == 0, f"Job {name_of(job)} still has {_status(job, 'active')} active pods"


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def scheduled_time(job: Obj, cronjob: str) -> dt.datetime | None:
    """When the CronJob scheduled this Job: its annotation, else the name suffix (minutes since the epoch)."""
    stamp = (_meta(job).get("annotations") or {}).get(SCHEDULED_AT)
    if stamp:
        return _time(stamp)
    match = re.fullmatch(rf"{re.escape(cronjob)}-(\d+)", name_of(job))
    return dt.datetime.fromtimestamp(int(match.group(1)) * 60, dt.UTC) if match else None


def jobs_of(cronjob: Obj, jobs: Sequence[Obj]) -> list[Obj]:
    uid = _meta(cronjob).get("uid")
    return [j for j in jobs if (controller_of(j) or {}).get("uid") == uid]


def check_cron_history(cronjob: Obj, jobs: Sequence[Obj]) -> list[str]:
    """The CronJob's Jobs started at times its schedule fires, and no more finished ones are kept than its
    history limits allow. Returns the names of its Jobs, oldest first."""
    spec = cronjob.get("spec") or {}
    schedule, name = str(spec.get("schedule", "")), name_of(cronjob)
    ours = jobs_of(cronjob, jobs)
    timed = sorted(
        ((scheduled_time(j, name), j) for j in ours),
        key=lambda t: t[0] or dt.datetime.min.replace(tzinfo=dt.UTC),
    )
    for when, job in timed:
        assert when is not None, f"Job {name_of(job)} of CronJob {name} carries no scheduled time"
        assert croniter.match(schedule, when.replace(tzinfo=None)), (
            f"Job {name_of(job)} was scheduled at {when.isoformat()}, which `{schedule}` does not fire at"
        )
    succeeded = [name_of(j) for j in ours if _true(j, "Complete")]
    failed = [name_of(j) for j in ours if _true(j, "Failed")]
    keep_ok, keep_failed = (
        int(spec.get("successfulJobsHistoryLimit", 3)),
        int(spec.get("failedJobsHistoryLimit", 1)),
    )
    assert len(succeeded) <= keep_ok, (
        f"CronJob {name} keeps {len(succeeded)} successful Jobs {succeeded} > {keep_ok}"
    )
    assert len(failed) <= keep_failed, (
        f"CronJob {name} keeps {len(failed)} failed Jobs {failed} > {keep_failed}"
    )
    return [name_of(j) for _, j in timed]


# --- config into pods (CTL-8) -------------------------------------------------------------------------------


def parse_env(text: str) -> dict[str, str]:
    """``printenv``/``env`` output -> variables (a value may hold ``=``; continuation lines are dropped)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            found[name] = value
    return found


def check_values(what: str, seen: Mapping[str, str], expected: Mapping[str, str]) -> None:
    wrong = {k: (seen.get(k), v) for k, v in expected.items() if seen.get(k) != v}
    assert not wrong, f"{what}: (seen, expected) {wrong}"


# --- quota and defaults (CTL-9) -----------------------------------------------------------------------------

_QUOTA = re.compile(
    r"exceeded quota: (?P<name>[^,]+), requested: (?P<requested>\S+), used: (?P<used>\S+), "
    r"limited: (?P<limited>\S+)"
)


def _pairs(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split(",") if "=" in item)


def parse_quota_rejection(message: str) -> dict[str, Any] | None:
    """An admission refusal -> quota name and requested/used/limited per resource; None when not a quota's."""
    match = _QUOTA.search(message)
    if not match:
        return None
    return {
        "quota": match["name"],
        **{part: _pairs(match[part]) for part in ("requested", "used", "limited")},
    }


def over_quota_request(quota: Obj, resource: str = "requests.cpu") -> str:
    """A request above the quota's whole ``resource`` (hard + 1 core or 1 GiB): refused even when unused."""
    hard = (quota.get("spec") or {}).get("hard") or {}
    assert resource in hard, f"ResourceQuota {name_of(quota)} sets no {resource} (hard: {sorted(hard)})"
    cpu = resource.endswith("cpu")
    value = parse_quantity(hard[resource]) + (Decimal(1) if cpu else Decimal(2**30))
    return f"{int(value * 1000)}m" if cpu else str(int(value))


def check_quota_rejection(message: str, quota: str, resource: str, requested: str) -> None:
    """The API server refused the pod because of ``quota`` on ``resource``, naming what was asked."""
    parsed = parse_quota_rejection(message)
    assert parsed is not None, f"the pod was refused, but not by a quota: {message}"
    assert parsed["quota"] == quota, f"refused by quota {parsed['quota']}, expected {quota}: {message}"
    assert resource in parsed["limited"], f"quota {quota} limited {parsed['limited']}, not {resource}"
    asked = parsed["requested"].get(resource)
    assert asked is not None, f"the refusal names no {resource}: {message}"
    assert parse_quantity(asked) == parse_quantity(requested), (
        f"the refusal names {resource}={asked}, the pod asked {requested}: {message}"
    )


def container_defaults(limit_range: Obj) -> tuple[dict[str, str], dict[str, str]]:
    """(defaultRequest, default) of the LimitRange's Container item."""
    for item in (limit_range.get("spec") or {}).get("limits") or []:
        if item.get("type") == "Container":
            return dict(item.get("defaultRequest") or {}), dict(item.get("default") or {})
    raise AssertionError(f"LimitRange {name_of(limit_range)} has no Container defaults")


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return a.keys() == b.keys() and all(parse_quantity(a[k]) == parse_quantity(b[k]) for k in a)


def check_defaults_applied(pod: Obj, limit_range: Obj) -> None:
    """Every container of a pod created without resources got the LimitRange's requests and limits."""
    requests, limits = container_defaults(limit_range)
    annotation = (_meta(pod).get("annotations") or {}).get(LIMIT_RANGER, "")
    assert annotation.startswith("LimitRanger plugin set"), (
        f"pod {name_of(pod)} has no {LIMIT_RANGER} annotation: the LimitRanger did not act"
    )
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        got_requests, got_limits = resources.get("requests") or {}, resources.get("limits") or {}
        assert _same(got_requests, requests), (
            f"container {container.get('name')} requests {got_requests} != {requests}"
        )
        assert _same(got_limits, limits), f"container {container.get('name')} limits {got_limits} != {limits}"


# --- network policy (CTL-10) -------------------------------------------------------------------------------


def policy_enforcement_gap(env: str, daemonsets: Sequence[Obj]) -> str | None:
    """Why NetworkPolicy is not enforced on this cluster (the probe then skips), or None when it is.

    kind (v0.24 and later; the toolkit pins v0.33) ships kindnetd with network policy enforcement, so a
    ``kindnet`` DaemonSet is enough. On AWS the VPC CNI enforces policies only when its node agent runs with
    ``--enable-network-policy=true`` (a container of the ``aws-node`` DaemonSet).
    """
    names = {name_of(d) for d in daemonsets}
    if env != "aws":
        if "kindnet" in names:
            return None
        return (
            f"no kindnet DaemonSet in kube-system (found {sorted(names)}): kind's NetworkPolicy enforcer "
            "is absent"
        )
    aws_node = next((d for d in daemonsets if name_of(d) == "aws-node"), None)
    if aws_node is None:
        return f"no aws-node DaemonSet in kube-system (found {sorted(names)}): not the VPC CNI"
    containers = ((aws_node.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
    if any("--enable-network-policy=true" in (c.get("args") or []) for c in containers):
        return None
    return (
        "the VPC CNI's network policy agent is off (no aws-node container runs with "
        "--enable-network-policy=true): NetworkPolicy objects are accepted but not enforced"
    )


def check_denies_all_ingress(policy: Obj) -> None:
    """The NetworkPolicy selects every pod of its namespace and allows no ingress at all."""
    spec = policy.get("spec") or {}
    assert spec.get("podSelector") in ({}, None), f"{name_of(policy)} selects only {spec.get('podSelector')}"
    assert "Ingress" in (spec.get("policyTypes") or []), (
        f"{name_of(policy)} has policyTypes {spec.get('policyTypes')}"
    )
    assert not spec.get("ingress"), f"{name_of(policy)} allows ingress: {spec.get('ingress')}"


def check_no_answer(rc: int, body: str, marker: str, what: str) -> None:
    """A call that must not get through: it failed, and the server's page (``marker``) never came back."""
    assert marker not in body, f"{what}: answered {body.strip()[:200]!r}"
    assert rc != 0, f"{what}: the call succeeded (exit 0) with {body.strip()[:200]!r}"


def check_whoami_answer(body: str, pod: str) -> None:
    """whoami answers with ``Hostname: <pod>``: the call reached that pod."""
    match = re.search(r"^Hostname:\s*(\S+)", body, re.MULTILINE)
    assert match, f"no whoami answer (no Hostname line): {body.strip()[:200]!r}"
    assert match.group(1) == pod, f"answered by {match.group(1)}, expected {pod}"


def lab_objects(objects: Iterable[Obj], namespaces: Iterable[str]) -> list[Obj]:
    """The rendered objects of one lab: those in its namespaces, and those Namespaces themselves."""
    wanted = set(namespaces)
    return [
        o
        for o in objects
        if _meta(o).get("namespace") in wanted or (o.get("kind") == "Namespace" and name_of(o) in wanted)
    ]


def pick(objects: Iterable[Obj], kind: str, namespace: str, name: str) -> Obj:
    found = [
        o
        for o in objects
        if o.get("kind") == kind and _meta(o).get("namespace") == namespace and name_of(o) == name
    ]
    assert len(found) == 1, f"{len(found)} rendered {kind} {namespace}/{name}"
    return found[0]
