"""`infra doctor` via typer's CliRunner: --from-file needs no cluster; exit codes 0/1/2; formats; timing."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from infra.cli import app
from infra.doctor import Snapshot, run

REPO = Path(__file__).resolve().parents[3]


def invoke(runner, *args: str):
    return runner.invoke(app, ["doctor", *args])


def test_from_file_with_errors_exits_1_with_id_object_evidence_fix(runner, fixtures):
    result = invoke(runner, "--from-file", str(fixtures / "pods-firing.json"))
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert "error   IMAGE-PULL Pod/lab-qos/bad-tag" in lines
    assert any(line.startswith("  evidence: container app waiting ImagePullBackOff") for line in lines)
    assert any(line.startswith("  fix:      fix the image reference") for line in lines)
    assert lines[-1].endswith("4 errors, 1 warning, 0 info — FAILED")


def test_healthy_snapshot_exits_0(runner, fixtures):
    result = invoke(runner, "--from-file", str(fixtures / "network-quiet.json"))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1].endswith("0 errors, 0 warnings, 0 info — healthy")


def test_warnings_alone_do_not_fail(runner, fixtures, tmp_path):
    data = json.loads((fixtures / "nodes-firing.json").read_text())
    data["items"] = [
        n for n in data["items"] if n["metadata"]["name"] in ("lab-control-plane", "lab-worker2")
    ]
    path = tmp_path / "pressure.json"
    path.write_text(json.dumps(data))
    result = invoke(runner, "--from-file", str(path))
    assert result.exit_code == 0, result.output
    assert "warning NODE-PRESSURE Node/lab-worker2" in result.stdout


def test_json_format_is_machine_readable(runner, fixtures):
    result = invoke(runner, "--from-file", str(fixtures / "autoscaling-firing.json"), "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["verdict"] == "FAILED"
    first = next(f for f in data["findings"] if f["id"] == "HPA-TARGET")
    assert set(first) == {"id", "severity", "title", "object", "namespace", "evidence", "meaning", "fix"}
    assert first["severity"] == "error"
    assert first["object"] == "HorizontalPodAutoscaler/lab-hpa/hpa-target"


def test_markdown_goes_to_stdout_and_the_job_summary(runner, fixtures, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = invoke(runner, "--from-file", str(fixtures / "storage-firing.json"), "-o", "markdown")
    assert result.exit_code == 1
    assert result.stdout.startswith("## infra doctor: FAILED")
    assert "| error | `PVC-PENDING` | `PersistentVolumeClaim/lab-sts/typo` |" in result.stdout
    assert summary.read_text().startswith("## infra doctor: FAILED")


def test_namespace_narrows_a_saved_snapshot(runner, fixtures, tmp_path):
    data = json.loads((fixtures / "pods-firing.json").read_text())
    data["items"] = [*data["items"], *json.loads((fixtures / "network-firing.json").read_text())["items"]]
    path = tmp_path / "both.json"
    path.write_text(json.dumps(data))
    result = invoke(runner, "--from-file", str(path), "--namespace", "lab-tls", "-o", "json")
    ids = {f["object"].split("/")[1] for f in json.loads(result.stdout)["findings"]}
    assert ids == {"lab-tls"}


def test_save_writes_a_snapshot_that_reads_back_the_same(runner, kubectl, listing, tmp_path):
    config = tmp_path / "kubeconfig"
    config.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    kubectl.reply(listing("workloads-firing"))
    saved = tmp_path / "out" / "snap.json"
    live = invoke(runner, "--kubeconfig", str(config), "--save", str(saved), "-o", "json")
    assert live.exit_code == 1, live.output
    assert set(kubectl.verbs()) == {"get"}
    again = invoke(runner, "--from-file", str(saved), "-o", "json")
    assert json.loads(again.stdout)["findings"] == json.loads(live.stdout)["findings"]
    assert "cluster: unknown server" in live.stderr


def test_no_cluster_exits_2_with_one_line(runner):
    result = invoke(runner)
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: no cluster named for the local environment")
    assert "Traceback" not in result.output


def test_a_file_that_is_not_a_snapshot_exits_2(runner, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "List", "items": []}')
    result = invoke(runner, "--from-file", str(bad))
    assert result.exit_code == 2
    assert "is not an infra doctor snapshot" in result.stderr
    missing = invoke(runner, "--from-file", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2
    assert "does not exist" in missing.stderr


def test_list_detectors(runner):
    result = invoke(runner, "--list-detectors")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("HPA-TARGET ")
    assert len(result.stdout.splitlines()) == 25


# -- performance: the lab-sized snapshot (3 nodes, 60 pods, 300 events) --------------------------------------


def test_lab_sized_snapshot_is_diagnosed_quickly(fixtures):
    snapshot = Snapshot.load(fixtures / "lab.json")
    assert len(snapshot.of_kind("Pod")) == 60
    assert len(snapshot.of_kind("Event")) == 300
    began = time.perf_counter()
    report = run(snapshot)
    assert time.perf_counter() - began < 0.5
    assert report.findings == []


def test_the_whole_command_on_a_lab_sized_snapshot_takes_under_2_seconds(fixtures):
    """A fresh interpreter: imports, load, 25 detectors, report (the collection itself is one kubectl call).

    Judged on the CPU time the command uses (user + system): on a shared machine the wall-clock time also
    measures everybody else's load.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-m", "infra", "doctor", "--from-file", str(fixtures / "lab.json")],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "GITHUB_STEP_SUMMARY": ""},
        check=False,
        timeout=60,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert done.returncode == 0, done.stderr
    assert "healthy" in done.stdout
    assert cpu < 2.0, f"infra doctor --from-file used {cpu:.2f}s of CPU"
