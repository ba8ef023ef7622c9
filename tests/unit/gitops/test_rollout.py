"""Rollout budgets: from what each workload is, not one fixed timeout."""

from __future__ import annotations

import yaml

from infra.gitops import rollout
from infra.paths import MANIFESTS_DIR


def load(path):
    return [d for d in yaml.safe_load_all((MANIFESTS_DIR / path).read_text()) if d]


def test_probe_seconds_follow_the_kubernetes_defaults():
    assert rollout.probe_seconds(None) == 0
    assert rollout.probe_seconds({"tcpSocket": {"port": 80}}) == 3 * (10 + 1)
    assert (
        rollout.probe_seconds({"initialDelaySeconds": 5, "periodSeconds": 10, "failureThreshold": 30}) == 335
    )


def test_an_ordered_statefulset_gets_its_replicas_times_the_pod_allowance():
    [sts] = [o for o in load("base/sql/statefulset.yaml") if o["kind"] == "StatefulSet"]
    [planned] = rollout.plan([{**sts, "metadata": {**sts["metadata"], "namespace": "lab-mysql"}}])
    per_pod = rollout.pod_allowance(sts["spec"]["template"]["spec"])
    assert planned.pods_in_sequence == sts["spec"]["replicas"] == 3
    assert planned.budget == 3 * per_pod
    # MySQL's own startupProbe alone allows minutes: the budget must exceed it for every pod in turn
    startup = max(
        rollout.probe_seconds(c.get("startupProbe")) for c in sts["spec"]["template"]["spec"]["containers"]
    )
    assert per_pod > startup + rollout.IMAGE_PULL_SECONDS
    assert planned.budget > 300


def test_a_deployment_waits_for_one_pod_allowance_and_parallel_statefulsets_too():
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "lab-tls"},
        "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "web"}]}}},
    }
    parallel = {
        **deployment,
        "kind": "StatefulSet",
        "spec": {**deployment["spec"], "podManagementPolicy": "Parallel"},
    }
    plans = rollout.plan(
        [deployment, parallel, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}]
    )
    assert [(p.ref.kind, p.pods_in_sequence, p.budget) for p in plans] == [
        ("Deployment", 1, rollout.IMAGE_PULL_SECONDS + rollout.READY_SECONDS),
        ("StatefulSet", 1, rollout.IMAGE_PULL_SECONDS + rollout.READY_SECONDS),
    ]
