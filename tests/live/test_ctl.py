"""CTL-1..10: the controllers (ReplicaSet, Deployment, DaemonSet, Job, CronJob), config, quotas, policy.

Every probe that changes the lab (deletes or scales pods, changes a pod template, labels nodes, edits the
ConfigMap) registers how to put it back first (``undo``), so it is put back also when the probe fails;
restores go through reconcile's own server-side apply of the object from git. Probes that need running
containers (CTL-7, CTL-8, CTL-10) skip at once, saying so, on nodes that run none (hollow nodes report a
fake container runtime). Every wait is bounded; the whole lab verifies in about 2 minutes on kind.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from infra import series as recorded
from infra.probes import ctl
from infra.probes.eventually import eventually

NAMESPACE, PEER_NAMESPACE = "lab-ctl", "lab-ctl-peer"
PROBE_ANNOTATION = "infra.lab/probe"  # a pod-template annotation: a template change and nothing else
ROLLOUT_TIMEOUT = 90  # two whoami pods, one at a time, Ready in seconds each; image already pulled
NODE_LABEL = ("kiamol", "ch06")
BUSYBOX = "busybox:1.37.0"
PROBE_LABELS = {"app.kubernetes.io/name": "infra-probe", "app.kubernetes.io/component": "verify"}


def _selector(name: str) -> str:
    return f"app.kubernetes.io/name={name}"


# --- fixtures and helpers -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def batch(kube):
    from kubernetes import client

    return client.BatchV1Api(kube.api)


@pytest.fixture(scope="module")
def discovery(kube):
    from kubernetes import client

    return client.DiscoveryV1Api(kube.api)


@pytest.fixture(scope="module")
def needs_real_pods(kube) -> Callable[[], None]:
    """Call it first in a probe that needs running containers: skips, with the reason, on hollow nodes."""
    reason = ctl.no_containers_reason(kube.json(kube.core.list_node().items))

    def check() -> None:
        if reason:
            pytest.skip(reason)

    return check


@functools.cache
def _git_objects(env: str) -> tuple[dict[str, Any], ...]:
    from infra.gitops.desired import render_desired

    return tuple(render_desired(env).objects)


def from_git(env: str, kind: str, name: str, namespace: str = NAMESPACE) -> dict[str, Any]:
    """The object as the environment's manifests render it."""
    return dict(ctl.pick(_git_objects(env), kind, namespace, name))


def apply_from_git(kube, env: str, kind: str, name: str, namespace: str = NAMESPACE) -> dict[str, Any]:
    """Reconcile's own apply step for one object: server-side, field manager ``infra``, conflicts forced."""
    from infra.gitops.apply import apply_objects
    from infra.gitops.desired import dump

    applied = apply_objects(
        kube.target,
        dump([from_git(env, kind, name, namespace)]),
        dry_run=False,
        what=f"applying {kind} {namespace}/{name} from git",
    )
    return applied[0]


def _deployment(kube, name: str) -> dict[str, Any]:
    return kube.json(kube.apps.read_namespaced_deployment(name, NAMESPACE))


def _replicasets(kube, name: str) -> list[dict[str, Any]]:
    return kube.json(kube.apps.list_namespaced_replica_set(NAMESPACE, label_selector=_selector(name)).items)


def _slices(discovery, kube, service: str) -> list[dict[str, Any]]:
    selector = f"{ctl.SERVICE_NAME_LABEL}={service}"
    return kube.json(discovery.list_namespaced_endpoint_slice(NAMESPACE, label_selector=selector).items)


def _set_probe_annotation(kube, name: str, value: str | None) -> None:
    """Change (or, with None, remove) the probe's pod-template annotation: a new template, a rollout."""
    body = {"spec": {"template": {"metadata": {"annotations": {PROBE_ANNOTATION: value}}}}}
    kube.apps.patch_namespaced_deployment(name, NAMESPACE, body)


