"""The collector at the process boundary: exact argv, only `get`, a fixed number of calls, partial results."""

from __future__ import annotations

import json

import pytest

from infra.doctor import collect
from infra.doctor.collect import parse_errors
from infra.doctor.snapshot import RESOURCES
from infra.errors import ClusterUnavailableError, InfraError
from infra.kube import KubeTarget


@pytest.fixture
def target(tmp_path) -> KubeTarget:
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: lab\n"
        "contexts: [{name: lab, context: {cluster: lab, user: lab}}]\n"
        "clusters: [{name: lab, cluster: {server: 'https://127.0.0.1:6443'}}]\nusers: "
        "[{name: lab, user: {}}]\n"
    )
    return KubeTarget(config, None, "--kubeconfig")


def test_one_get_lists_every_kind_without_paging(kubectl, target, listing):
    kubectl.reply(listing("nodes-firing"))
    snapshot = collect(target)
    assert kubectl.calls == [
        [
            "kubectl",
            "--kubeconfig",
            str(target.kubeconfig),
            "get",
            ",".join(RESOURCES),
            "--all-namespaces",
            "-o",
            "json",
            "--chunk-size=0",
            "--request-timeout=30s",
        ]
    ]
    assert len(snapshot.of_kind("Node")) == 4
    assert snapshot.gaps == {}
    assert snapshot.secrets is None
    assert snapshot.source == "https://127.0.0.1:6443 (context lab, from --kubeconfig)"


def test_namespace_narrows_the_call(kubectl, target, listing):
    kubectl.reply(listing("pods-firing"))
    snapshot = collect(target, "lab-qos")
    assert kubectl.calls[0][-6:-4] == ["--namespace", "lab-qos"]
    assert snapshot.namespace == "lab-qos"


@pytest.mark.parametrize("family", ["autoscaling", "pods", "workloads", "storage", "network", "nodes"])
def test_the_collector_only_gets_and_makes_at_most_two_calls(kubectl, target, listing, family):
    kubectl.reply(listing(f"{family}-firing")).reply("lab-tls\tweb-tls\tkubernetes.io/tls\n")
    collect(target)
    assert set(kubectl.verbs()) == {"get"}
    assert len(kubectl.calls) == (2 if family == "network" else 1)  # Secret names only for TLS Ingresses


def test_secret_names_are_read_without_their_data(kubectl, target, listing):
    kubectl.reply(listing("network-firing")).reply(
        "lab-tls\tweb-tls\tkubernetes.io/tls\nlab-tls\topaque\tOpaque\n"
    )
    snapshot = collect(target)
    argv = kubectl.calls[1]
    assert argv[3:6] == ["get", "secrets", "--all-namespaces"]
    assert argv[-1].startswith("jsonpath=")
    assert ".data" not in argv[-1]
    assert snapshot.secrets == [
        {"namespace": "lab-tls", "name": "web-tls", "type": "kubernetes.io/tls"},
        {"namespace": "lab-tls", "name": "opaque", "type": "Opaque"},
    ]
    assert "data" not in json.dumps(snapshot.secrets)


def test_forbidden_kinds_become_gaps_and_the_rest_is_kept(kubectl, target, listing):
    stderr = (
        'Error from server (Forbidden): nodes is forbidden: User "viewer" cannot list resource "nodes" in '
        "API "
        'group "" at the cluster scope\n'
        "Error from server (Forbidden): apiservices.apiregistration.k8s.io is forbidden: "
        'User "viewer" cannot '
        'list resource "apiservices" in API group "apiregistration.k8s.io" at the cluster scope\n'
    )
    kubectl.reply(listing("pods-firing"), stderr, returncode=1).reply(
        "",
        'Error from server (Forbidden): secrets is forbidden: User "viewer" cannot list resource "secrets"',
        1,
    )
    snapshot = collect(target)
    assert set(snapshot.gaps) == {"nodes", "apiservices.apiregistration.k8s.io"}
    assert snapshot.of_kind("Pod")
    assert not snapshot.collected("Node")
    assert snapshot.collected("Pod")


def test_secrets_forbidden_is_a_gap_not_an_error(kubectl, target, listing):
    kubectl.reply(listing("network-firing")).reply(
        "",
        'Error from server (Forbidden): secrets is forbidden: User "viewer" cannot list resource "secrets"',
        1,
    )
    snapshot = collect(target)
    assert snapshot.secrets is None
    assert "forbidden" in snapshot.gaps["secrets"]


def test_an_unserved_kind_is_dropped_and_the_call_repeated(kubectl, target, listing):
    kubectl.reply("", 'error: the server doesn\'t have a resource type "ingressclasses"', 1).reply(
        listing("nodes-firing")
    )
    snapshot = collect(target)
    assert len(kubectl.calls) == 2
    assert "ingressclasses.networking.k8s.io" not in kubectl.calls[1][4].split(",")
    assert "ingressclasses.networking.k8s.io" in snapshot.gaps


def test_no_cluster_is_cluster_unavailable(kubectl, target, listing):
    kubectl.reply(
        "",
        "E0105 dial tcp 127.0.0.1:6443: connect: connection refused\nThe connection to the server "
        "127.0.0.1:6443 was refused - did you specify the right host or port?",
        1,
    )
    with pytest.raises(ClusterUnavailableError) as caught:
        collect(target)
    assert caught.value.exit_code == 2
    assert "cannot reach the cluster" in caught.value.message


def test_unauthorized_is_a_clear_error(kubectl, target, listing):
    kubectl.reply("", "error: You must be logged in to the server (Unauthorized)", 1)
    with pytest.raises(InfraError) as caught:
        collect(target)
    assert "Unauthorized" in caught.value.message


def test_parse_errors_maps_group_qualified_resources():
    line = (
        'Error from server (Forbidden): storageclasses.storage.k8s.io is forbidden: User "u" cannot list '
        'resource "storageclasses" in API group "storage.k8s.io" at the cluster scope'
    )
    assert parse_errors(line) == {"storageclasses.storage.k8s.io": line}


def test_likely_causes_for_a_failed_stage_never_raise(kubectl, target, listing):
    from infra.doctor import likely_causes

    kubectl.reply(listing("pods-firing"))
    lines = likely_causes(target, "lab-qos", kind="Pod", name="bad-tag")
    assert lines[0].startswith("Pod/lab-qos/bad-tag IMAGE-PULL: container app waiting ImagePullBackOff")
    assert all("lab-qos/bad-tag" in line or line.startswith("Node/") for line in lines)
    kubectl.reply("", "The connection to the server 127.0.0.1:6443 was refused", 1)
    (line,) = likely_causes(target, "lab-qos")
    assert line.startswith("infra doctor could not look: cannot reach the cluster")
