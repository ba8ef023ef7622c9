"""`infra check` through typer's CliRunner: exit codes 0/1/2, one line per finding, a summary."""

from __future__ import annotations

import pytest

from infra.cli import app


def invoke(runner, *args: str):
    return runner.invoke(app, ["check", *args])


def test_clean_manifests_exit_0_with_qos_info(runner, fixtures):
    result = invoke(runner, str(fixtures / "hpa" / "good.yaml"))
    assert result.exit_code == 0, result.output
    assert "QOS-CLASS: QoS class Burstable" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == (
        "2 objects checked against Kubernetes 1.35: 0 errors, 0 warnings, 1 info — ok"
    )


def test_info_findings_of_one_rule_are_one_line_and_listed_with_verbose(runner, tmp_path, fixtures):
    (tmp_path / "a.yaml").write_text((fixtures / "hpa" / "good.yaml").read_text())
    (tmp_path / "b.yaml").write_text((fixtures / "resources" / "qos.yaml").read_text())
    summary, verbose = invoke(runner, str(tmp_path)), invoke(runner, "--verbose", str(tmp_path))
    summary_lines = [line for line in summary.stdout.splitlines() if "QOS-CLASS" in line]
    assert len(summary_lines) == 1
    listed = [line for line in verbose.stdout.splitlines() if "QOS-CLASS: QoS class " in line]
    assert len(listed) > 1
    assert summary_lines[0].endswith(f" (-v lists all {len(listed)})")
    # the counts add up to the findings listed with -v, class by class
    counts = summary_lines[0].removeprefix("QOS-CLASS: ").split(" (")[0].split(", ")
    by_class = {part.split()[1]: int(part.split()[0]) for part in counts}
    assert by_class == {c: sum(line.split(" — ")[0].endswith(f" {c}") for line in listed) for c in by_class}
    assert sum(by_class.values()) == len(listed)


@pytest.mark.parametrize("value", ["true", "false", "1"])
def test_a_value_after_a_flag_is_not_taken_as_a_path(runner, fixtures, value):
    result = invoke(runner, "--strict", value, str(fixtures / "hpa" / "good.yaml"))
    assert result.exit_code == 2
    assert f"error: '{value}' is not a path: flags take no value" in result.output
    assert "--no-strict" in result.output


def test_flags_have_a_no_form_and_show_no_value_in_help(runner):
    result = runner.invoke(app, ["check", "--help"], env={"COLUMNS": "80"})
    assert "<bool>" not in result.output
    for flag in ("--strict / --no-strict", "-q, --quiet / --no-quiet", "-v, --verbose / --no-verbose"):
        assert flag in result.output
    relaxed = invoke(runner, "--strict", "--no-strict", "tests/unit/checks/fixtures/hpa/good.yaml")
    assert relaxed.exit_code == 0


def test_quiet_hides_info(runner, fixtures):
    result = invoke(runner, "--quiet", str(fixtures / "hpa" / "good.yaml"))
    assert result.exit_code == 0
    assert "QOS-CLASS" not in result.stdout


@pytest.mark.parametrize(
    ("fixture", "line"),
    [
        (
            "hpa/bad-no-apiversion.yaml",
            "hpa/bad-no-apiversion.yaml#1 HorizontalPodAutoscaler/lab-hpa/hpa-demo HPA-TARGET: "
            'scaleTargetRef has no apiVersion: FailedGetScale: no matches for kind "Deployment" in group "" '
            "— set scaleTargetRef.apiVersion: apps/v1",
        ),
        (
            "hpa/bad-no-cpu-request.yaml",
            "hpa/bad-no-cpu-request.yaml#0 Deployment/lab-hpa/hpa-demo HPA-REQUEST: "
            'missing request for cpu: container "app"',
        ),
    ],
)
def test_hpa4_mistakes_exit_1_with_rule_and_hint(runner, fixtures, fixture, line):
    result = invoke(runner, str(fixtures / fixture))
    assert result.exit_code == 1
    assert any(out.endswith(line) or line in out for out in result.stdout.splitlines())
    assert result.stdout.strip().splitlines()[-1].endswith("1 error, 0 warnings, 1 info — FAILED")


def test_warnings_pass_unless_strict(runner, fixtures):
    args = ["--kube-version", "1.25", str(fixtures / "apis" / "bad-hpa-v2beta2.yaml")]
    relaxed, strict = invoke(runner, *args), invoke(runner, "--strict", *args)
    assert (relaxed.exit_code, strict.exit_code) == (0, 1)
    assert "API-DEPRECATED" in relaxed.stdout


def test_several_paths_form_one_set(runner, fixtures, tmp_path):
    deployment, hpa = tmp_path / "deployment.yaml", tmp_path / "hpa.yaml"
    deployment_text, hpa_text = (fixtures / "hpa" / "good.yaml").read_text().split("\n---\n")
    deployment.write_text(deployment_text)
    hpa.write_text(hpa_text)
    assert invoke(runner, str(hpa)).exit_code == 1  # alone, the target is missing
    assert invoke(runner, str(deployment), str(hpa)).exit_code == 0


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("does-not-exist.yaml", "does-not-exist.yaml does not exist"),
        ("bad-input/unknown-kind.yaml", "unknown kind for Kubernetes 1.35"),
        ("bad-input/empty.yaml", "no Kubernetes objects in"),
        ("bad-input/not-an-object.yaml", "not a Kubernetes object"),
    ],
)
def test_bad_input_exits_2_with_one_line(runner, fixtures, path, message):
    result = invoke(runner, str(fixtures / path))
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_broken_yaml_exits_2_naming_file_and_line(runner, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: broken\ndata:\n  key: value\n")
    result = invoke(runner, str(broken))
    assert result.exit_code == 2
    assert "broken.yaml:4: unparsable YAML" in result.stderr


def test_empty_directory_exits_2(runner, tmp_path):
    result = invoke(runner, str(tmp_path))
    assert result.exit_code == 2
    assert "holds no YAML files" in result.stderr


def test_no_paths_and_bad_version_exit_2(runner, fixtures):
    assert invoke(runner).exit_code == 2
    result = invoke(runner, "--kube-version", "1.9", str(fixtures / "apis" / "good.yaml"))
    assert result.exit_code == 2
    assert "no schemas for Kubernetes 1.9" in result.stderr


@pytest.mark.parametrize("version", ["1.35x", "", "latest"])
def test_malformed_version_exits_2_with_one_line(runner, fixtures, version):
    result = invoke(runner, "--kube-version", version, str(fixtures / "apis" / "bad-hpa-v2beta2.yaml"))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: '{version}' is not a Kubernetes version — pass --kube-version as MAJOR.MINOR, e.g. 1.35"
    )


def test_version_spellings_name_the_minor(runner, fixtures):
    result = invoke(runner, "--kube-version", "v1.35.2", str(fixtures / "hpa" / "good.yaml"))
    assert result.exit_code == 0
    assert "2 objects checked against Kubernetes 1.35:" in result.stdout


def test_kustomization_findings_point_at_the_directory_and_rendered_index(runner, fixtures):
    result = invoke(runner, "-q", str(fixtures / "kustomize" / "app"))
    assert result.exit_code == 1
    (line,) = [out for out in result.stdout.splitlines() if "HPA-REQUEST" in out]
    assert "kustomize/app#0 Deployment/lab-hpa/hpa-demo HPA-REQUEST: missing request for cpu" in line


def test_list_rules(runner):
    result = invoke(runner, "--list-rules")
    assert result.exit_code == 0
    assert any(line.startswith("HPA-TARGET") and "error" in line for line in result.stdout.splitlines())