def _rolled_out(kube, name: str) -> dict[str, Any]:
    """The Deployment finished its rollout: every replica updated, ready and available, no old pod left."""
    deployment = _deployment(kube, name)
    status, replicas = deployment.get("status") or {}, deployment["spec"]["replicas"]
    assert status.get("observedGeneration", 0) >= deployment["metadata"]["generation"], "not yet observed"
    counts = {
        k: status.get(k, 0) for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
    }
    assert set(counts.values()) == {replicas}, f"Deployment {name} at {counts}, wants {replicas}"
    pods = ctl.live(kube.pods(NAMESPACE, _selector(name)))
    assert len(pods) == replicas, f"{len(pods)} pods of {name} still running, wants {replicas}"
    return deployment


def wait_rolled_out(kube, name: str, retry_on) -> dict[str, Any]:
    return eventually(
        lambda: _rolled_out(kube, name), ROLLOUT_TIMEOUT, 1, f"{name} rolled out", retry_on=retry_on
    )


def restore_deployment(kube, env: str, name: str, retry_on) -> None:
    """Back to git: the probe's annotation removed (reconcile alone would leave a field it never set), git's
    object applied, the rollout finished."""
    _set_probe_annotation(kube, name, None)
    apply_from_git(kube, env, "Deployment", name)
    wait_rolled_out(kube, name, retry_on)


class Recording:
    """Watch events of one kind of object from a list's resourceVersion on, in a thread, until stopped.

    Starting from the list's version replays every change after it, so nothing between the list and the
    action under test is missed; ``initial`` is the list itself.
    """

    def __init__(self, kube, list_fn: Callable[..., Any], namespace: str, selector: str) -> None:
        listed = list_fn(namespace, label_selector=selector)
        self.initial: list[dict[str, Any]] = kube.json(listed.items)
        self.events: list[ctl.Event] = []
        self.error: str | None = None
        self._stop = threading.Event()
        self._args = (list_fn, namespace, selector)
        self._thread = threading.Thread(
            target=self._run, args=(listed.metadata.resource_version,), daemon=True
        )
        self._thread.start()

    def _run(self, version: str) -> None:
        from kubernetes import watch

        list_fn, namespace, selector = self._args
        while not self._stop.is_set():
            stream = watch.Watch()
            try:
                for event in stream.stream(
                    list_fn, namespace, label_selector=selector, resource_version=version, timeout_seconds=2
                ):
                    raw = event["raw_object"]
                    if event["type"] == "ERROR":  # e.g. 410 Gone: the recording would have a hole
                        self.error = f"watch failed: {raw.get('message', raw)}"
                        return
                    version = raw["metadata"]["resourceVersion"]
                    self.events.append(ctl.Event(event["type"], raw))
                    if self._stop.is_set():
                        stream.stop()
                        break
            except Exception as error:  # reported by stop(): the recording is incomplete
                self.error = f"watch failed: {error}"
                return

    def stop(self) -> Recording:
        self._stop.set()
        self._thread.join(15)
        assert self.error is None, self.error
        assert not self._thread.is_alive(), "the watch did not stop"
        return self


def _ready_pod(kube, namespace: str, name: str) -> dict[str, Any]:
    pods = [p for p in ctl.live(kube.pods(namespace, _selector(name))) if ctl.is_ready(p)]
    assert pods, f"no ready pod of {namespace}/{name}"
    return sorted(pods, key=ctl.name_of)[0]


# --- CTL-1 --------------------------------------------------------------------------------------------------


