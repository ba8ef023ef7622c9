"""`infra up` / `infra down` on the command line: stage lines with times, one error line, exit codes."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from infra import up as lab
from infra.cli import app


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_up_prints_each_stage_with_its_time_and_where_the_lab_is(recorder, hooks):
    result = invoke("up", "--env", "local")
    assert result.exit_code == 0, result.output
    for stage in lab.STAGES:
        assert re.search(rf"✓ {stage} \d+\.\ds", result.output), stage
    assert "local lab is up: https://127-0-0-1.nip.io/" in result.output
    assert "context kind-lab" in result.output


def test_up_names_a_non_default_https_port_in_the_lab_url(recorder, hooks, recorded_outputs):
    rootless = {**recorded_outputs, "ingress_http_port": 8080, "ingress_https_port": 8443}
    recorder.on("pulumi stack output", stdout=json.dumps(rootless))
    result = invoke("up", "--env", "local")
    assert result.exit_code == 0, result.output
    assert "local lab is up: https://127-0-0-1.nip.io:8443/" in result.output
    assert "ingress 127-0-0-1.nip.io (ports 8080/8443)" in result.output  # the pulumi stage's line


def test_a_failing_stage_is_one_error_line_with_the_resume_hint(recorder, hooks):
    recorder.on("ansible-playbook", returncode=2, stdout="fatal: [lab-worker]: UNREACHABLE!")
    result = invoke("up")
    assert result.exit_code == 2
    assert "error: stage 'addons' failed:" in result.stderr
    assert "resume with `infra up --env local --from addons`" in result.stderr
    assert "Traceback" not in result.output
    assert "✓ inventory" in result.stdout
    assert "▶ secrets" not in result.stdout


def test_a_failed_stage_on_a_cluster_prints_the_summary_and_the_doctors_likely_causes(
    recorder, hooks, monkeypatch
):
    import infra.doctor

    asked = []

    def likely_causes(target, namespace=None, **_):
        asked.append(target.kubeconfig)
        return ["Pod/lab-tls/web-1 IMAGE-PULL: ErrImagePull — fix: correct the image tag"]

    monkeypatch.setattr(infra.doctor, "likely_causes", likely_causes)
    recorder.on("ansible-playbook", returncode=2, stdout="fatal: [lab-worker]: UNREACHABLE!")
    result = invoke("up")
    assert result.exit_code == 2
    assert "infra up --env local (stopped)" in result.stdout  # the stage summary, also on failure
    assert "likely causes (infra doctor --env local):" in result.stdout
    assert "IMAGE-PULL: ErrImagePull" in result.stdout
    assert [path.name for path in asked] == ["kubeconfig"]  # the environment's own cluster, asked once


def test_from_resumes_and_an_unknown_stage_is_a_usage_error(recorder, hooks):
    assert invoke("up").exit_code == 0
    recorder.calls.clear()
    resumed = invoke("up", "--from", "verify")
    assert resumed.exit_code == 0, resumed.output
    assert "▶ preflight" not in resumed.output
    assert recorder.commands()[-1] == "<verify.verify> local"
    bad = invoke("up", "--from", "deploy")
    assert bad.exit_code == 2
    assert "deploy" in bad.output


def test_an_unknown_environment_is_a_usage_error(recorder, hooks):
    result = invoke("up", "--env", "mars")
    assert result.exit_code == 2
    assert "unknown environment 'mars'" in result.stderr
    assert recorder.calls == []


def test_down_destroys_and_cleans_up(recorder, hooks):
    result = invoke("down", "--env", "local")
    assert result.exit_code == 0, result.output
    assert re.search(r"✓ destroy \d+\.\ds stack local destroyed", result.output)
    assert "✓ cleanup" in result.output


def test_your_own_certificate_reaches_the_secrets_stage(recorder, hooks, tmp_path):
    cert, key = tmp_path / "lab.crt", tmp_path / "lab.key"
    result = invoke("up", "--tls-cert", str(cert), "--tls-key", str(key))
    assert result.exit_code == 0, result.output
    assert f"<secrets.runtime_secrets> local 127-0-0-1.nip.io {cert} {key}" in recorder.commands()


def test_a_certificate_without_its_key_is_refused_before_anything_runs(recorder, hooks, tmp_path):
    result = invoke("up", "--tls-cert", str(tmp_path / "lab.crt"))
    assert result.exit_code == 2
    assert "error: --tls-cert and --tls-key go together" in result.stderr
    assert recorder.calls == []
