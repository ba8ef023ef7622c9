"""STS-1..5: a headless Service and a StatefulSet with one NFS-backed PVC per pod."""

from __future__ import annotations

import shlex

import pytest

from infra import series as recorded
from infra.probes import dns
from infra.probes import sts as sts_probe
from infra.probes.eventually import eventually

NAMESPACE, NAME, HEADLESS, CLUSTER_IP = "lab-sts", "web", "web-headless", "web"
SELECTOR = "app.kubernetes.io/name=sts-web"
DOMAIN = "svc.cluster.local"
REPLICAS = 3
SCALE_TIMEOUT = 300  # per step: an NFS-backed pod starts in well under a minute; 5 minutes is plenty


def _fqdn(name: str) -> str:
    return f"{name}.{NAMESPACE}.{DOMAIN}"


@pytest.mark.live
@pytest.mark.parametrize("service", ["clusterip", "headless"])
def test_sts_1_service_dns_answers(kube, lookup, service, retry_on):
    """`web` resolves to its one ClusterIP; `web-headless` to one address per (ready) pod."""

    def probe() -> None:
        pod_ips = [p["status"]["podIP"] for p in kube.ready_pods(NAMESPACE, SELECTOR)]
        if service == "clusterip":
            cluster_ip = kube.core.read_namespaced_service(CLUSTER_IP, NAMESPACE).spec.cluster_ip
            dns.check_cluster_ip_answer(lookup(_fqdn(CLUSTER_IP)), cluster_ip)
        else:
            assert kube.core.read_namespaced_service(HEADLESS, NAMESPACE).spec.cluster_ip == "None"
            dns.check_headless_answer(lookup(_fqdn(HEADLESS)), pod_ips)

    eventually(probe, 120, 5, f"DNS answer of the {service} Service", retry_on=(*retry_on, dns.LookupFailed))


@pytest.mark.live
@pytest.mark.parametrize("ordinal", range(REPLICAS))
def test_sts_2_pod_names_resolve(kube, lookup, ordinal, retry_on):
    """Pods are web-0..2, and web-N.web-headless resolves to exactly pod web-N's IP."""

    def probe() -> None:
        names = sorted(p["metadata"]["name"] for p in kube.pods(NAMESPACE, SELECTOR))
        assert names == [f"{NAME}-{n}" for n in range(REPLICAS)], f"StatefulSet pods are {names}"
        pod = kube.pod(NAMESPACE, f"{NAME}-{ordinal}")
        answer = lookup(f"{NAME}-{ordinal}.{HEADLESS}.{NAMESPACE}.{DOMAIN}")
        assert answer == [pod["status"]["podIP"]], (
            f"{NAME}-{ordinal}.{HEADLESS} -> {answer}, pod IP {pod['status']}"
        )

    eventually(
        probe, 120, 5, f"{NAME}-{ordinal}.{HEADLESS} resolvable", retry_on=(*retry_on, dns.LookupFailed)
    )


@pytest.fixture
def restore_statefulset(kube, undo):
    """Put the StatefulSet back at its replica count, and remove PVCs that probing created beyond it."""
    sts = kube.json(kube.apps.read_namespaced_stateful_set(NAME, NAMESPACE))
    original = sts["spec"]["replicas"]
    extra_claims = [
        c
        for c in sts_probe.claim_names(sts, range(original, original + 2))
        if not kube.claim_exists(NAMESPACE, c)
    ]
    undo(
        lambda: kube.restore_statefulset(NAMESPACE, NAME, original, extra_claims, SCALE_TIMEOUT),
        f"StatefulSet {NAME} back to {original} replicas",
    )
    return original


@pytest.mark.live
def test_sts_3_scaling_is_ordered(kube, restore_statefulset):
    """3 -> 4 creates only -3 (after -2 is Ready); 4 -> 2 removes -3, and only then -2."""
    start = restore_statefulset
    assert start == REPLICAS, f"the lab runs {REPLICAS} replicas, found {start}"

    def scale_to(count: int):
        return lambda: kube.scale("StatefulSet", NAMESPACE, NAME, count)

    def lifecycle(seen):
        return sts_probe.lifecycle(seen, NAME)

    alive = {f"{NAME}-{n}" for n in range(start)}

    def watched(step: tuple[str, int], target: int):
        """The watch's stop condition, recording the pod set after each event for the report's timeline."""

        def done(seen) -> bool:
            last = seen[-1] if seen else None
            if last is not None:
                (alive.discard if last.event == "DELETED" else alive.add)(last.pod)
                recorded.record("STS-3", "pods", sorted(alive))
                recorded.record("STS-3", "replicas", float(len(alive)), expected=float(target))
            return step in lifecycle(seen)

        return done

    up = kube.watch_pods(NAMESPACE, SELECTOR, scale_to(4), watched(("ready", 3), 4), SCALE_TIMEOUT)
    sts_probe.check_scale_up(lifecycle(up), start, 4)
    down = kube.watch_pods(NAMESPACE, SELECTOR, scale_to(2), watched(("gone", 2), 2), SCALE_TIMEOUT)
    sts_probe.check_scale_down(lifecycle(down), 4, 2)