@pytest.mark.live
def test_ctl_1_replicaset_replaces_deleted_pod(kube, retry_on):
    """Each whoami-web pod names the ReplicaSet its controller; a deleted pod is replaced at once."""
    name, selector = "whoami-web", _selector("whoami-web")

    def settled() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        rs = kube.json(kube.apps.read_namespaced_replica_set(name, NAMESPACE))
        pods = ctl.live(kube.pods(NAMESPACE, selector))
        assert len(pods) == rs["spec"]["replicas"] == 3, (
            f"{len(pods)} pods, replicas {rs['spec']['replicas']}"
        )
        ctl.check_controlled_by(pods, rs, "ReplicaSet")
        return rs, pods

    rs, pods = eventually(settled, 60, 2, f"ReplicaSet {name} at 3 pods", retry_on=retry_on)
    before = {ctl.name_of(p) for p in pods}
    victim = sorted(before)[0]
    started = time.monotonic()
    kube.delete_pod(NAMESPACE, victim, grace=None)  # graceful: the replacement need not wait for it

    def replaced() -> float:
        current = ctl.live(kube.pods(NAMESPACE, selector))
        names = {ctl.name_of(p) for p in current}
        assert victim not in names, f"{victim} still counted"
        assert len(current) == 3, f"{len(current)} pods: {sorted(names)}"
        assert names - before, f"no new pod yet: {sorted(names)}"
        ctl.check_controlled_by(current, rs, "ReplicaSet")
        return time.monotonic() - started

    took = eventually(replaced, 15, 0.5, f"{victim} replaced", retry_on=retry_on)
    assert took <= 15, f"the replacement took {took:.1f}s"
    eventually(lambda: _ready_count(kube, selector, 3), 60, 1, "3 ready whoami-web pods", retry_on=retry_on)


def _ready_count(kube, selector: str, count: int) -> None:
    ready = [p for p in ctl.live(kube.pods(NAMESPACE, selector)) if ctl.is_ready(p)]
    assert len(ready) == count, f"{len(ready)} ready pods, want {count}"


# --- CTL-2 --------------------------------------------------------------------------------------------------


@pytest.mark.live
def test_ctl_2_deployment_rolls_and_undoes(kube, env, token, undo, retry_on):
    """Deployment -> ReplicaSet -> Pod; a template change rolls to a new ReplicaSet, undo back to the old."""
    name = "pi-web"
    start = wait_rolled_out(kube, name, retry_on)
    ctl.check_ownership_chain(start, _replicasets(kube, name), kube.pods(NAMESPACE, _selector(name)))
    before = ctl.current_replicaset(start, _replicasets(kube, name))
    undo(lambda: restore_deployment(kube, env, name, retry_on), f"Deployment {name} back to git")

    _set_probe_annotation(kube, name, token)

    def rolled() -> dict[str, Any]:
        deployment = _rolled_out(kube, name)
        return ctl.check_rolled_to_new(deployment, before, _replicasets(kube, name))

    new = eventually(rolled, ROLLOUT_TIMEOUT, 1, f"{name} rolled to a new ReplicaSet", retry_on=retry_on)
    chain = ctl.check_ownership_chain(
        _deployment(kube, name), _replicasets(kube, name), kube.pods(NAMESPACE, _selector(name))
    )
    assert len(chain[ctl.name_of(new)]) == 2, f"pods per ReplicaSet after the change: {chain}"

    kube.kubectl("rollout", "undo", f"deployment/{name}", "--namespace", NAMESPACE)

    def back() -> None:
        deployment = _rolled_out(kube, name)
        ctl.check_rolled_back(deployment, before, _replicasets(kube, name))

    eventually(back, ROLLOUT_TIMEOUT, 1, f"{name} back at {ctl.name_of(before)}", retry_on=retry_on)


# --- CTL-3 --------------------------------------------------------------------------------------------------


