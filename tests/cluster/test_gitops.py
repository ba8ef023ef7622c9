"""Reconcile, drift, prune and target safety on a real API server, run as a user runs them (the CLI).

Every test here shares the session's plane and the lab applied by the module fixture ``lab``; each one
restores what it changes. The commands run as subprocesses of ``.venv/bin/infra`` with their own state
folder (``INFRA_STATE_DIR``) and a fake ``HOME``, so nothing of the developer's machine is read or written.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli import INFRA, Cli
from plane import CertificateAuthority, ControlPlane

REPO = Path(__file__).resolve().parents[2]
OWNERSHIP = {"app.kubernetes.io/managed-by": "infra", "app.kubernetes.io/part-of": "k8s-labs"}


def versions(lab: Cli) -> dict[str, tuple[Any, ...]]:
    """Per object the lab applied (its inventory): what a write by the toolkit would change.

    The generation (spec writes) and the ``infra`` field manager's entry (its time moves on any write the
    apply makes, metadata included). Not resourceVersion: controllers write status all the time (a CronJob's
    lastScheduleTime every minute) without anything of git's changing.
    """
    record = lab.get("configmap", "lab-inventory", "-n", "infra-system")
    keys = json.loads(record["data"]["objects.json"])
    stubs = []
    for key in keys:
        group, kind, namespace, name = key.split("/", 3)
        version = {"": "v1", "apps": "apps/v1", "autoscaling": "autoscaling/v2"}.get(group, f"{group}/v1")
        meta = {"name": name, **({"namespace": namespace} if namespace else {})}
        stubs.append({"apiVersion": version, "kind": kind, "metadata": meta})
    listing = lab.plane.kubectl(
        "get",
        "-f",
        "-",
        "-o",
        "json",
        "--show-managed-fields",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": stubs}),
    )
    found = {}
    for item in json.loads(listing.stdout)["items"]:
        meta = item["metadata"]
        ours = [
            (e.get("time"), json.dumps(e.get("fieldsV1"), sort_keys=True))
            for e in meta.get("managedFields") or []
            if e.get("manager") == "infra"
        ]
        found[f"{item['kind']}/{meta.get('namespace', '')}/{meta['name']}"] = (meta.get("generation"), *ours)
    return found


@pytest.fixture(scope="module")
def lab(plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """The local lab reconciled once into the plane, as `infra up` would leave its state folder."""
    made = Cli.for_env(plane, tmp_path_factory.mktemp("gitops"))
    result = made.infra("reconcile", "--env", "local", "--no-wait")
    assert result.returncode == 0, result.stdout + result.stderr
    return made


def test_reconcile_names_the_cluster_before_it_changes_anything(lab: Cli) -> None:
    result = lab.infra("reconcile", "--env", "local", "--no-wait", "--dry-run")
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert lab.plane.server in first
    assert "context cp" in first
    assert "kubeconfig" in first


def test_git_1_after_a_reconcile_drift_is_empty_and_a_second_reconcile_changes_nothing(lab: Cli) -> None:
    drift = lab.infra("drift", "--env", "local")
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert "no drift" in drift.stdout
    before = versions(lab)
    again = lab.infra("reconcile", "--env", "local", "--no-wait")
    assert again.returncode == 0, again.stderr
    assert versions(lab) == before, "a no-op reconcile wrote to the cluster"
    assert len(before) >= 20


def test_every_rendered_object_of_both_environments_passes_a_server_side_dry_run(lab: Cli) -> None:
    for env in ("local", "aws"):
        text = subprocess.run(
            [str(lab.plane.kubectl_binary), "kustomize", str(REPO / "manifests" / "envs" / env)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        objects = [o for o in yaml.safe_load_all(text) if o]
        namespaces = [o for o in objects if o["kind"] == "Namespace"]
        lab.plane.kubectl(
            "apply", "--server-side", "--field-manager=infra", "-f", "-", input=yaml.safe_dump_all(namespaces)
        )
        result = lab.plane.kubectl(
            "apply",
            "--server-side",
            "--dry-run=server",
            "--field-manager=infra",
            "--force-conflicts",
            "-f",
            "-",
            input=text,
            check=False,
        )
        assert result.returncode == 0, f"{env}: {result.stderr}"
        assert result.stdout.count("serverside-applied") == len(objects)


def test_git_2_hand_edits_are_drift_and_the_next_reconcile_undoes_them(lab: Cli) -> None:
    k = lab.plane.kubectl
    k("scale", "deployment/web", "-n", "lab-tls", "--replicas=5")
    k("label", "deployment/web", "-n", "lab-tls", "team=hand")
    k("set", "env", "deployment/web", "-n", "lab-tls", "EXTRA=1")
    k("delete", "service", "web-headless", "-n", "lab-sts")
    drift = lab.infra("drift", "--env", "local")
    assert drift.returncode == 1, drift.stdout + drift.stderr
    report = (lab.state / "reports" / "drift-local.md").read_text()
    assert "| `Deployment lab-tls/web` | changed | spec.replicas" in report
    assert "metadata.labels.team (by kubectl-label)" in report
    assert "env (by kubectl-set)" in report
    assert "| `Service lab-sts/web-headless` | missing |" in report

    fixed = lab.infra("reconcile", "--env", "local", "--no-wait")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    web = lab.get("deployment", "web", "-n", "lab-tls")
    assert web["spec"]["replicas"] == 3
    assert "team" not in web["metadata"]["labels"]
    assert "env" not in web["spec"]["template"]["spec"]["containers"][0]
    assert lab.exists("service", "web-headless", "-n", "lab-sts")
    assert lab.infra("drift", "--env", "local").returncode == 0


def test_git_4_reconcile_leaves_the_autoscaled_replicas_alone(lab: Cli) -> None:
    lab.plane.kubectl("scale", "deployment/hpa-demo", "-n", "lab-hpa", "--replicas=3")
    result = lab.infra("reconcile", "--env", "local", "--no-wait")
    assert result.returncode == 0, result.stderr
    assert lab.get("deployment", "hpa-demo", "-n", "lab-hpa")["spec"]["replicas"] == 3


def _labelled_configmap(name: str, namespace: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": OWNERSHIP},
            "data": {"k": "v"},
        }
    )


def test_git_3_prune_removes_only_what_the_last_apply_wrote(lab: Cli, tmp_path: Path) -> None:
    k = lab.plane.kubectl
    k("create", "namespace", "unrelated")
    for name, namespace in (("decoy", "kube-system"), ("decoy", "unrelated"), ("decoy", "lab-sts")):
        k("apply", "-f", "-", input=_labelled_configmap(name, namespace))
    # git drops one owned object: an overlay that deletes Service lab-sts/web from the environment's set
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "resources": [os.path.relpath(REPO / "manifests" / "envs" / "local", overlay)],
                "patches": [
                    {
                        "patch": "$patch: delete\napiVersion: v1\nkind: Service\n"
                        "metadata: {name: web, namespace: lab-sts}\n"
                    }
                ],
            }
        )
    )
    try:
        drift = lab.infra("drift", "--env", "local", "--manifests", str(overlay))
        assert drift.returncode == 1
        report = (lab.state / "reports" / "drift-local.md").read_text()
        assert "| `Service lab-sts/web` | to prune |" in report
        assert "decoy" not in report

        pruned = lab.infra("reconcile", "--env", "local", "--no-wait", "--manifests", str(overlay))
        assert pruned.returncode == 0, pruned.stdout + pruned.stderr
        assert "pruned Service lab-sts/web" in pruned.stdout
        assert not lab.exists("service", "web", "-n", "lab-sts")
        for namespace in ("kube-system", "unrelated", "lab-sts"):
            assert lab.exists("configmap", "decoy", "-n", namespace), f"prune reached {namespace}"
        assert lab.exists("secret", "web-tls", "-n", "lab-tls")
    finally:
        assert lab.infra("reconcile", "--env", "local", "--no-wait").returncode == 0
        for namespace in ("kube-system", "lab-sts"):
            k("delete", "configmap", "decoy", "-n", namespace, "--ignore-not-found")
        k("delete", "namespace", "unrelated", "--wait=false")
    assert lab.exists("service", "web", "-n", "lab-sts")


def test_no_command_that_changes_a_cluster_falls_back_to_the_users_kubeconfig(
    lab: Cli, tmp_path: Path
) -> None:
    """A fake HOME whose ~/.kube/config points at this plane, no environment kubeconfig: nothing applied."""
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    shutil.copy(lab.plane.kubeconfig, home / ".kube" / "config")
    empty_state = tmp_path / "state"
    empty_state.mkdir()
    namespaces_before = lab.plane.kubectl("get", "namespaces", "-o", "name").stdout
    inventory_before = lab.get("configmap", "lab-inventory", "-n", "infra-system")["metadata"][
        "resourceVersion"
    ]
    for variables in ({}, {"KUBECONFIG": str(lab.plane.kubeconfig)}):
        env = {"INFRA_STATE_DIR": str(empty_state), "HOME": str(home), **variables}
        for command in (
            ["reconcile", "--env", "aws", "--no-wait"],
            ["reconcile", "--env", "local", "--no-wait"],
        ):
            result = lab.infra(*command, timeout=60, **env)
            assert result.returncode == 2, result.stdout + result.stderr
            assert "no cluster named for the" in result.stderr
            assert "Traceback" not in result.stderr
    assert lab.plane.kubectl("get", "namespaces", "-o", "name").stdout == namespaces_before
    after = lab.get("configmap", "lab-inventory", "-n", "infra-system")["metadata"]["resourceVersion"]
    assert after == inventory_before


def test_a_read_only_command_may_use_kubeconfig_and_says_so(lab: Cli, tmp_path: Path) -> None:
    empty_state = tmp_path / "state"
    empty_state.mkdir()
    result = lab.infra(
        "drift", "--env", "local", KUBECONFIG=str(lab.plane.kubeconfig), INFRA_STATE_DIR=str(empty_state)
    )
    assert result.returncode in (0, 1), result.stderr
    assert "reading the cluster of $KUBECONFIG (read-only)" in result.stdout


# --- faults -------------------------------------------------------------------------------------------


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_an_api_server_gone_mid_reconcile_loses_nothing_and_the_next_reconcile_converges(lab: Cli) -> None:
    secret_before = lab.get("secret", "mysql-credentials", "-n", "lab-mysql")["data"]
    refs_before = set(versions(lab))
    lab.plane.kubectl("delete", "service", "web-headless", "-n", "lab-sts")  # something for it to do
    run = subprocess.Popen(
        [str(INFRA), "reconcile", "--env", "local", "--no-wait"],
        env=lab.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    stopper = threading.Timer(0.8, lab.plane.stop_apiserver)
    stopper.start()
    try:
        out, err = run.communicate(timeout=120)
        stopper.join()
        if run.returncode != 0:  # it did not finish before the server went away: one clear line
            line = _one_line_error(subprocess.CompletedProcess(run.args, run.returncode, out, err))
            assert "cannot reach the cluster" in line or "failed" in line
        gone = lab.infra("reconcile", "--env", "local", "--no-wait")
        assert "cannot reach the cluster" in _one_line_error(gone)
    finally:
        stopper.cancel()
        if not lab.plane.components["kube-apiserver"].running():
            lab.plane.start_apiserver()
    again = lab.infra("reconcile", "--env", "local", "--no-wait")
    assert again.returncode == 0, again.stdout + again.stderr
    assert set(versions(lab)) == refs_before
    assert lab.get("secret", "mysql-credentials", "-n", "lab-mysql")["data"] == secret_before
    assert lab.infra("drift", "--env", "local").returncode == 0


def test_a_field_owned_by_another_manager_is_a_conflict_with_the_fix(lab: Cli) -> None:
    patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "lab-tls"},
        "spec": {"replicas": 4},
    }
    lab.plane.kubectl(
        "apply",
        "--server-side",
        "--field-manager=someone-else",
        "--force-conflicts",
        "-f",
        "-",
        input=json.dumps(patch),
    )
    try:
        result = lab.infra("reconcile", "--env", "local", "--no-wait", "--no-force-conflicts")
        line = _one_line_error(result)
        assert 'conflict with "someone-else"' in line
        assert "--force-conflicts" in line
    finally:
        assert lab.infra("reconcile", "--env", "local", "--no-wait").returncode == 0
    assert lab.get("deployment", "web", "-n", "lab-tls")["spec"]["replicas"] == 3


def _wrong_server_ca(lab: Cli, tmp_path: Path) -> Path:
    """The plane's admin kubeconfig, trusting another CA than the one that signed the server's certificate."""

    other = CertificateAuthority(tmp_path, "another-ca", "another-cluster-ca")
    config = yaml.safe_load(lab.plane.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(
        other.files.cert.read_bytes()
    ).decode()
    path = tmp_path / "wrong-ca.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong-ca", "certificate is not trusted"),
        ("expired", "rejected the credentials"),
        ("forbidden", "forbidden for this user"),
    ],
)
def test_credentials_and_trust_failures_each_get_their_own_line(
    lab: Cli, tmp_path: Path, case: str, expected: str
) -> None:
    if case == "wrong-ca":
        kubeconfig = _wrong_server_ca(lab, tmp_path)
    elif case == "expired":
        kubeconfig = lab.plane.user_kubeconfig("alice", expired=True)
    else:
        kubeconfig = lab.plane.user_kubeconfig("nobody")
    result = lab.infra("reconcile", "--env", "local", "--no-wait", "--kubeconfig", str(kubeconfig))
    line = _one_line_error(result)
    assert expected in line
    assert "cannot reach the cluster" not in line
