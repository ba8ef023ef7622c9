"""``infra check --server``: a read-only server-side dry run, each rejection a finding on its file and object.

kubectl is faked at ``infra.proc.run``: the tests pin what is sent (``apply --server-side --dry-run=server
--field-manager=infra``, never a plain apply), the order (Namespaces first), and how answers become findings.
"""

from __future__ import annotations

import json

import pytest

from infra import proc
from infra.checks import Severity
from infra.checks.server import dry_run
from infra.cli import main
from infra.errors import InfraError
from infra.kube import KubeTarget
from infra.render import load_documents

SET = """
apiVersion: v1
kind: Namespace
metadata: {name: lab}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: lab}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: "nginx:1.27.3"}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: default}
data: {a: b}
"""
REJECTION = (
    'Error from server (Forbidden): admission webhook "policy.example.com" denied the request: '
    "ConfigMap settings: label team is required"
)


class FakeKubectl:
    """Answers kubectl calls; ``namespaces`` exist on the server; ``reject`` maps object name -> stderr."""

    def __init__(self, namespaces: str = "default kube-system", reject: dict[str, str] | None = None) -> None:
        self.namespaces, self.reject, self.calls, self.applied = namespaces, reject or {}, [], []

    def __call__(self, argv, *, input=None, **_kwargs):
        self.calls.append(argv)
        assert argv[:3] == ["kubectl", "--context", "kind-lab"]  # every call goes to the chosen cluster
        args = argv[3:]
        if args[0] == "version":
            return proc.Result(argv, 0, json.dumps({"serverVersion": {"gitVersion": "v1.36.4"}}), "")
        if args[:2] == ["get", "namespaces"]:
            return proc.Result(argv, 0, self.namespaces, "")
        assert args == ["apply", "--server-side", "--dry-run=server", "--field-manager=infra", "-f", "-"]
        obj = json.loads(input)
        self.applied.append(f"{obj['kind']}/{obj['metadata']['name']}")
        if obj["metadata"]["name"] in self.reject:
            return proc.Result(argv, 1, "", self.reject[obj["metadata"]["name"]])
        return proc.Result(argv, 0, "serverside-applied (server dry run)", "")


@pytest.fixture
def docs(tmp_path):
    return load_documents(SET, tmp_path / "set.yaml")


TARGET = KubeTarget(None, "kind-lab", "--context kind-lab")


def test_rejections_are_findings_with_the_servers_message(monkeypatch, docs):
    fake = FakeKubectl(namespaces="default kube-system lab", reject={"settings": REJECTION})
    monkeypatch.setattr(proc, "run", fake)
    (finding,) = dry_run(docs, TARGET)
    assert (finding.rule, finding.severity, finding.subject) == (
        "SERVER-DRY-RUN",
        Severity.ERROR,
        "ConfigMap/default/settings",
    )
    assert finding.where.endswith("set.yaml#2")
    assert finding.message == (
        'the API server rejects it: admission webhook "policy.example.com" denied the request: '
        "ConfigMap settings: label team is required (Forbidden)"
    )
    assert fake.applied == ["Namespace/lab", "Deployment/web", "ConfigMap/settings"]
    assert len(fake.calls) == 2 + len(fake.applied)  # version, namespaces, one dry run per object


def test_objects_in_a_namespace_the_set_creates_are_not_false_rejections(monkeypatch, docs):
    fake = FakeKubectl(namespaces="default kube-system")
    monkeypatch.setattr(proc, "run", fake)
    (finding,) = dry_run(docs, TARGET)
    assert finding.severity is Severity.INFO
    assert "namespace lab is created by this set and is not on the server yet" in finding.message
    assert fake.applied == ["Namespace/lab", "ConfigMap/settings"]  # the Deployment is not sent


def test_a_user_without_rights_is_exit_2_not_a_finding(monkeypatch, docs):
    denied = 'Error from server (Forbidden): namespaces "lab" is forbidden: User "jane" cannot patch resource'
    monkeypatch.setattr(proc, "run", FakeKubectl(namespaces="default lab", reject={"lab": denied}))
    with pytest.raises(InfraError, match="forbidden for this user"):
        dry_run(docs, TARGET)


def test_an_unreachable_cluster_is_exit_2_not_a_finding(monkeypatch, docs):
    def refused(argv, **_kwargs):
        return proc.Result(argv, 1, "", "The connection to the server 127.0.0.1:6443 was refused")

    monkeypatch.setattr(proc, "run", refused)
    with pytest.raises(InfraError, match="cannot reach the cluster"):
        dry_run(docs, TARGET)


def test_cli_server_reports_the_rejection_and_fails(monkeypatch, tmp_path, capsys):
    manifests = tmp_path / "set.yaml"
    manifests.write_text(SET)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    fake = FakeKubectl(namespaces="default lab", reject={"settings": REJECTION})
    raw: list[list[str]] = []

    def run(argv, **kwargs):
        raw.append(argv)
        return fake(["kubectl", "--context", "kind-lab", *argv[3:]], **kwargs)

    monkeypatch.setattr(proc, "run", run)
    code = main(["check", str(manifests), "--server", "--kubeconfig", str(kubeconfig), "-q"])
    out = capsys.readouterr().out
    assert code == 1
    assert "ConfigMap/default/settings SERVER-DRY-RUN: the API server rejects it: admission webhook" in out
    assert all(argv[1:3] == ["--kubeconfig", str(kubeconfig.resolve())] for argv in raw)  # only that cluster


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--server", "--kubeconfig", "missing-kubeconfig"], "missing-kubeconfig does not exist"),
        (["--context", "kind-lab"], "--kubeconfig and --context choose the cluster of --server"),
    ],
)
def test_cli_server_usage_errors_exit_2(tmp_path, capsys, args, error):
    manifests = tmp_path / "set.yaml"
    manifests.write_text(SET)
    assert main(["check", str(manifests), *args]) == 2
    assert error in capsys.readouterr().err