@pytest.mark.live
def test_ctl_3_apply_undoes_kubectl_scale(kube, env, undo, retry_on):
    """`kubectl scale --replicas=4` holds until the next apply of git's manifests, which says 2."""
    name = "pi-web"
    in_git = from_git(env, "Deployment", name)["spec"]["replicas"]
    assert in_git == 2, f"git's {name} asks {in_git} replicas, the lab says 2"
    wait_rolled_out(kube, name, retry_on)
    undo(lambda: restore_deployment(kube, env, name, retry_on), f"Deployment {name} back to git")

    kube.kubectl("scale", "--replicas=4", f"deployment/{name}", "--namespace", NAMESPACE)
    scaled = eventually(
        lambda: _rolled_out(kube, name), ROLLOUT_TIMEOUT, 1, f"{name} at 4", retry_on=retry_on
    )
    assert scaled["spec"]["replicas"] == 4, f"kubectl scale left spec.replicas {scaled['spec']['replicas']}"

    applied = apply_from_git(kube, env, "Deployment", name)
    assert applied["spec"]["replicas"] == in_git, (
        f"the apply left spec.replicas {applied['spec']['replicas']}"
    )
    settled = eventually(
        lambda: _rolled_out(kube, name), ROLLOUT_TIMEOUT, 1, f"{name} at 2", retry_on=retry_on
    )
    assert settled["spec"]["replicas"] == in_git


# --- CTL-4 --------------------------------------------------------------------------------------------------


@pytest.mark.live
@pytest.mark.parametrize("strategy", ["rolling", "recreate"])
def test_ctl_4_update_strategies(kube, env, discovery, token, undo, strategy, retry_on):
    """RollingUpdate with maxUnavailable 0 keeps 2 ready endpoints throughout; Recreate empties first."""
    name = "pi-web" if strategy == "rolling" else "pi-web-recreate"
    start = wait_rolled_out(kube, name, retry_on)
    old_hash = ctl.current_replicaset(start, _replicasets(kube, name))["metadata"]["labels"][
        ctl.TEMPLATE_HASH
    ]
    undo(lambda: restore_deployment(kube, env, name, retry_on), f"Deployment {name} back to git")

    pods = Recording(kube, kube.core.list_namespaced_pod, NAMESPACE, _selector(name))
    slices = Recording(
        kube, discovery.list_namespaced_endpoint_slice, NAMESPACE, f"{ctl.SERVICE_NAME_LABEL}={name}"
    )
    try:
        _set_probe_annotation(kube, name, token)
        wait_rolled_out(kube, name, retry_on)
        if strategy == "rolling":  # record until the Service lists exactly the new pods
            eventually(
                lambda: ctl.check_endpoints_follow(
                    name, _slices(discovery, kube, name), kube.pods(NAMESPACE, _selector(name)), 2
                ),
                30,
                1,
                f"endpoints of {name} after the update",
                retry_on=retry_on,
            )
    finally:
        pods.stop()
        slices.stop()
    if strategy == "rolling":
        rolling = start["spec"]["strategy"]["rollingUpdate"]
        ctl.check_rolling_update(
            slices.initial, slices.events, pods.initial, pods.events, 2, int(rolling["maxUnavailable"])
        )
    else:
        assert start["spec"]["strategy"]["type"] == "Recreate"
        ctl.check_recreate(pods.initial, pods.events, old_hash)


# --- CTL-5 --------------------------------------------------------------------------------------------------


