"""GIT-1..4: what is in git is what runs; drift is reported and undone; only owned objects are pruned."""

from __future__ import annotations

import pytest

from infra.ownership import MANAGED_BY_LABEL, OWNERSHIP_LABELS
from infra.probes.eventually import eventually

HPA_NAMESPACE, HPA_NAME = "lab-hpa", "hpa-demo"
PRUNE_NAMESPACE = "lab-qos"
RECONCILE_TIMEOUT = 600


def _reconcile(kube, env, *, wait: bool = True):
    from infra.reconcile import reconcile

    result = reconcile(env, target=kube.target, wait=wait, timeout=RECONCILE_TIMEOUT)
    assert result.ok, f"reconcile left objects not ready: {result.not_ready}"
    return result


def _drift(kube, env):
    from infra.drift import describe, drift

    report = drift(env, target=kube.target)
    return report, {str(item.ref): f"{item.status}: {describe(item)}" for item in report.items}


@pytest.mark.live
def test_git_1_reconcile_leaves_no_diff(kube, env):
    """After a reconcile, `infra drift` (kubectl diff --server-side + prune set) finds nothing."""
    _reconcile(kube, env)
    report, items = _drift(kube, env)
    assert not report.has_drift, f"{report.headline()}: {items or report.unparsed[:500]}"


def _edit_hpa(kube):
    kube.autoscaling.patch_namespaced_horizontal_pod_autoscaler(
        HPA_NAME, HPA_NAMESPACE, {"spec": {"maxReplicas": 9}}
    )
    return f"HorizontalPodAutoscaler {HPA_NAMESPACE}/{HPA_NAME}"


def _hpa_restored(kube) -> None:
    hpa = kube.autoscaling.read_namespaced_horizontal_pod_autoscaler(HPA_NAME, HPA_NAMESPACE)
    assert hpa.spec.max_replicas == 10, f"maxReplicas is {hpa.spec.max_replicas} after reconcile"


def _delete_pod(kube):
    """Delete the Pod and wait until it is gone (a reconcile racing a terminating Pod would only patch it)."""
    from kubernetes.client.exceptions import ApiException

    kube.delete_pod("lab-qos", "qos-besteffort", grace=0)

    def gone() -> None:
        try:
            kube.pod("lab-qos", "qos-besteffort")
        except ApiException as error:
            if error.status == 404:
                return
            raise
        raise AssertionError("qos-besteffort still exists")

    eventually(gone, 60, 2, "qos-besteffort deleted")
    return "Pod lab-qos/qos-besteffort"


def _pod_restored(kube) -> None:
    pod = kube.pod("lab-qos", "qos-besteffort")
    assert not pod["metadata"].get("deletionTimestamp"), "qos-besteffort is still terminating"


CHANGES = {"edit": (_edit_hpa, _hpa_restored), "delete": (_delete_pod, _pod_restored)}


@pytest.mark.live
@pytest.mark.parametrize("change", ["edit", "delete"])
def test_git_2_hand_change_reported_and_undone(kube, env, change, undo, retry_on):
    """A hand edit (HPA maxReplicas 10 -> 9) or deletion (a Pod) is drift; the next reconcile undoes it."""
    make, restored = CHANGES[change]
    undo(lambda: _reconcile(kube, env, wait=False), "reconcile to undo the hand change")
    ref = make(kube)

    def reported() -> None:
        _, items = _drift(kube, env)
        assert ref in items, f"{ref} not reported as drift; report: {items or 'no drift'}"

    eventually(reported, 60, 5, f"{ref} reported as drift", retry_on=retry_on)
    _reconcile(kube, env, wait=False)
    eventually(lambda: restored(kube), 120, 5, f"{ref} restored by reconcile", retry_on=retry_on)
    _, items = _drift(kube, env)
    assert ref not in items, f"{ref} still drifts after reconcile: {items[ref]}"


