"""`infra verify`: the JUnit -> claim report, the pytest command it builds, and its exit codes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra import proc
from infra import verify as verifying
from infra.cli import app
from infra.errors import ClusterUnavailableError, InfraError
from infra.kube import KubeTarget

FIXTURES = Path(__file__).parent / "fixtures"
JUNIT = FIXTURES / "junit-verify-local.xml"


@pytest.fixture(scope="module")
def report() -> verifying.Report:
    return verifying.parse_junit(JUNIT, "local")


def test_claims_in_labs_order_with_worst_case_result(report):
    assert [(c.claim, c.outcome) for c in report.claims] == [
        ("ENV-1", "passed"),
        ("ADD-1", "passed"),
        ("ADD-4", "skipped"),
        ("STS-1", "failed"),
        ("STS-3", "passed"),
        ("SQL-3", "failed"),
        ("HPA-3", "error"),
        ("NLB-1", "skipped"),
        ("NLB-3", "skipped"),
    ]


def test_times_add_up_per_claim(report):
    by_id = {c.claim: c for c in report.claims}
    assert by_id["STS-1"].seconds == pytest.approx(1.203 + 121.880)
    assert by_id["ADD-1"].seconds == pytest.approx(0.451)


def test_detail_names_the_failing_case_and_what_was_seen(report):
    by_id = {c.claim: c for c in report.claims}
    assert by_id["STS-1"].detail.startswith("[headless] infra.probes.eventually.ProbeTimeout: DNS answer")
    assert "got ['10.244.1.7', '10.244.2.5']" in by_id["STS-1"].detail
    assert by_id["ADD-4"].detail == "[control-plane] ADD-4 applies to aws only"
    assert by_id["ADD-1"].detail == "2 case(s)"
    assert by_id["ENV-1"].detail == ""


def test_counts_and_verdict(report):
    assert (
        report.count("passed"),
        report.count("failed"),
        report.count("error"),
        report.count("skipped"),
    ) == (
        3,
        2,
        1,
        3,
    )
    assert not report.ok
    assert report.summary_line() == "local: claims FAILED — 3 passed, 2 failed, 1 error, 3 skipped"


def test_markdown_summary(report):
    text = verifying.render_markdown(report)
    assert text.startswith("## Lab verification — local\n")
    assert (
        "| STS-1 | ❌ failed | 123.1s | ClusterIP Service resolves to one address, headless to one per pod |"
        in text
    )
    assert "| HPA-3 | 💥 error |" in text
    assert "- `test_sql_3_replica_refuses_writes[mysql-1]`: AssertionError: mysql-1 accepted a write" in text
    assert (
        "accepted a write (CREATE DATABASE infra_probe_ro_a1b2c3) \\| assert 0 != 0 |" in text
    )  # pipe escaped
    assert "Not run (deselected, slow, or filtered out): ADD-2, ADD-3," in text


def test_markdown_goes_to_the_github_step_summary(report, isolated_state, monkeypatch):
    summary = isolated_state / "step-summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    written = verifying.write_markdown(report, isolated_state / "reports" / "verify-local.md")
    assert written.read_text(encoding="utf-8") == verifying.render_markdown(report)
    # appended after what earlier steps wrote, followed by a blank line before the next step's section
    assert summary.read_text(encoding="utf-8") == "earlier step\n" + verifying.render_markdown(report) + "\n"


def _junit(tmp_path: Path, *cases: str) -> Path:
    path = tmp_path / "junit.xml"
    body = "".join(cases)
    path.write_text(f'<testsuites><testsuite name="s">{body}</testsuite></testsuites>', encoding="utf-8")
    return path


def test_all_passed_with_skips_is_ok(tmp_path):
    path = _junit(
        tmp_path,
        '<testcase name="test_env_1_all_nodes_ready" time="1.5"/>',
        '<testcase name="test_nlb_1_x" time="0"><skipped message="NLB-1 applies to aws only"/></testcase>',
    )
    report = verifying.parse_junit(path, "local")
    assert report.ok
    assert report.summary_line() == "local: every probed claim holds — 1 passed, 1 skipped"


def test_everything_skipped_is_not_ok(tmp_path):
    path = _junit(
        tmp_path, '<testcase name="test_env_1_x" time="0"><skipped message="no live cluster"/></testcase>'
    )
    report = verifying.parse_junit(path, "local")
    assert not report.ok
    assert "nothing verified" in report.summary_line()


def test_a_failing_test_without_a_claim_is_not_hidden(tmp_path):
    path = _junit(
        tmp_path,
        '<testcase name="test_env_1_x" time="1"/>',
        '<testcase name="test_helper_breaks" time="1"><error message="boom"/></testcase>',
    )
    report = verifying.parse_junit(path, "local")
    assert [c.name for c in report.unclaimed] == ["test_helper_breaks"]
    assert not report.ok
    assert "| ? | 💥 error |" in verifying.render_markdown(report)


def test_unreadable_junit_is_a_clear_error(tmp_path):
    broken = tmp_path / "junit.xml"
    broken.write_text("<testsuites>", encoding="utf-8")
    with pytest.raises(InfraError, match="cannot read the JUnit report"):
        verifying.parse_junit(broken, "local")


@pytest.mark.parametrize(
    ("ids", "expression"),
    [
        ([], None),
        (["STS-3"], "test_sts_3_"),
        (["ENV-1", "HPA-1"], "test_env_1_ or test_hpa_1_"),
    ],
)
def test_only_filter(ids, expression):
    assert verifying.selection_expression(ids) == expression


def test_pytest_command(tmp_path):
    argv = verifying.pytest_argv("aws", tmp_path / "j.xml", ["SQL-1", "NLB-2"], include_slow=False)
    assert argv[1:4] == ["-m", "pytest", str(verifying.LIVE_TESTS)]
    assert argv[argv.index("-m", 2) + 1] == "live and not slow"
    assert f"--junitxml={tmp_path / 'j.xml'}" in argv
    assert argv[argv.index("-k") + 1] == "test_sql_1_ or test_nlb_2_"
    slow = verifying.pytest_argv("local", tmp_path / "j.xml", [], include_slow=True)
    assert slow[slow.index("-m", 2) + 1] == "live"
    assert "-k" not in slow


def test_aws_only_claims_are_refused_on_local():
    verifying.check_applicable("aws", ["NLB-2", "STS-3"])
    with pytest.raises(InfraError, match=r"NLB-2 \(aws only\)"):
        verifying.check_applicable("local", ["NLB-2", "STS-3"])


def test_no_cluster_configured(isolated_state):
    with pytest.raises(
        ClusterUnavailableError, match="no cluster configured for the local environment"
    ) as caught:
        verifying.locate_cluster("local")
    assert "infra up --env local" in caught.value.hint


def test_own_kubeconfig_is_preferred(isolated_state, monkeypatch):
    own = isolated_state / "state" / "local" / "kubeconfig"
    own.parent.mkdir(parents=True)
    own.write_text("apiVersion: v1\nkind: Config\n", encoding="utf-8")
    monkeypatch.setenv("KUBECONFIG", str(isolated_state / "elsewhere"))
    assert verifying.locate_cluster("local").kubeconfig == own


def test_cli_without_a_cluster_exits_2(isolated_state):
    result = CliRunner().invoke(app, ["verify", "--env", "local"])
    assert result.exit_code == 2
    assert "no cluster configured for the local environment" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--only", "STS-9"], "unknown claim ID 'STS-9'"), (["--only", "NLB-1"], "NLB-1 (aws only)")],
)
def test_cli_bad_only_exits_2_before_anything_runs(isolated_state, monkeypatch, args, message):
    def no_process(*_args, **_kwargs):
        raise AssertionError("nothing may run for bad input")

    monkeypatch.setattr(proc, "run", no_process)
    result = CliRunner().invoke(app, ["verify", *args])
    assert result.exit_code == 2
    assert message in result.output


@pytest.fixture
def fake_run(isolated_state, monkeypatch):
    """A configured, answering cluster; pytest replaced by copying ``state["junit"]`` into place."""
    state: dict = {"junit": JUNIT, "calls": [], "exit": 1}
    target = KubeTarget(isolated_state / "kubeconfig", "kind-lab", "test")
    monkeypatch.setattr(verifying, "require_cluster", lambda env: target)

    def run(argv, **kwargs):
        state["calls"].append({"argv": argv, **kwargs})
        junit = next(a.split("=", 1)[1] for a in argv if a.startswith("--junitxml="))
        shutil.copy(state["junit"], junit)
        return proc.Result(list(argv), state["exit"], "", "")

    monkeypatch.setattr(proc, "run", run)
    return state


def test_cli_reports_failures_with_exit_1(fake_run, isolated_state):
    result = CliRunner().invoke(app, ["verify", "--only", "sts-1", "--only", "SQL-3"])
    assert result.exit_code == 1, result.output
    (call,) = fake_run["calls"]
    assert call["env"] == {"INFRA_ENV": "local", "KUBECONFIG": str(isolated_state / "kubeconfig")}
    assert call["argv"][call["argv"].index("-k") + 1] == "test_sts_1_ or test_sql_3_"
    assert "STS-1" in result.output
    assert "claims FAILED" in result.output
    assert (isolated_state / "state" / "reports" / "verify-local.md").is_file()


def test_cli_all_passing_exits_0(fake_run, tmp_path):
    fake_run["junit"] = _junit(tmp_path, '<testcase name="test_env_1_all_nodes_ready" time="1.5"/>')
    fake_run["exit"] = 0
    result = CliRunner().invoke(app, ["verify", "--env", "local"])
    assert result.exit_code == 0, result.output
    assert "every probed claim holds" in result.output
    assert "did not complete" not in result.output


@pytest.mark.parametrize("pytest_exit", [2, 3, 4])
def test_cli_incomplete_pytest_run_is_not_a_pass(fake_run, tmp_path, pytest_exit):
    """Interrupted / internal error / usage error: the JUnit file holds only what ran, all of it passed."""
    fake_run["junit"] = _junit(tmp_path, '<testcase name="test_env_1_all_nodes_ready" time="1.5"/>')
    fake_run["exit"] = pytest_exit
    result = CliRunner().invoke(app, ["verify", "--env", "local"])
    assert result.exit_code == 1, result.output
    assert f"pytest exited {pytest_exit}: the run did not complete" in result.output
