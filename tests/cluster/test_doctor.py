"""`infra doctor` against a real control plane: problems the control plane itself decides, named by ID.

Hollow nodes pull no image and run no process, so the problems made here are the ones the scheduler and the
controllers decide: a pod requesting more cpu than any node (``Insufficient cpu``), an HPA whose
scaleTargetRef names a group that does not serve its kind (``FailedGetScale``; an HPA with no apiVersion
at all, the lab's classic mistake, is refused outright by a v1.36 API server: "apiVersion must specify API
group"), a PVC of a StorageClass that does not exist, a Service
selecting nothing. The doctor runs as a user runs it (``.venv/bin/infra doctor`` in a subprocess, its own
state folder and HOME), once as the admin and once as a user bound only to the built-in ``view`` ClusterRole,
which grants get/list/watch and nothing else: if the doctor finds the problems as that user, it needs no more.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli import Cli
from plane import ControlPlane

PROBLEMS = textwrap.dedent("""\
    apiVersion: v1
    kind: Pod
    metadata: {name: too-big, labels: {app: too-big}}
    spec:
      containers:
      - name: app
        image: registry.k8s.io/pause:3.10
        resources: {requests: {cpu: "500"}}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: hpa-demo}
    spec:
      replicas: 1
      selector: {matchLabels: {app: hpa-demo}}
      template:
        metadata: {labels: {app: hpa-demo}}
        spec:
          containers:
          - {name: app, image: registry.k8s.io/pause:3.10, resources: {requests: {cpu: 10m}}}
    ---
    apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    metadata: {name: wrong-group}
    spec:
      scaleTargetRef: {apiVersion: extensions/v1beta1, kind: Deployment, name: hpa-demo}
      minReplicas: 1
      maxReplicas: 3
      metrics:
      - type: Resource
        resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
    ---
    apiVersion: v1
    kind: PersistentVolumeClaim
    metadata: {name: typo}
    spec:
      storageClassName: fast-ssd-typo
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: nothing}
    spec:
      selector: {app: nobody-has-this-label}
      ports: [{port: 80}]
""")
EXPECTED = {
    ("POD-CAPACITY", "Pod/{ns}/too-big"),
    ("HPA-TARGET", "HorizontalPodAutoscaler/{ns}/wrong-group"),
    ("PVC-PENDING", "PersistentVolumeClaim/{ns}/typo"),
    ("SVC-SELECTOR", "Service/{ns}/nothing"),
}


def doctor(
    plane: ControlPlane, tmp_path: Path, kubeconfig: Path, namespace: str
) -> tuple[subprocess.CompletedProcess[str], Any]:
    cli = Cli(plane, tmp_path / "state", tmp_path / "home")
    done = cli.infra("doctor", "--kubeconfig", str(kubeconfig), "--namespace", namespace, "-o", "json")
    try:
        return done, json.loads(done.stdout)
    except ValueError:
        pytest.fail(
            f"infra doctor printed no JSON (exit {done.returncode}): {done.stderr[-800:]}", pytrace=False
        )


def wait_for(predicate, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}", pytrace=False)
        time.sleep(1)


def condition(plane: ControlPlane, namespace: str, what: str, kind: str) -> dict[str, Any]:
    obj = json.loads(plane.kubectl("-n", namespace, "get", what, "-o", "json").stdout)
    return next((c for c in obj.get("status", {}).get("conditions") or [] if c["type"] == kind), {})


@pytest.fixture(scope="module")
def problems(plane: ControlPlane) -> Iterator[str]:
    """One namespace with every problem, for the module: the tests only read it (the HPA controller takes a
    sync period to report, so it is made once)."""
    if not (plane.node_names and plane.has["kube-controller-manager"] and plane.has["kube-scheduler"]):
        pytest.skip("needs kube-controller-manager, kube-scheduler and kubemark in KUBEBUILDER_ASSETS")
    namespace = f"doctor-{uuid.uuid4().hex[:8]}"
    plane.kubectl("create", "namespace", namespace)
    wait_for(
        lambda: plane.exists(f"/api/v1/namespaces/{namespace}/serviceaccounts/default"),
        "the namespace's default ServiceAccount",
    )
    plane.kubectl("-n", namespace, "apply", "-f", "-", input=PROBLEMS)
    wait_for(
        lambda: condition(plane, namespace, "pod/too-big", "PodScheduled").get("reason") == "Unschedulable",
        "the scheduler to mark too-big Unschedulable",
    )
    wait_for(
        lambda: (
            condition(plane, namespace, "hpa/wrong-group", "AbleToScale").get("reason") == "FailedGetScale"
        ),
        "the HPA controller to report FailedGetScale",
    )
    try:
        yield namespace
    finally:
        plane.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found", check=False)


def test_doctor_names_each_problem_the_control_plane_decided(plane: ControlPlane, problems: str, tmp_path):
    done, report = doctor(plane, tmp_path, plane.kubeconfig, problems)
    assert done.returncode == 1, done.stderr
    found = {(f["id"], f["object"]) for f in report["findings"]}
    assert {(i, o.format(ns=problems)) for i, o in EXPECTED} <= found
    capacity = next(f for f in report["findings"] if f["id"] == "POD-CAPACITY")
    assert "Insufficient cpu" in capacity["evidence"]
    assert "can never schedule" in capacity["meaning"]  # 500 cpu is more than any hollow node
    target = next(f for f in report["findings"] if f["id"] == "HPA-TARGET")
    assert 'no matches for kind "Deployment" in group "extensions"' in target["evidence"]
    assert target["fix"] == "set scaleTargetRef.apiVersion: apps/v1"
    pvc = next(f for f in report["findings"] if f["id"] == "PVC-PENDING")
    assert "StorageClass fast-ssd-typo does not exist" in pvc["meaning"]
    assert report["gaps"] == {}


def test_a_view_only_user_gets_the_same_namespaced_findings(plane: ControlPlane, problems: str, tmp_path):
    user = f"viewer-{problems}"
    binding = f"doctor-view-{problems}"
    plane.kubectl("create", "clusterrolebinding", binding, "--clusterrole=view", f"--user={user}")
    try:
        done, report = doctor(plane, tmp_path, plane.user_kubeconfig(user), problems)
    finally:
        plane.kubectl("delete", "clusterrolebinding", binding, "--ignore-not-found", check=False)
    assert done.returncode == 1, done.stderr
    found = {(f["id"], f["object"]) for f in report["findings"]}
    namespaced = {(i, o.format(ns=problems)) for i, o in EXPECTED if i != "PVC-PENDING"}
    assert namespaced <= found
    # view grants no cluster-scoped kinds: those are reported as not collected, and what needs them is skipped
    assert {"nodes", "storageclasses.storage.k8s.io"} <= set(report["gaps"])
    assert "PVC-PENDING" in report["skipped"]
    assert all("forbidden" in error.lower() for error in report["gaps"].values())