@pytest.fixture(scope="module")
def prune_run(kube, env, token):
    """ConfigMaps no manifest has: owned (as if gone from git), unlabelled, partly labelled; one reconcile."""
    names = {
        "owned-removed-from-git": (f"infra-probe-owned-{token}", dict(OWNERSHIP_LABELS)),
        "unlabelled": (f"infra-probe-unlabelled-{token}", {}),
        "partly-labelled": (
            f"infra-probe-partly-{token}",
            {MANAGED_BY_LABEL: OWNERSHIP_LABELS[MANAGED_BY_LABEL]},
        ),
    }
    for name, labels in names.values():
        kube.core.create_namespaced_config_map(
            PRUNE_NAMESPACE, {"metadata": {"name": name, "labels": labels}, "data": {"probe": token}}
        )
    try:
        result = _reconcile(kube, env, wait=False)
        yield {case: name for case, (name, _) in names.items()}, result
    finally:
        existing = {c.metadata.name for c in kube.core.list_namespaced_config_map(PRUNE_NAMESPACE).items}
        for name, _ in names.values():
            if name in existing:
                kube.core.delete_namespaced_config_map(name, PRUNE_NAMESPACE)


@pytest.mark.live
@pytest.mark.parametrize(
    ("case", "pruned"), [("owned-removed-from-git", True), ("unlabelled", False), ("partly-labelled", False)]
)
def test_git_3_prune_only_owned(kube, prune_run, case, pruned, retry_on):
    """The reconcile deleted the owned ConfigMap git no longer has, and left the others alone."""
    names, result = prune_run
    name = names[case]
    in_result = any(ref.kind == "ConfigMap" and ref.name == name for ref in result.pruned)
    assert in_result == pruned, (
        f"reconcile pruned {[str(r) for r in result.pruned]}; {name} expected {pruned}"
    )

    def state() -> None:
        existing = {c.metadata.name for c in kube.core.list_namespaced_config_map(PRUNE_NAMESPACE).items}
        assert (name not in existing) == pruned, f"{name} {'still exists' if pruned else 'was deleted'}"

    eventually(state, 60, 3, f"{case} ConfigMap {'gone' if pruned else 'kept'}", retry_on=retry_on)


@pytest.mark.live
def test_git_4_hpa_target_replicas_not_in_git(kube, env, retry_on):
    """git has no spec.replicas for hpa-demo; the live count is not ours, and a dry-run apply keeps it."""
    import json

    from infra.reconcile import FIELD_MANAGER, apply_command, dump, render_desired

    desired = render_desired(env)
    deployment = next(
        o
        for o in desired.objects
        if o["kind"] == "Deployment"
        and o["metadata"]["name"] == HPA_NAME
        and o["metadata"].get("namespace") == HPA_NAMESPACE
    )
    assert "replicas" not in deployment["spec"], (
        f"manifests set spec.replicas: {deployment['spec']['replicas']}"
    )
    live = kube.json(kube.apps.read_namespaced_deployment(HPA_NAME, HPA_NAMESPACE))
    owned = [
        entry["manager"]
        for entry in live["metadata"].get("managedFields") or []
        if entry.get("manager") == FIELD_MANAGER
        and "f:replicas" in (entry.get("fieldsV1") or {}).get("f:spec", {})
    ]
    assert not owned, f"field manager {FIELD_MANAGER} owns spec.replicas of the live Deployment"

    def kept() -> None:
        # read the live count again each try: the HPA may scale down between a read and the dry run
        # (HPA-3's load ends shortly before)
        replicas = kube.apps.read_namespaced_deployment(HPA_NAME, HPA_NAMESPACE).spec.replicas
        dry = kube.kubectl(*apply_command(dry_run=True), "-o", "json", input=dump([deployment]))
        merged = json.loads(dry.stdout)
        merged = merged["items"][0] if merged.get("kind") == "List" else merged
        assert merged["spec"]["replicas"] == replicas, (
            f"a reconcile would set replicas {replicas} -> {merged['spec']['replicas']}"
        )

    eventually(kept, 60, 5, "a dry-run apply keeps the live replica count", retry_on=retry_on)
