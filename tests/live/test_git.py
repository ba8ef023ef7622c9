"""GIT-1..4: what is in git is what runs; drift is reported and undone; prune stays within what we applied.

These probes reconcile every lab, so ``infra verify`` runs them alone, after the other labs. Reconciles here
never wait for rollouts (``wait=False``): the claims are about objects and fields, not about pods starting.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from infra.ownership import OWNERSHIP_LABELS
from infra.probes.eventually import eventually

HPA_NAMESPACE, HPA_NAME = "lab-hpa", "hpa-demo"
PRUNE_NAMESPACE = "lab-qos"
ELSEWHERE = "default"  # not a namespace of the lab: nothing there is ever pruned
HAND_NAMESPACE, HAND_DEPLOYMENT = "lab-tls", "web"


def _reconcile(kube, env, *, entry: Path | None = None):
    from infra.gitops.apply import reconcile

    return reconcile(env, target=kube.target, wait=False, entry=entry)


def _drift(kube, env):
    """The drift report and its items as "Kind ns/name" -> ["status: what", ...]."""
    from infra.gitops.drift import describe, drift

    report = drift(env, target=kube.target)
    items: dict[str, list[str]] = {}
    for item in report.items:
        items.setdefault(str(item.ref), []).append(f"{item.status}: {describe(item)}")
    return report, items


@pytest.mark.live
def test_git_1_reconcile_leaves_no_drift(kube, env, retry_on):
    """After a reconcile (no waiting for rollouts), `infra drift` finds nothing: no changed, added, missing
    or to-prune object. Retried briefly: a controller may still be writing what the apply started."""
    _reconcile(kube, env)

    def empty() -> None:
        report, items = _drift(kube, env)
        assert not report.has_drift, f"{report.headline()}: {items}"

    eventually(empty, 60, 5, "no drift after a reconcile", retry_on=retry_on)


def _edit_hpa(kube, token):
    kube.autoscaling.patch_namespaced_horizontal_pod_autoscaler(
        HPA_NAME, HPA_NAMESPACE, {"spec": {"maxReplicas": 9}}
    )
    return f"HorizontalPodAutoscaler {HPA_NAMESPACE}/{HPA_NAME}", "changed: spec.maxReplicas"


def _hpa_restored(kube, token) -> None:
    hpa = kube.autoscaling.read_namespaced_horizontal_pod_autoscaler(HPA_NAME, HPA_NAMESPACE)
    assert hpa.spec.max_replicas == 10, f"maxReplicas is {hpa.spec.max_replicas} after reconcile"


def _delete_pod(kube, token):
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
    return "Pod lab-qos/qos-besteffort", "missing"


def _pod_restored(kube, token) -> None:
    pod = kube.pod("lab-qos", "qos-besteffort")
    assert not pod["metadata"].get("deletionTimestamp"), "qos-besteffort is still terminating"


def _add_label(kube, token):
    """A label git never sets, added as a person would (kubectl label: field manager kubectl-label)."""
    kube.kubectl("label", f"deployment/{HAND_DEPLOYMENT}", "-n", HAND_NAMESPACE, f"infra-probe={token}")
    return f"Deployment {HAND_NAMESPACE}/{HAND_DEPLOYMENT}", "added by hand: metadata.labels.infra-probe"


def _label_removed(kube, token) -> None:
    labels = kube.apps.read_namespaced_deployment(HAND_DEPLOYMENT, HAND_NAMESPACE).metadata.labels or {}
    assert "infra-probe" not in labels, f"label infra-probe={labels.get('infra-probe')} survived reconcile"


def _add_env(kube, token):
    """An env var git never sets (kubectl set env: field manager kubectl-set)."""
    kube.kubectl("set", "env", f"deployment/{HAND_DEPLOYMENT}", "-n", HAND_NAMESPACE, f"INFRA_PROBE={token}")
    return f"Deployment {HAND_NAMESPACE}/{HAND_DEPLOYMENT}", "added by hand: spec.template.spec.containers"


def _env_removed(kube, token) -> None:
    deployment = kube.apps.read_namespaced_deployment(HAND_DEPLOYMENT, HAND_NAMESPACE)
    names = [e.name for c in deployment.spec.template.spec.containers for e in c.env or []]
    assert "INFRA_PROBE" not in names, f"env INFRA_PROBE survived reconcile (env: {names})"


CHANGES = {
    "edit": (_edit_hpa, _hpa_restored),
    "delete": (_delete_pod, _pod_restored),
    "label-added": (_add_label, _label_removed),
    "env-added": (_add_env, _env_removed),
}


@pytest.mark.live
@pytest.mark.parametrize("change", list(CHANGES))
def test_git_2_hand_change_reported_and_undone(kube, env, token, change, undo, retry_on):
    """A hand edit (HPA maxReplicas 10 -> 9), deletion (a Pod) or addition (a label, an env var: fields
    git never sets, which a server-side apply alone would leave) is drift; the next reconcile undoes it."""
    make, restored = CHANGES[change]
    undo(lambda: _reconcile(kube, env), "reconcile to undo the hand change")
    ref, expected = make(kube, token)

    def reported() -> None:
        _, items = _drift(kube, env)
        seen = items.get(ref, [])
        assert any(line.startswith(expected) for line in seen), (
            f"{ref} not reported as {expected!r}; drift: {items or 'none'}"
        )

    eventually(reported, 60, 5, f"{ref} reported as drift", retry_on=retry_on)
    _reconcile(kube, env)
    eventually(lambda: restored(kube, token), 120, 5, f"{ref} restored by reconcile", retry_on=retry_on)
    _, items = _drift(kube, env)
    assert ref not in items, f"{ref} still drifts after reconcile: {items[ref]}"


def _configmap(name: str, namespace: str, labels: dict[str, str], token: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {"probe": token},
    }


def _overlay_with(directory: Path, env: str, extra: dict) -> Path:
    """A kustomization: the environment's manifests plus one more object (git with an object added)."""
    from infra.environments import get_environment

    # JSON (which is YAML) quotes every string: a bare token like 18e233 would read as a number to kustomize.
    (directory / "extra.yaml").write_text(json.dumps(extra), encoding="utf-8")
    entry = get_environment(env).manifests
    kustomization = {"resources": [os.path.relpath(entry, directory), "extra.yaml"]}
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def prune_run(kube, env, token, tmp_path_factory):
    """Git gains a ConfigMap (reconciled: the inventory records it), then loses it again; meanwhile objects
    nobody applied sit beside it: labelled like ours in a lab namespace, unlabelled, labelled elsewhere.
    One reconcile of the plain manifests follows."""
    names = {
        "applied-then-gone-from-git": (f"infra-probe-applied-{token}", PRUNE_NAMESPACE),
        "labelled-never-applied": (f"infra-probe-handmade-{token}", PRUNE_NAMESPACE),
        "unlabelled": (f"infra-probe-unlabelled-{token}", PRUNE_NAMESPACE),
        "labelled-other-namespace": (f"infra-probe-elsewhere-{token}", ELSEWHERE),
    }
    applied_name, _ = names["applied-then-gone-from-git"]
    overlay = _overlay_with(
        tmp_path_factory.mktemp("overlay"),
        env,
        _configmap(applied_name, PRUNE_NAMESPACE, dict(OWNERSHIP_LABELS), token),
    )
    by_hand = {
        "labelled-never-applied": dict(OWNERSHIP_LABELS),
        "unlabelled": {},
        "labelled-other-namespace": dict(OWNERSHIP_LABELS),
    }
    try:
        _reconcile(kube, env, entry=overlay)
        for case, labels in by_hand.items():
            name, namespace = names[case]
            kube.core.create_namespaced_config_map(namespace, _configmap(name, namespace, labels, token))
        result = _reconcile(kube, env)
        yield names, result
    finally:
        for name, namespace in names.values():
            existing = {c.metadata.name for c in kube.core.list_namespaced_config_map(namespace).items}
            if name in existing:
                kube.core.delete_namespaced_config_map(name, namespace)