@pytest.mark.live
def test_sts_4_one_claim_per_pod(kube, retry_on):
    """Each pod mounts its own Bound RWO `nfs-client` PVC data-web-N; PVC count equals pod count."""

    def probe() -> None:
        sts = kube.json(kube.apps.read_namespaced_stateful_set(NAME, NAMESPACE))
        pods = kube.pods(NAMESPACE, SELECTOR)
        assert len(pods) == sts["spec"]["replicas"], (
            f"{len(pods)} pods for {sts['spec']['replicas']} replicas"
        )
        pvcs = kube.json(kube.core.list_namespaced_persistent_volume_claim(NAMESPACE).items)
        sts_probe.check_claims(sts, pods, pvcs, "nfs-client")

    eventually(probe, 120, 5, "one nfs-client PVC per StatefulSet pod", retry_on=retry_on)


@pytest.mark.live
def test_sts_5_data_is_per_pod_and_survives(kube, token, undo, restore_statefulset, retry_on):
    """A file in -1 is not in -0; -1 comes back after deletion with its file; scaling down keeps PVCs."""
    path = f"/data/infra-probe-{token}"
    one, zero = f"{NAME}-1", f"{NAME}-0"
    # Right after a reconcile the pods may not run yet: exec into them only once the set is Ready.
    kube.wait_ready_replicas("StatefulSet", NAMESPACE, NAME, REPLICAS, SCALE_TIMEOUT)
    undo(lambda: kube.sh(one, NAMESPACE, f"rm -f {shlex.quote(path)}"), f"remove {path} from {one}")
    written = kube.sh(one, NAMESPACE, f"echo {token} > {shlex.quote(path)} && cat {shlex.quote(path)}")
    assert written.rc == 0, f"cannot write {path} in {one}: {written.stderr.strip()}"
    assert written.stdout.strip() == token

    # An explicit answer: a failing `kubectl exec` exits 1 too, like `test -e` of a missing file.
    look = f"if test -e {shlex.quote(path)}; then echo present; else echo absent; fi"
    in_zero = kube.sh(zero, NAMESPACE, look)
    assert in_zero.rc == 0, f"cannot look for {path} in {zero}: {in_zero.stderr.strip()}"
    assert in_zero.stdout.strip() == "absent", (
        f"{path} written in {one} is visible in {zero} (shared storage?)"
    )

    old_uid = kube.pod(NAMESPACE, one)["metadata"]["uid"]
    kube.delete_pod(NAMESPACE, one, grace=None)

    def back() -> None:
        pod = kube.pod(NAMESPACE, one)
        assert pod["metadata"]["uid"] != old_uid, f"{one} not yet replaced"
        assert kube.is_ready(pod), f"new {one} is {pod['status'].get('phase')}"

    eventually(back, SCALE_TIMEOUT, 3, f"{one} recreated and Ready", retry_on=retry_on)
    still = kube.sh(one, NAMESPACE, f"cat {shlex.quote(path)}")
    assert still.rc == 0, f"new {one} lost {path}: {still.stderr.strip()}"
    assert still.stdout.strip() == token, f"new {one} reads {still.stdout.strip()!r} from {path}"

    sts = kube.json(kube.apps.read_namespaced_stateful_set(NAME, NAMESPACE))
    kept = sts_probe.claim_names(sts, [REPLICAS - 1])
    kube.scale("StatefulSet", NAMESPACE, NAME, REPLICAS - 1)
    kube.wait_ready_replicas("StatefulSet", NAMESPACE, NAME, REPLICAS - 1, SCALE_TIMEOUT)
    for claim in kept:
        pvc = kube.core.read_namespaced_persistent_volume_claim(claim, NAMESPACE)
        assert pvc.status.phase == "Bound", f"{claim} is {pvc.status.phase} after scaling down"
