"""GIT-1..3 drift: the exact kubectl commands, kubectl diff's exit codes, prune detection, Markdown, CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from infra.cli import app
from infra.drift import CHANGED, DIFF_PROGRAM, MISSING, ORPHANED, TO_PRUNE, DriftReport, ObjectDrift, drift
from infra.errors import ClusterUnavailableError, InfraError
from infra.kube import ObjectRef
from infra.ownership import OWNERSHIP_SELECTOR

FIXTURES = Path(__file__).parent / "fixtures"
RENDERED = (FIXTURES / "rendered-local.yaml").read_text()
FULL_DIFF = (FIXTURES / "kubectl-diff-full-context.txt").read_text()
IN_GIT = {  # (kind, namespace, name) of the rendered fixture
    ("Namespace", "", "lab-tls"),
    ("Namespace", "", "lab-hpa"),
    ("Namespace", "", "lab-mysql"),
    ("Deployment", "lab-tls", "web"),
    ("Service", "lab-tls", "web"),
    ("Ingress", "lab-tls", "web"),
    ("Deployment", "lab-hpa", "hpa-demo"),
    ("HorizontalPodAutoscaler", "lab-hpa", "hpa-demo"),
    ("ConfigMap", "lab-mysql", "mysql"),
    ("StatefulSet", "lab-mysql", "mysql"),
}
EXPECTED_PRUNE = [
    ObjectRef("", "ConfigMap", "lab-mysql", "stale"),
    ObjectRef("", "Pod", "lab-qos", "qos-old"),
    ObjectRef("apps", "Deployment", "lab-tls", "old-web"),
]


def in_git(obj) -> bool:
    meta = obj["metadata"]
    return (obj["kind"], meta.get("namespace", ""), meta["name"]) in IN_GIT


@pytest.fixture
def clean(kube):
    """The cluster holds exactly what git has."""
    kube.live = [o for o in kube.live if in_git(o)]
    return kube


def test_no_drift_runs_exactly_these_commands(clean, target):
    report = drift("local", target=target)
    flags = ["--kubeconfig", str(target.kubeconfig), "--context", "kind-lab"]
    # rendering is local (no cluster flags); every other call goes to the chosen cluster
    assert [c.argv[1:5] == flags for c in clean.calls] == [True, False, True, True, True]
    assert clean.commands() == [
        ["version", "--output=json", "--request-timeout=15s"],
        ["kustomize", str(clean.calls[1].args[1])],
        ["get", "namespaces", "-o", "name"],
        ["diff", "--server-side", "--field-manager=infra", "--force-conflicts", "-f", "-"],
        [
            "get",
            "namespaces,configmaps,services,serviceaccounts,pods,deployments.apps,statefulsets.apps,"
            "daemonsets.apps,jobs.batch,cronjobs.batch,ingresses.networking.k8s.io,"
            "networkpolicies.networking.k8s.io,horizontalpodautoscalers.autoscaling,poddisruptionbudgets.policy,"
            "roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io",
            "--all-namespaces",
            "-l",
            OWNERSHIP_SELECTOR,
            "-o",
            "json",
        ],
    ]
    assert clean.calls[1].args[1].endswith("manifests/envs/local")
    (diff_call,) = clean.find("diff")
    assert diff_call.input == RENDERED  # the rendered text as is, the same bytes reconcile applies
    assert diff_call.env == {"KUBECTL_EXTERNAL_DIFF": DIFF_PROGRAM, "KUBERC": "off"}
    assert (report.has_drift, report.exit_code, report.items, report.compared) == (False, 0, [], 10)


def test_kubectl_diff_exit_1_is_drift_per_object(clean, target):
    clean.on("diff", returncode=1, stdout=FULL_DIFF)
    report = drift("local", target=target)
    assert report.exit_code == 1
    assert {(i.ref.kind, i.status) for i in report.items} == {
        ("Deployment", CHANGED),
        ("Ingress", CHANGED),
        ("ConfigMap", CHANGED),
        ("Service", MISSING),
    }


@pytest.mark.parametrize("code", [2, 3, 255])
def test_kubectl_diff_above_1_is_an_error_not_drift(clean, target, code):
    clean.on(
        "diff",
        returncode=code,
        stderr='Error from server (Invalid): HorizontalPodAutoscaler "hpa-demo" is invalid',
    )
    with pytest.raises(InfraError) as caught:
        drift("local", target=target)
    assert not isinstance(caught.value, ClusterUnavailableError)
    assert caught.value.exit_code == 2
    assert "is invalid" in caught.value.message
    assert not clean.find("get", "namespaces,configmaps")  # stopped at the failure


def test_kubectl_diff_exit_1_without_parsable_output_is_still_drift(clean, target):
    clean.on("diff", returncode=1, stdout="something kubectl printed\n")
    report = drift("local", target=target)
    assert (report.exit_code, report.items, report.unparsed) == (1, [], "something kubectl printed")


def test_no_cluster_is_a_cluster_unavailable_error_before_any_diff(kube, target):
    kube.on(
        "version",
        returncode=1,
        stdout='{"clientVersion": {"gitVersion": "v1.32.4"}}',
        stderr="The connection to the server 127.0.0.1:6443 was refused - did you specify the right host?",
    )
    with pytest.raises(ClusterUnavailableError) as caught:
        drift("local", target=target)
    assert caught.value.exit_code == 2
    assert kube.commands() == [["version", "--output=json", "--request-timeout=15s"]]


def test_a_cluster_lost_during_the_diff_is_also_unavailable(clean, target):
    clean.on(
        "diff", returncode=2, stderr="Unable to connect to the server: dial tcp 127.0.0.1:6443: i/o timeout"
    )
    with pytest.raises(ClusterUnavailableError):
        drift("local", target=target)


def test_owned_objects_git_lacks_are_reported_to_prune(kube, target):
    report = drift("local", target=target)
    assert [i.ref for i in report.items if i.status == TO_PRUNE] == EXPECTED_PRUNE
    assert [i.ref for i in report.items if i.status == ORPHANED] == [
        ObjectRef("", "Namespace", "", "lab-old")
    ]
    assert report.exit_code == 1


def test_objects_in_a_deleted_namespace_are_missing_and_kept_out_of_the_diff(clean, target):
    clean.on("get", "namespaces", "-o", "name", stdout="namespace/lab-tls\nnamespace/lab-hpa\n")
    report = drift("local", target=target)
    missing = {(i.ref.kind, i.ref.name) for i in report.items if i.status == MISSING}
    assert missing == {("ConfigMap", "mysql"), ("StatefulSet", "mysql")}
    diffed = list(yaml.safe_load_all(clean.find("diff")[0].input))
    assert {o["metadata"].get("namespace") for o in diffed} == {None, "lab-tls", "lab-hpa"}
    assert ("Namespace", "lab-mysql") in {
        (o["kind"], o["metadata"]["name"]) for o in diffed
    }  # it gets created


REPORT = DriftReport(
    "local",
    "$KUBECONFIG",
    10,
    [
        ObjectDrift(
            ObjectRef("apps", "Deployment", "lab-hpa", "hpa-demo"),
            CHANGED,
            ("spec.template.spec.containers[hpa-demo].resources.requests.cpu",),
            1,
            1,
            ("-            cpu: 100m", "+            cpu: 200m"),
        ),
        ObjectDrift(ObjectRef("", "Service", "lab-tls", "web"), MISSING, added=32),
        ObjectDrift(ObjectRef("", "ConfigMap", "lab-mysql", "stale"), TO_PRUNE, note="owned | gone"),
    ],
)


def test_markdown_has_a_row_per_object_and_the_changed_lines():
    text = REPORT.markdown()
    assert "**Drift in 3 objects: 1 changed, 1 missing, 1 to prune** (cluster: $KUBECONFIG)." in text
    assert (
        "| `Deployment lab-hpa/hpa-demo` | changed | "
        "spec.template.spec.containers[hpa-demo].resources.requests.cpu (+1 -1) |" in text
    )
    assert "| `Service lab-tls/web` | missing | not in the cluster; the next reconcile creates it |" in text
    assert (
        "| `ConfigMap lab-mysql/stale` | to prune | owned \\| gone |" in text
    )  # a pipe cannot break the table
    assert "```diff\n-            cpu: 100m\n+            cpu: 200m\n```" in text


def test_markdown_without_drift_says_so():
    text = DriftReport("aws", "ctx", 12).markdown()
    assert "**No drift.**" in text
    assert "12 objects compared" in text
    assert "|" not in text


def invoke(target, *args):
    return CliRunner().invoke(app, ["drift", "--kubeconfig", str(target.kubeconfig), *args])


def test_cli_exit_0_and_the_report_file(clean, target, isolated_state):
    result = invoke(target)
    assert result.exit_code == 0, result.output
    report = isolated_state / "state" / "reports" / "drift-local.md"
    assert "**No drift.**" in report.read_text()


def test_cli_exit_1_appends_to_the_github_job_summary(kube, target, tmp_path, monkeypatch):
    kube.on("diff", returncode=1, stdout=FULL_DIFF)
    summary = tmp_path / "summary.md"
    summary.write_text("## Reconcile\n\nearlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    out = tmp_path / "drift.md"
    result = invoke(target, "--markdown", str(out))
    assert result.exit_code == 1, result.output
    assert "data[replica.cnf]" in result.output  # paths are printed as text, not read as rich markup
    text = summary.read_text()
    assert text.startswith("## Reconcile\n\nearlier step\n")  # appended, never overwritten
    assert "| `Deployment lab-hpa/hpa-demo` | changed |" in text
    assert "| `Deployment lab-tls/old-web` | to prune |" in text
    assert out.read_text() in text


def test_cli_exit_2_on_a_kubectl_error_and_the_summary_says_why(clean, target, tmp_path, monkeypatch):
    clean.on("diff", returncode=2, stderr="error: unable to recognize: no matches for kind Foo")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = invoke(target)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "**Error:** kubectl diff --server-side failed: error: unable to recognize" in summary.read_text()


def test_cli_without_any_kubeconfig_exits_2_without_running_kubectl(kube):
    result = CliRunner().invoke(app, ["drift", "--env", "local"])
    assert result.exit_code == 2
    assert "no kubeconfig for the local environment" in result.output
    assert kube.calls == []
