"""GIT-1..3 reconcile: the exact kubectl commands and their order, the prune scope, run-time Secrets."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from infra import proc
from infra.cli import app
from infra.contract import StackOutputs
from infra.errors import ClusterUnavailableError, ConfigError, InfraError
from infra.kube import KubeTarget, ObjectRef, resolve_target
from infra.ownership import OWNERSHIP_SELECTOR, is_owned
from infra.reconcile import (
    PRUNE_KINDS,
    delete_command,
    orphaned_namespaces,
    reconcile,
    render_desired,
    runtime_secret_refs,
    select_prunable,
)

FIXTURES = Path(__file__).parent / "fixtures"
RENDERED = (FIXTURES / "rendered-local.yaml").read_text()
CLUSTER = json.loads((FIXTURES / "cluster-objects.json").read_text())["items"]
HOST = "127-0-0-1.nip.io"
APPLY = ["apply", "--server-side", "--field-manager=infra", "--force-conflicts", "-f", "-"]
EXPECTED_PRUNE = [
    ObjectRef("", "ConfigMap", "lab-mysql", "stale"),
    ObjectRef("", "Pod", "lab-qos", "qos-old"),
    ObjectRef("apps", "Deployment", "lab-tls", "old-web"),
]
TLS = ObjectRef("", "Secret", "lab-tls", "web-tls")
MYSQL = ObjectRef("", "Secret", "lab-mysql", "mysql-credentials")


def secret(ref: ObjectRef, value: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": ref.name, "namespace": ref.namespace},
        "type": "Opaque",
        "stringData": {"value": value},
    }


class Provider:
    """Stands in for infra.secrets.runtime_secrets; records what it was asked."""

    def __init__(self, refs=(TLS, MYSQL)):
        self.refs = refs
        self.asked: list[tuple[str, str]] = []

    def __call__(self, env: str, ingress_host: str) -> list[dict]:
        self.asked.append((env, ingress_host))
        return [secret(ref, f"generated-{ref.name}") for ref in self.refs]


def run(target, **kwargs):
    kwargs.setdefault("ingress_host", HOST)
    kwargs.setdefault("secrets_provider", Provider())
    return reconcile("local", target=target, **kwargs)


def test_a_reconcile_runs_exactly_these_commands_in_this_order(kube, target):
    result = run(target)
    commands = kube.commands()
    assert commands[0] == ["version", "--output=json", "--request-timeout=15s"]
    assert commands[1][0] == "kustomize"
    assert commands[2:6] == [
        [
            "get",
            "secret",
            "mysql-credentials",
            "--namespace",
            "lab-mysql",
            "--ignore-not-found",
            "-o",
            "name",
        ],
        ["get", "secret", "web-tls", "--namespace", "lab-tls", "--ignore-not-found", "-o", "name"],
        APPLY,  # the namespaces, before the Secrets that live in them
        ["create", "-f", "-", "-o", "name"],
    ]
    assert commands[6:8] == [["create", "-f", "-", "-o", "name"], APPLY]
    assert commands[8][:2] == [
        "get",
        "namespaces,configmaps,services,serviceaccounts,pods,deployments.apps,"
        "statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch,"
        "ingresses.networking.k8s.io,networkpolicies.networking.k8s.io,"
        "horizontalpodautoscalers.autoscaling,poddisruptionbudgets.policy,"
        "roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io",
    ]
    assert commands[8][2:] == ["--all-namespaces", "-l", OWNERSHIP_SELECTOR, "-o", "json"]
    assert commands[9:12] == [
        ["delete", "configmaps", "stale", "--ignore-not-found", "--wait=false", "--namespace", "lab-mysql"],
        ["delete", "pods", "qos-old", "--ignore-not-found", "--wait=false", "--namespace", "lab-qos"],
        [
            "delete",
            "deployments.apps",
            "old-web",
            "--ignore-not-found",
            "--wait=false",
            "--namespace",
            "lab-tls",
        ],
    ]
    assert commands[12:] == [
        ["rollout", "status", "deployment.apps/hpa-demo", "--namespace", "lab-hpa", "--timeout=300s"],
        ["rollout", "status", "deployment.apps/web", "--namespace", "lab-tls", "--timeout=300s"],
        ["rollout", "status", "statefulset.apps/mysql", "--namespace", "lab-mysql", "--timeout=300s"],
    ]
    namespaces_apply, full_apply = kube.find("apply")
    assert [o["metadata"]["name"] for o in yaml.safe_load_all(namespaces_apply.input)] == [
        "lab-hpa",
        "lab-mysql",
        "lab-tls",
    ]
    assert full_apply.input == RENDERED  # the rendered text exactly as kustomize printed it
    assert result.pruned == EXPECTED_PRUNE
    assert (result.secrets_created, result.secrets_kept) == ([MYSQL, TLS], [])
    assert result.ok
    assert len(result.rolled_out) == 3


def test_every_cluster_command_runs_without_the_users_kuberc(kube, target):
    # kubectl's suggested kuberc defaults `delete` to --interactive: with our empty stdin that cancels every
    # prune while kubectl still exits 0. KUBERC=off makes each command do exactly what its flags say.
    run(target)
    cluster_calls = [c for c in kube.calls if c.args[0] != "kustomize"]
    assert {c.args[0] for c in cluster_calls} >= {"version", "get", "apply", "create", "delete", "rollout"}
    assert [c.args for c in cluster_calls if c.env.get("KUBERC") != "off"] == []


def test_dry_run_writes_nothing(kube, target):
    result = run(target, dry_run=True)
    writes = [c for c in kube.commands() if c[0] in ("apply", "delete", "create", "replace", "patch")]
    assert writes  # the dry run still asks the server what would happen ...
    assert all(c[-1] == "--dry-run=server" for c in writes)  # ... with every write a server-side dry run
    assert not kube.find("create")
    assert not kube.find("rollout")
    assert result.secrets_created == [MYSQL, TLS]
    assert result.pruned == EXPECTED_PRUNE


def test_no_prune_lists_and_deletes_nothing(kube, target):
    result = run(target, prune_owned=False, wait=False)
    assert not kube.find("delete")
    assert not [c for c in kube.commands() if c[:2] != ["get", "secret"] and c[0] == "get"]
    assert result.pruned == []


def test_an_existing_secret_is_kept_never_overwritten(kube, target):
    kube.on("get", "secret", "web-tls", stdout="secret/web-tls\n")
    result = run(target, wait=False)
    (create,) = kube.find("create")
    assert json.loads(create.input)["metadata"]["name"] == "mysql-credentials"
    assert "generated-web-tls" not in "".join(c.input or "" for c in kube.calls)  # its new value never sent
    assert (result.secrets_created, result.secrets_kept) == ([MYSQL], [TLS])


def test_a_secret_that_appears_meanwhile_is_kept(kube, target):
    kube.on("create", returncode=1, stderr='Error from server (AlreadyExists): secrets "x" already exists')
    result = run(target, wait=False)
    assert (result.secrets_created, result.secrets_kept) == ([], [MYSQL, TLS])


def test_secrets_are_looked_up_without_the_provider_when_no_host_is_known(kube, target):
    kube.on("get", "secret", stdout="secret/present\n")
    provider = Provider()
    result = run(target, ingress_host=None, secrets_provider=provider, wait=False)
    assert provider.asked == []  # nothing generated when nothing is missing
    assert result.secrets_kept == [MYSQL, TLS]


def test_a_missing_secret_without_a_host_stops_before_any_write(kube, target):
    with pytest.raises(ConfigError) as caught:
        run(target, ingress_host=None, secrets_provider=Provider())
    assert (
        "Secret lab-mysql/mysql-credentials is missing and no ingress host is known" in caught.value.message
    )
    assert not [c for c in kube.commands() if c[0] in ("apply", "create", "delete")]


def test_the_host_comes_from_the_stack_outputs_file(kube, target, isolated_state):
    outputs = isolated_state / "state" / "local" / "outputs.json"
    outputs.parent.mkdir(parents=True)
    outputs.write_text(json.dumps({"ingress_host": "10-0-0-1.nip.io", "context": "kind-lab"}))
    provider = Provider()
    run(target, ingress_host=None, secrets_provider=provider, wait=False)
    assert provider.asked == [("local", "10-0-0-1.nip.io")]


def test_a_declared_secret_the_provider_does_not_make_is_an_error(kube, target):
    with pytest.raises(InfraError, match=r"infra\.secrets does not produce it"):
        run(target, secrets_provider=Provider(refs=(TLS,)))
    assert not kube.find("apply")


def test_the_manifests_declare_their_runtime_secrets():
    objects = list(yaml.safe_load_all(RENDERED))
    assert runtime_secret_refs(objects) == [MYSQL, TLS]


# --- the prune scope (GIT-3): only owned objects, and not every owned kind --------------------------------

UNTOUCHABLE = [o for o in CLUSTER if not is_owned(o)]


def test_the_recorded_cluster_has_unlabelled_objects_everywhere():
    assert {o["metadata"].get("namespace", "") for o in UNTOUCHABLE} >= {"", "kube-system", "lab-tls"}


def test_prune_selects_exactly_the_owned_objects_git_lacks():
    desired = {ObjectRef.of(o) for o in yaml.safe_load_all(RENDERED)}
    assert select_prunable(CLUSTER, desired) == EXPECTED_PRUNE
    assert orphaned_namespaces(CLUSTER, desired) == [ObjectRef("", "Namespace", "", "lab-old")]


@pytest.mark.parametrize("obj", UNTOUCHABLE, ids=lambda o: f"{o['kind']}-{o['metadata']['name']}")
def test_an_unlabelled_object_is_never_selected_even_with_nothing_in_git(obj):
    assert select_prunable([obj], desired=[]) == []
    assert select_prunable(CLUSTER, desired=[]).count(ObjectRef.of(obj, default_namespace="")) == 0


@pytest.mark.parametrize(
    "name", ["web-tls", "data-mysql-0", "web-6d4cf56db6-x7k2p", "going-away", "lab-old", "lab-tls"]
)
def test_owned_secrets_volumes_controlled_deleting_and_namespaces_are_never_pruned(name):
    (obj,) = [o for o in CLUSTER if o["metadata"]["name"] == name]
    assert is_owned(obj)
    assert select_prunable([obj], desired=[]) == []


def test_reconcile_deletes_nothing_unlabelled_even_from_an_unfiltered_listing(kube, target):
    kube.on_call(
        "get",
        answer=lambda call: proc.Result([], 0, json.dumps({"items": CLUSTER}), ""),  # ignores the selector
    )
    kube.on("get", "secret", stdout="secret/x\n")
    run(target, wait=False)
    deleted = {(c.args[1], c.args[2]) for c in kube.find("delete")}
    assert deleted == {("configmaps", "stale"), ("pods", "qos-old"), ("deployments.apps", "old-web")}
    assert not deleted & {(o["kind"], o["metadata"]["name"]) for o in UNTOUCHABLE}
    assert not {name for _, name in deleted} & {o["metadata"]["name"] for o in UNTOUCHABLE}


@pytest.mark.parametrize(
    "ref",
    [
        TLS,
        ObjectRef("", "Namespace", "", "lab-tls"),
        ObjectRef("", "PersistentVolumeClaim", "lab-mysql", "d"),
    ],
)
def test_a_delete_outside_the_allowlist_cannot_even_be_built(ref):
    with pytest.raises(InfraError, match="not in the prune allowlist"):
        delete_command(ref, dry_run=False)


def test_the_allowlist_holds_no_secret_volume_or_namespace():
    assert {k.kind for k in PRUNE_KINDS}.isdisjoint({"Secret", "PersistentVolumeClaim", "Namespace"})


# --- failures -----------------------------------------------------------------------------------------------


def test_an_empty_render_is_refused_before_anything_is_applied(kube, target):
    kube.on("kustomize", stdout="")
    with pytest.raises(ConfigError, match="rendered no objects"):
        run(target)
    assert [c[0] for c in kube.commands()] == ["version", "kustomize"]


def test_no_cluster_stops_at_the_first_command(kube, target):
    kube.on(
        "version", returncode=1, stderr="Unable to connect to the server: dial tcp: lookup lab: no such host"
    )
    with pytest.raises(ClusterUnavailableError):
        run(target)
    assert len(kube.calls) == 1


def test_a_rollout_that_times_out_is_reported_not_raised(kube, target):
    kube.on(
        "rollout",
        "status",
        "statefulset.apps/mysql",
        returncode=1,
        stderr="error: timed out waiting for the condition on statefulsets/mysql",
    )
    result = run(target)
    assert not result.ok
    assert result.not_ready == [
        (
            ObjectRef("apps", "StatefulSet", "lab-mysql", "mysql"),
            "error: timed out waiting for the condition on statefulsets/mysql",
        )
    ]
    assert len(result.rolled_out) == 2


def test_an_apply_error_names_the_cause(kube, target):
    kube.on(
        "apply",
        returncode=1,
        stderr='Error from server (Conflict): Apply failed with 1 conflict: ".spec.replicas"',
    )
    with pytest.raises(InfraError, match="Apply failed with 1 conflict"):
        run(target)


# --- the CLI and the kubeconfig ---------------------------------------------------------------------------


def test_cli_reconcile_dry_run(kube, target, isolated_state):
    kube.on("get", "secret", stdout="secret/x\n")
    result = CliRunner().invoke(app, ["reconcile", "--dry-run", "--kubeconfig", str(target.kubeconfig)])
    assert result.exit_code == 0, result.output
    assert "would prune Deployment lab-tls/old-web (owned, no longer in git)" in result.output
    assert "dry run local:" in result.output


def test_cli_reconcile_exit_1_when_a_workload_is_not_ready(kube, target):
    kube.on("get", "secret", stdout="secret/x\n")
    kube.on("rollout", returncode=1, stderr="error: deployment exceeded its progress deadline")
    result = CliRunner().invoke(app, ["reconcile", "--kubeconfig", str(target.kubeconfig)])
    assert result.exit_code == 1
    assert "not ready: Deployment lab-hpa/hpa-demo" in result.output


def test_the_environment_kubeconfig_and_context_come_first(isolated_state, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "elsewhere"))
    env_dir = isolated_state / "state" / "local"
    env_dir.mkdir(parents=True)
    (env_dir / "kubeconfig").write_text("apiVersion: v1\n")
    (env_dir / "outputs.json").write_text(json.dumps({"context": "kind-lab"}))
    target = resolve_target("local")
    assert target.kubectl("get", "nodes") == [
        "kubectl",
        "--kubeconfig",
        str(env_dir / "kubeconfig"),
        "--context",
        "kind-lab",
        "get",
        "nodes",
    ]


def test_stack_outputs_write_the_kubeconfig_0600(isolated_state):
    outputs = StackOutputs(
        "local",
        "apiVersion: v1\nkind: Config\n",
        "kind-lab",
        "127.0.0.1",
        HOST,
        80,
        443,
        "172.18.0.5",
        "/exports",
        ["lab-control-plane"],
    )
    target = resolve_target("local", outputs=outputs)
    assert target.kubeconfig is not None
    assert stat.S_IMODE(target.kubeconfig.stat().st_mode) == 0o600
    assert (target.kubeconfig.read_text(), target.context) == (outputs.kubeconfig, "kind-lab")


def test_kubeconfig_from_the_environment_variable_is_left_to_kubectl(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "ci-kubeconfig"))
    target = resolve_target("aws", context="lab.k8s.local")
    assert target.kubectl("version") == ["kubectl", "--context", "lab.k8s.local", "version"]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({}, ClusterUnavailableError), ({"kubeconfig": "/no/such/file"}, ConfigError)],
)
def test_no_usable_kubeconfig_is_an_error(kwargs, error):
    with pytest.raises(error) as caught:
        resolve_target("local", **kwargs)
    assert caught.value.exit_code == 2


def test_render_desired_with_the_real_kustomize(tmp_path, monkeypatch):
    from infra import environments

    entry = tmp_path / "envs" / "local"
    entry.mkdir(parents=True)
    (entry / "kustomization.yaml").write_text("namespace: lab-x\nresources: [cm.yaml]\n")
    (entry / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\n")
    monkeypatch.setattr(environments, "MANIFESTS_DIR", tmp_path)
    desired = render_desired("local")
    assert desired.refs == {ObjectRef("", "ConfigMap", "lab-x", "c")}
    assert desired.unowned == (ObjectRef("", "ConfigMap", "lab-x", "c"),)  # no ownership labels: never pruned
    assert desired.text.startswith("apiVersion: v1\ndata:\n  k: v\n")


def test_without_a_kubeconfig_or_context_kubectl_gets_no_target_flags():
    assert KubeTarget(None, None, "$KUBECONFIG").kubectl("get", "nodes") == ["kubectl", "get", "nodes"]