@pytest.mark.live
def test_ctl_5_daemonset_follows_node_labels(kube, undo, retry_on):
    """One pi-proxy pod per eligible node; labelling nodes adds pods there, unlabelling removes them."""
    name, (key, value) = "pi-proxy", NODE_LABEL
    ds = kube.json(kube.apps.read_namespaced_daemon_set(name, NAMESPACE))
    pod_spec = ds["spec"]["template"]["spec"]
    assert pod_spec.get("nodeSelector") == {key: value}, f"{name} nodeSelector {pod_spec.get('nodeSelector')}"

    def placed() -> set[str]:
        eligible = ctl.eligible_nodes(kube.json(kube.core.list_node().items), pod_spec)
        ctl.check_one_per_node(kube.pods(NAMESPACE, _selector(name)), eligible)
        return eligible

    eventually(placed, 60, 1, f"{name} on its eligible nodes", retry_on=retry_on)
    candidates = ctl.nodes_to_label(kube.json(kube.core.list_node().items), pod_spec)
    assert candidates, f"no node without {key}={value} that {name} could run on"

    added: list[str] = []

    def unlabel(node: str) -> None:
        current = kube.json(kube.core.read_node(node))
        if current["metadata"].get("labels", {}).get(key) == value:
            kube.core.patch_node(node, {"metadata": {"labels": {key: None}}})

    def unlabel_all() -> None:
        for node in added:
            unlabel(node)

    undo(unlabel_all, f"remove {key}={value} from the nodes the probe labelled")
    for node in candidates:
        kube.core.patch_node(node, {"metadata": {"labels": {key: value}}})
        added.append(node)
    everywhere = eventually(placed, 60, 1, f"{name} on every labelled node", retry_on=retry_on)
    assert set(candidates) <= everywhere, f"labelled {candidates}, eligible {sorted(everywhere)}"

    unlabel(candidates[0])
    fewer = eventually(placed, 60, 1, f"{name} gone from {candidates[0]}", retry_on=retry_on)
    assert candidates[0] not in fewer


# --- CTL-6 --------------------------------------------------------------------------------------------------


def _scale_replicaset(kube, name: str, replicas: int) -> None:
    kube.apps.patch_namespaced_replica_set_scale(name, NAMESPACE, {"spec": {"replicas": replicas}})


@pytest.mark.live
def test_ctl_6_endpoints_follow_scaling(kube, env, discovery, undo, retry_on):
    """whoami-web's EndpointSlices list exactly its ready pods at 3, 5 and 2 replicas."""
    name = "whoami-web"

    def restore() -> None:
        apply_from_git(kube, env, "ReplicaSet", name)
        _scale_replicaset(kube, name, 3)
        eventually(lambda: _ready_count(kube, _selector(name), 3), 60, 1, "3 ready pods", retry_on=retry_on)

    undo(restore, f"ReplicaSet {name} back to 3 replicas")

    def endpoints_follow(replicas: int) -> None:
        slices = _slices(discovery, kube, name)
        ready = sorted(
            str((e.get("targetRef") or {}).get("name"))
            for s in slices
            for e in s.get("endpoints") or []
            if (e.get("conditions") or {}).get("ready")
        )
        recorded.record("CTL-6", "endpoints", ready)
        recorded.record("CTL-6", "ready endpoints", float(len(ready)), expected=float(replicas))
        ctl.check_endpoints_follow(name, slices, kube.pods(NAMESPACE, _selector(name)), replicas)

    for replicas in (3, 5, 2):
        _scale_replicaset(kube, name, replicas)
        eventually(
            lambda n=replicas: endpoints_follow(n),
            60,
            1,
            f"endpoints of {name} at {replicas} replicas",
            retry_on=retry_on,
        )


# --- CTL-7 --------------------------------------------------------------------------------------------------


@pytest.mark.live
def test_ctl_7_jobs_and_cronjob(kube, batch, needs_real_pods, retry_on):
    """pi-job completes; sleepy-job is stopped by its deadline; pi-cron runs on schedule within its limits."""
    needs_real_pods()

    def job(name: str) -> dict[str, Any]:
        return kube.json(batch.read_namespaced_job(name, NAMESPACE))

    eventually(lambda: ctl.check_job_complete(job("pi-job")), 90, 2, "pi-job Complete", retry_on=retry_on)
    eventually(
        lambda: ctl.check_deadline_exceeded(job("sleepy-job")), 60, 2, "sleepy-job ended", retry_on=retry_on
    )

    def history() -> list[str]:
        cronjob = kube.json(batch.read_namespaced_cron_job("pi-cron", NAMESPACE))
        jobs = kube.json(batch.list_namespaced_job(NAMESPACE).items)
        names = ctl.check_cron_history(cronjob, jobs)
        done = [
            j
            for j in ctl.jobs_of(cronjob, jobs)
            if (ctl.condition(j, "Complete") or {}).get("status") == "True"
        ]
        assert done, f"no completed Job of pi-cron yet (Jobs: {names})"
        return names

    # every minute: a lab younger than that has none yet; 90 s covers the next run and its pod
    eventually(history, 90, 3, "pi-cron ran a Job on its schedule", retry_on=retry_on)


