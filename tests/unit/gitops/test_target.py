"""Which cluster a command acts on: only one named for the environment; errors told apart by cause."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from infra import proc
from infra.cli import app
from infra.errors import ClusterAuthError, ClusterUnavailableError, ConfigError, InfraError
from infra.kube import KubeTarget, failure, kubeconfig_view, resolve_target

KUBECONFIG = """apiVersion: v1
kind: Config
current-context: work
contexts:
- name: work
  context: {cluster: prod, user: me}
- name: lab
  context: {cluster: labc, user: me}
clusters:
- name: prod
  cluster: {server: "https://prod.example:6443"}
- name: labc
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: me
  user: {}
"""


@pytest.fixture
def users_kubeconfig(isolated_state):
    """A ~/.kube/config pointing at a 'work' cluster, in the fake HOME."""
    path = isolated_state.parent / "home" / ".kube" / "config"
    path.parent.mkdir(parents=True)
    path.write_text(KUBECONFIG)
    return path


def own_kubeconfig(isolated_state, env="local", context="kind-lab"):
    directory = isolated_state / env
    directory.mkdir(parents=True)
    (directory / "kubeconfig").write_text(KUBECONFIG)
    (directory / "outputs.json").write_text(json.dumps({"context": context}))
    return directory / "kubeconfig"


def test_a_changing_command_never_falls_back_to_the_users_kubeconfig(users_kubeconfig, monkeypatch):
    with pytest.raises(ClusterUnavailableError, match="no cluster named for the local environment"):
        resolve_target("local")
    monkeypatch.setenv("KUBECONFIG", str(users_kubeconfig))
    with pytest.raises(ClusterUnavailableError, match=r"never use \$KUBECONFIG or ~/.kube/config"):
        resolve_target("local")


def test_reconcile_refuses_before_any_kubectl_call(users_kubeconfig, monkeypatch, no_kubectl):
    monkeypatch.setenv("KUBECONFIG", str(users_kubeconfig))
    result = CliRunner().invoke(app, ["reconcile", "--env", "local"])
    assert result.exit_code == 2
    assert "no cluster named for the local environment" in result.output
    assert no_kubectl == []


def test_a_read_only_command_may_use_kubeconfig_and_says_so(users_kubeconfig, monkeypatch):
    with pytest.raises(ClusterUnavailableError):
        resolve_target("local", read_only=True)  # never ~/.kube/config on its own
    monkeypatch.setenv("KUBECONFIG", str(users_kubeconfig))
    target = resolve_target("local", read_only=True)
    assert target.kubectl("get", "nodes") == ["kubectl", "get", "nodes"]
    assert "reading the cluster of $KUBECONFIG (read-only)" in target.notes[0]
    assert target.view() == ("work", "https://prod.example:6443")


def test_the_environments_kubeconfig_wins_and_an_ignored_kubeconfig_is_said(isolated_state, monkeypatch):
    own = own_kubeconfig(isolated_state)
    monkeypatch.setenv("KUBECONFIG", "/elsewhere")
    target = resolve_target("local")
    assert target.kubectl("get", "nodes") == [
        "kubectl",
        "--kubeconfig",
        str(own),
        "--context",
        "kind-lab",
        "get",
        "nodes",
    ]
    assert "$KUBECONFIG is ignored" in target.notes[0]


def test_an_explicit_context_names_a_cluster_of_the_users_chain(users_kubeconfig):
    target = resolve_target("local", context="lab")
    assert target.kubectl("apply") == ["kubectl", "--context", "lab", "apply"]
    assert target.view() == ("lab", "https://127.0.0.1:6443")
    assert "~/.kube/config" in target.source


def test_an_explicit_kubeconfig_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_target("local", kubeconfig=tmp_path / "nope")


def test_kubeconfig_view_merges_a_chain_first_file_wins(tmp_path):
    first = tmp_path / "a"
    first.write_text("current-context: lab\ncontexts: []\nclusters: []\n")
    second = tmp_path / "b"
    second.write_text(KUBECONFIG)
    assert kubeconfig_view([first, second], None) == ("lab", "https://127.0.0.1:6443")
    assert kubeconfig_view([tmp_path / "missing"], None) == ("unknown", "unknown server")


TARGET = KubeTarget(None, "kind-lab", "test")


@pytest.mark.parametrize(
    ("stderr", "error", "words"),
    [
        (
            "Unable to connect to the server: tls: failed to verify certificate: x509: certificate signed by "
            "unknown authority",
            ClusterAuthError,
            "certificate is not trusted",
        ),
        (
            "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host?",
            ClusterUnavailableError,
            "cannot reach the cluster",
        ),
        (
            "error: You must be logged in to the server (Unauthorized)",
            ClusterAuthError,
            "rejected the credentials",
        ),
        (
            'Error from server (Forbidden): configmaps is forbidden: User "nobody" cannot list resource',
            ClusterAuthError,
            "forbidden for this user",
        ),
        (
            'error: Apply failed with 1 conflict: conflict with "someone-else": .spec.replicas\nPlease',
            InfraError,
            'Apply failed with 1 conflict: conflict with "someone-else"',
        ),
    ],
    ids=["wrong-ca", "refused", "unauthorized", "forbidden", "conflict"],
)
def test_kubectl_failures_are_told_apart(stderr, error, words):
    made = failure(TARGET, proc.Result(["kubectl"], 1, "", stderr), "kubectl apply", "hint")
    assert type(made) is error
    assert words in made.message
