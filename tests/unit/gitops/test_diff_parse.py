"""GIT-1/GIT-2: `kubectl diff` output becomes one entry per object with the YAML paths that changed.

The fixtures are real GNU diff output over LIVE-/MERGED- directories laid out as kubectl lays them out
(``<group.>version.Kind.namespace.name`` files holding kubectl's YAML): once with kubectl's default
``diff -u -N`` and once with the toolkit's ``diff -u -N -U10000``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.drift import CHANGED, MISSING, TO_PRUNE, parse_diff, parse_object_file, yaml_path
from infra.kube import ObjectRef

FIXTURES = Path(__file__).parent / "fixtures"
HPA = ObjectRef("apps", "Deployment", "lab-hpa", "hpa-demo")
INGRESS = ObjectRef("networking.k8s.io", "Ingress", "lab-tls", "web")
CONFIGMAP = ObjectRef("", "ConfigMap", "lab-mysql", "mysql")
SERVICE = ObjectRef("", "Service", "lab-tls", "web")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/tmp/LIVE-2841075911/apps.v1.Deployment.lab-hpa.hpa-demo", HPA),
        ("/tmp/MERGED-1178301642/networking.k8s.io.v1.Ingress.lab-tls.web", INGRESS),
        ("/tmp/MERGED-1/v1.Namespace..lab-tls", ObjectRef("", "Namespace", "", "lab-tls")),
        (
            "/tmp/MERGED-1/autoscaling.v2.HorizontalPodAutoscaler.lab-hpa.hpa-demo",
            ObjectRef("autoscaling", "HorizontalPodAutoscaler", "lab-hpa", "hpa-demo"),
        ),
        (
            "/tmp/LIVE-1/apiregistration.k8s.io.v1.APIService..v1beta1.metrics.k8s.io",
            ObjectRef("apiregistration.k8s.io", "APIService", "", "v1beta1.metrics.k8s.io"),
        ),
        (
            "/tmp/LIVE-1/policy.v1beta1.PodDisruptionBudget.lab-mysql.mysql.pdb",
            ObjectRef("policy", "PodDisruptionBudget", "lab-mysql", "mysql.pdb"),
        ),
        ("/tmp/LIVE-1/README", None),
    ],
)
def test_object_file_names_parse_to_refs(path, expected):
    assert parse_object_file(path) == expected


@pytest.fixture(scope="module")
def full():
    return {item.ref: item for item in parse_diff((FIXTURES / "kubectl-diff-full-context.txt").read_text())}


@pytest.fixture(scope="module")
def short():
    return {item.ref: item for item in parse_diff((FIXTURES / "kubectl-diff-default.txt").read_text())}


def test_every_differing_object_is_listed_and_identical_ones_are_not(full, short):
    # the Namespace lab-tls file is identical on both sides: diff prints nothing for it
    assert set(full) == set(short) == {HPA, INGRESS, CONFIGMAP, SERVICE}


@pytest.mark.parametrize(
    ("ref", "status", "fields", "added", "removed"),
    [
        (HPA, CHANGED, ("spec.template.spec.containers[hpa-demo].resources.requests.cpu",), 2, 2),
        (INGRESS, CHANGED, ("metadata.annotations[nginx.ingress.kubernetes.io/ssl-redirect]",), 1, 1),
        (CONFIGMAP, CHANGED, ("data[replica.cnf]",), 1, 1),
        (SERVICE, MISSING, (), 32, 0),
    ],
)
def test_full_context_gives_complete_paths(full, ref, status, fields, added, removed):
    item = full[ref]
    assert (item.status, item.fields, item.added, item.removed) == (status, fields, added, removed)


@pytest.mark.parametrize(
    ("ref", "fields"),
    [
        (HPA, ("…requests.cpu",)),  # "…generation" is dropped as noise
        (INGRESS, ("…annotations[nginx.ingress.kubernetes.io/ssl-redirect]",)),
        (CONFIGMAP, ("…[replica.cnf]",)),
    ],
)
def test_kubectl_default_context_marks_paths_it_cannot_see_the_top_of(short, ref, fields):
    assert short[ref].fields == fields


def test_excerpt_holds_the_changed_lines_only(full):
    assert full[HPA].excerpt == (
        "-  generation: 2",
        "+  generation: 3",
        "-            cpu: 100m",
        "+            cpu: 200m",
    )


def test_a_deleted_file_is_an_object_to_prune():
    text = "\n".join(
        [
            "diff -u -N /tmp/LIVE-1/v1.ConfigMap.lab-mysql.stale /tmp/MERGED-2/v1.ConfigMap.lab-mysql.stale",
            "--- /tmp/LIVE-1/v1.ConfigMap.lab-mysql.stale\t2026-11-21 08:00:00.000000000 +0000",
            "+++ /tmp/MERGED-2/v1.ConfigMap.lab-mysql.stale\t1970-01-01 00:00:00.000000000 +0000",
            "@@ -1,3 +0,0 @@",
            "-apiVersion: v1",
            "-kind: ConfigMap",
            "-metadata: {}",
        ]
    )
    (item,) = parse_diff(text)
    assert (item.ref, item.status, item.removed) == (
        ObjectRef("", "ConfigMap", "lab-mysql", "stale"),
        TO_PRUNE,
        3,
    )


def test_an_added_subtree_is_reported_once_at_its_root():
    text = "\n".join(
        [
            "diff -N -U10000 /tmp/LIVE-1/apps.v1.Deployment.ns.web /tmp/MERGED-2/apps.v1.Deployment.ns.web",
            "--- /tmp/LIVE-1/apps.v1.Deployment.lab-tls.web",
            "+++ /tmp/MERGED-2/apps.v1.Deployment.lab-tls.web",
            "@@ -1,6 +1,9 @@",
            " spec:",
            "   template:",
            "     spec:",
            "       containers:",
            "       - image: traefik/whoami:v1.11.0",
            "         name: web",
            "+        resources:",
            "+          requests:",
            "+            cpu: 10m",
        ]
    )
    (item,) = parse_diff(text)
    assert item.fields == ("spec.template.spec.containers[web].resources",)


DOC = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  annotations:
    infra.lab/supplied-at-runtime: Secret/mysql-credentials
  name: mysql
spec:
  template:
    spec:
      containers:
      - args:
        - --kubelet-insecure-tls
        env:
        - name: MYSQL_ROOT_PASSWORD
          valueFrom:
            secretKeyRef:
              key: root-password
        name: mysql
      - name: xtrabackup
        ports:
        - containerPort: 3307
      volumes:
      - configMap:
          name: mysql
data:
  primary.cnf: |
    [mysqld]
    log-bin
""".splitlines()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("kind: StatefulSet", "kind"),
        (
            "    infra.lab/supplied-at-runtime: Secret/mysql-credentials",
            "metadata.annotations[infra.lab/supplied-at-runtime]",
        ),
        ("        - --kubelet-insecure-tls", "spec.template.spec.containers[mysql].args[0]"),
        (
            "              key: root-password",
            "spec.template.spec.containers[mysql].env[MYSQL_ROOT_PASSWORD].valueFrom.secretKeyRef.key",
        ),
        ("        name: mysql", "spec.template.spec.containers[mysql].name"),
        ("        - containerPort: 3307", "spec.template.spec.containers[xtrabackup].ports[0].containerPort"),
        ("          name: mysql", "spec.template.spec.volumes[0].configMap.name"),
        ("    log-bin", "data[primary.cnf]"),
    ],
)
def test_yaml_paths_follow_kubectl_indentation(line, expected):
    assert yaml_path(DOC, DOC.index(line)) == expected