# --- CTL-8 --------------------------------------------------------------------------------------------------


@pytest.mark.live
def test_ctl_8_config_and_secret_reach_the_pod(kube, env, token, undo, needs_real_pods, retry_on):
    """Env from the ConfigMap and Secret is fixed at start; the mounted ConfigMap file follows an edit."""
    needs_real_pods()
    greeting = from_git(env, "ConfigMap", "ctl-config")["data"]["greeting"]
    motto = kube.secret_value(NAMESPACE, "ctl-secret", "motto").decode()  # made at run time, not in git
    pod = eventually(
        lambda: _ready_pod(kube, NAMESPACE, "config-demo"), 60, 2, "config-demo", retry_on=retry_on
    )
    name, uid = ctl.name_of(pod), pod["metadata"]["uid"]
    restarts = pod["status"]["containerStatuses"][0]["restartCount"]

    def read(path: str) -> str:
        result = kube.sh(name, NAMESPACE, f"cat {path}")
        assert result.rc == 0, f"cat {path} in {name}: {result.stderr.strip()}"
        return result.stdout

    def read_env() -> str:
        result = kube.sh(name, NAMESPACE, "env")
        assert result.rc == 0, f"env in {name}: {result.stderr.strip()}"
        return result.stdout

    env_vars = ctl.parse_env(read_env())
    ctl.check_values("environment", env_vars, {"GREETING": greeting, "MOTTO": motto})
    files = {"/config/greeting": read("/config/greeting"), "/secret/motto": read("/secret/motto")}
    ctl.check_values("mounted files", files, {"/config/greeting": greeting, "/secret/motto": motto})

    def restore() -> None:
        apply_from_git(kube, env, "ConfigMap", "ctl-config")
        kube.core.patch_namespaced_pod(
            name, NAMESPACE, {"metadata": {"annotations": {PROBE_ANNOTATION: None}}}
        )

    undo(restore, "ConfigMap ctl-config back to git")
    changed = f"changed by the probe {token}"
    kube.core.patch_namespaced_config_map("ctl-config", NAMESPACE, {"data": {"greeting": changed}})
    # Any change to the pod makes the kubelet sync it now, which refreshes its ConfigMap volumes; otherwise
    # the file follows at the kubelet's next periodic sync (up to a minute later), also within the bound.
    kube.core.patch_namespaced_pod(name, NAMESPACE, {"metadata": {"annotations": {PROBE_ANNOTATION: token}}})
    eventually(
        lambda: ctl.check_values(
            "mounted file", {"greeting": read("/config/greeting")}, {"greeting": changed}
        ),
        90,
        2,
        "the mounted ConfigMap file follows the edit",
        retry_on=retry_on,
    )
    after = kube.pod(NAMESPACE, name)
    assert after["metadata"]["uid"] == uid, f"{name} was replaced"
    assert after["status"]["containerStatuses"][0]["restartCount"] == restarts, f"{name} restarted"
    still = ctl.parse_env(read_env())
    ctl.check_values("environment after the edit", still, {"GREETING": greeting})


# --- CTL-9 --------------------------------------------------------------------------------------------------


def _probe_pod(name: str, resources: dict[str, Any] | None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "probe", "image": BUSYBOX, "command": ["sleep", "30"]}
    if resources is not None:
        container["resources"] = resources
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": PROBE_LABELS},
        "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0, "containers": [container]},
    }