@pytest.mark.live
@pytest.mark.parametrize(
    ("case", "pruned"),
    [
        ("applied-then-gone-from-git", True),
        ("labelled-never-applied", False),
        ("unlabelled", False),
        ("labelled-other-namespace", False),
    ],
)
def test_git_3_prune_only_what_was_applied(kube, prune_run, case, pruned, retry_on):
    """Only the ConfigMap the last reconcile applied and git then dropped is deleted: ownership labels on an
    object nobody applied, or in a namespace that is not the lab's, never make it prunable."""
    names, result = prune_run
    name, namespace = names[case]
    in_result = any(ref.kind == "ConfigMap" and ref.name == name for ref in result.pruned)
    assert in_result == pruned, (
        f"reconcile pruned {[str(r) for r in result.pruned]}; {name} expected {pruned}"
    )

    def state() -> None:
        existing = {c.metadata.name for c in kube.core.list_namespaced_config_map(namespace).items}
        assert (name not in existing) == pruned, f"{name} {'still exists' if pruned else 'was deleted'}"

    eventually(state, 60, 3, f"{case} ConfigMap {'gone' if pruned else 'kept'}", retry_on=retry_on)


@pytest.mark.live
def test_git_4_hpa_target_replicas_not_in_git(kube, env, retry_on):
    """git has no spec.replicas for hpa-demo; the live count is not ours, and a dry-run apply keeps it."""

    from infra.gitops.apply import FIELD_MANAGER, apply_command
    from infra.gitops.desired import dump, render_desired

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
        dry = kube.kubectl(*apply_command(dry_run=True), input=dump([deployment]))
        merged = json.loads(dry.stdout)
        merged = merged["items"][0] if merged.get("kind") == "List" else merged
        assert merged["spec"]["replicas"] == replicas, (
            f"a reconcile would set replicas {replicas} -> {merged['spec']['replicas']}"
        )

    eventually(kept, 60, 5, "a dry-run apply keeps the live replica count", retry_on=retry_on)