@pytest.mark.live
def test_ctl_9_quota_refuses_and_limitrange_defaults(kube, token, undo):
    """A pod over ctl-quota is refused with "exceeded quota"; a pod without resources gets the defaults."""
    from kubernetes.client.exceptions import ApiException

    quota = kube.json(kube.core.read_namespaced_resource_quota("ctl-quota", NAMESPACE))
    limit_range = kube.json(kube.core.read_namespaced_limit_range("ctl-defaults", NAMESPACE))

    big = f"infra-probe-over-quota-{token}"
    cpu = ctl.over_quota_request(quota)
    undo(lambda: kube.delete_pod(NAMESPACE, big), f"delete pod {big}")
    sized = {"requests": {"cpu": cpu, "memory": "16Mi"}, "limits": {"cpu": cpu, "memory": "16Mi"}}
    with pytest.raises(ApiException) as refused:
        kube.core.create_namespaced_pod(NAMESPACE, _probe_pod(big, sized))
    assert refused.value.status == 403, (
        f"expected 403 Forbidden, got {refused.value.status}: {refused.value.body}"
    )
    message = json.loads(refused.value.body or "{}").get("message", "")
    ctl.check_quota_rejection(message, "ctl-quota", "requests.cpu", cpu)

    plain = f"infra-probe-defaults-{token}"
    undo(lambda: kube.delete_pod(NAMESPACE, plain), f"delete pod {plain}")
    created = kube.json(kube.core.create_namespaced_pod(NAMESPACE, _probe_pod(plain, None)))
    ctl.check_defaults_applied(created, limit_range)


# --- CTL-10 -------------------------------------------------------------------------------------------------


@pytest.mark.live
def test_ctl_10_network_policy_denies_ingress(kube, env, needs_real_pods, retry_on):
    """peer (lab-ctl-peer) reaches lab-ctl; lab-ctl cannot reach peer, which deny-ingress protects."""
    needs_real_pods()
    gap = ctl.policy_enforcement_gap(
        env, kube.json(kube.apps.list_namespaced_daemon_set("kube-system").items)
    )
    if gap:
        pytest.skip(gap)
    policy = kube.json(kube.networking.read_namespaced_network_policy("deny-ingress", PEER_NAMESPACE))
    ctl.check_denies_all_ingress(policy)

    peer = eventually(lambda: _ready_pod(kube, PEER_NAMESPACE, "peer"), 60, 2, "peer", retry_on=retry_on)
    shell = eventually(
        lambda: _ready_pod(kube, NAMESPACE, "config-demo"), 60, 2, "config-demo", retry_on=retry_on
    )
    target = eventually(
        lambda: _ready_pod(kube, NAMESPACE, "whoami-web"), 60, 2, "whoami-web", retry_on=retry_on
    )

    def get(pod: dict[str, Any], namespace: str, address: str) -> Any:
        return kube.sh(ctl.name_of(pod), namespace, f"wget -q -T 5 -O - http://{address}:8080/")

    across = get(peer, PEER_NAMESPACE, target["status"]["podIP"])
    assert across.rc == 0, f"peer cannot reach {ctl.name_of(target)} in {NAMESPACE}: {across.stderr.strip()}"
    ctl.check_whoami_answer(across.stdout, ctl.name_of(target))
    local = get(shell, NAMESPACE, target["status"]["podIP"])
    assert local.rc == 0, f"config-demo cannot reach {ctl.name_of(target)} next to it: {local.stderr.strip()}"
    itself = get(peer, PEER_NAMESPACE, "127.0.0.1")
    assert itself.rc == 0, f"peer's own server does not answer: {itself.stderr.strip()}"
    assert itself.stdout.strip() == "peer", f"peer's own server answers {itself.stdout.strip()!r}"

    denied = get(shell, NAMESPACE, peer["status"]["podIP"])
    ctl.check_no_answer(denied.rc, denied.stdout, "peer", f"{NAMESPACE} -> peer behind deny-ingress")
