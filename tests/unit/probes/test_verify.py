"""`infra verify`: the JUnit -> claim report, the pytest command it builds, and its exit codes."""

from __future__ import annotations

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
    tmp_path.mkdir(parents=True, exist_ok=True)
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
    with pytest.raises(ClusterUnavailableError, match="no cluster named for the local environment") as caught:
        verifying.locate_cluster("local")
    assert "infra up --env local" in caught.value.hint
    assert "infra verify --kubeconfig FILE" in caught.value.hint  # the flag exists (it did not, once)
    assert "INFRA_KUBECONFIG=FILE" in caught.value.hint


def test_own_kubeconfig_is_preferred_and_an_ignored_kubeconfig_is_named(isolated_state, monkeypatch):
    own = isolated_state / "state" / "local" / "kubeconfig"
    own.parent.mkdir(parents=True)
    own.write_text("apiVersion: v1\nkind: Config\n", encoding="utf-8")
    monkeypatch.setenv("KUBECONFIG", str(isolated_state / "elsewhere"))
    target = verifying.locate_cluster("local")
    assert target.kubeconfig == own
    assert any("$KUBECONFIG is ignored" in note for note in target.notes)


def _kubeconfig_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: work\n"
        "contexts: [{name: work, context: {cluster: work, user: me}}]\n"
        "clusters: [{name: work, cluster: {server: 'https://work.example:6443'}}]\n",
        encoding="utf-8",
    )
    return path


def test_kubeconfig_alone_or_the_users_kube_config_is_never_probed(isolated_state, monkeypatch):
    """The probes scale and delete: a work cluster in $KUBECONFIG or ~/.kube/config is not the lab."""
    home = isolated_state / "home"
    _kubeconfig_file(home / ".kube" / "config")
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(ClusterUnavailableError, match="no cluster named"):
        verifying.locate_cluster("local")
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig_file(isolated_state / "work.kubeconfig")))
    with pytest.raises(ClusterUnavailableError, match="never use \\$KUBECONFIG alone"):
        verifying.locate_cluster("local")


def test_a_named_kubeconfig_and_context_are_the_target(isolated_state):
    named = _kubeconfig_file(isolated_state / "lab.kubeconfig")
    target = verifying.locate_cluster("local", kubeconfig=named, context="work")
    assert (target.kubeconfig, target.context) == (named.resolve(), "work")
    assert target.describe() == f"https://work.example:6443 (context work, from --kubeconfig {named})"
    assert verifying.probe_environment(target, "local", isolated_state / "p.json") == {
        "INFRA_ENV": "local",
        "INFRA_KUBECONFIG": str(named.resolve()),
        "INFRA_CONTEXT": "work",
        "INFRA_PREREQUISITES": str(isolated_state / "p.json"),
    }


def test_cli_without_a_cluster_exits_2(isolated_state):
    result = CliRunner().invoke(app, ["verify", "--env", "local"])
    assert result.exit_code == 2
    assert "no cluster named for the local environment" in result.output
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


def _selected(expression: str, name: str) -> bool:
    """pytest's ``-k`` for the two shapes verify builds: ``a or b`` and ``not a and not b``."""
    if expression.startswith("not "):
        return not any(name.startswith(p.removeprefix("not ")) for p in expression.split(" and "))
    return any(name.startswith(p) for p in expression.split(" or "))


@pytest.fixture
def fake_run(isolated_state, monkeypatch):
    """A configured, answering cluster, prerequisites as ``state["prerequisites"]``, a doctor that finds
    ``state["causes"]``; pytest replaced by writing the cases of ``state["junit"]`` its ``-k`` selects."""
    import xml.etree.ElementTree as ET

    state: dict = {"junit": JUNIT, "calls": [], "exit": 1, "prerequisites": {}, "causes": [], "doctor": []}
    target = KubeTarget(isolated_state / "kubeconfig", "kind-lab", "test")
    monkeypatch.setattr(
        verifying, "require_cluster", lambda env, **named: state.setdefault("named", named) and target
    )
    monkeypatch.setattr(verifying.prerequisites, "check_all", lambda t, names: state["prerequisites"])

    def doctor(target, namespace=None, **_kw):
        state["doctor"].append(namespace)
        return state["causes"]

    monkeypatch.setattr("infra.doctor.likely_causes", doctor)

    def run(argv, **kwargs):
        state["calls"].append({"argv": argv, **kwargs})
        junit = next(a.split("=", 1)[1] for a in argv if a.startswith("--junitxml="))
        expression = argv[argv.index("-k") + 1]
        tree = ET.parse(state["junit"])  # noqa: S314 - a test fixture
        for suite in tree.getroot().iter("testsuite"):
            for case in list(suite.iter("testcase")):
                if not _selected(expression, case.get("name", "")):
                    suite.remove(case)
        tree.write(junit)
        return proc.Result(list(argv), state["exit"], "", "")

    monkeypatch.setattr(proc, "run", run)
    return state


def test_cli_reports_failures_with_exit_1(fake_run, isolated_state):
    older = isolated_state / "state" / "reports" / "verify-local-sections.json"
    older.parent.mkdir(parents=True, exist_ok=True)
    older.write_text('{"drift": "<p>drift of an older run</p>"}')  # what infra drift attached last time
    result = CliRunner().invoke(app, ["verify", "--only", "sts-1", "--only", "SQL-3"])
    assert result.exit_code == 1, result.output
    assert sorted(c["argv"][c["argv"].index("-k") + 1] for c in fake_run["calls"]) == [
        "test_sql_3_",
        "test_sts_1_",
    ]
    for call in fake_run["calls"]:
        assert call["env"] == {
            "INFRA_ENV": "local",
            "INFRA_KUBECONFIG": str(isolated_state / "kubeconfig"),
            "INFRA_CONTEXT": "kind-lab",
            "INFRA_PREREQUISITES": str(
                isolated_state / "state" / "reports" / "verify-local-prerequisites.json"
            ),
            # the probes record what they see while they poll; the report draws it
            "INFRA_SERIES_FILE": str(isolated_state / "state" / "reports" / "verify-local-series.jsonl"),
        }
        assert call["capture"] is True  # side by side: each run's output goes to its own log
        assert call["timeout"] == verifying.RUN_DEADLINE_S  # a hung probe run cannot hang verify
    assert "STS-1" in result.output
    assert "claims FAILED" in result.output
    assert (isolated_state / "state" / "reports" / "verify-local.md").is_file()
    page = (isolated_state / "state" / "reports" / "verify-local.html").read_text()
    assert "STS-1" in page
    assert "SQL-3" in page
    assert "drift of an older run" not in page  # a new run starts a new story
    assert not older.exists()
    assert (isolated_state / "state" / "reports" / "verify-local-sts.log").is_file()
    merged = verifying.parse_junit(isolated_state / "state" / "reports" / "verify-local.xml", "local")
    assert [c.claim for c in merged.claims] == ["STS-1", "SQL-3"]


def test_cli_names_the_cluster_it_was_given(fake_run, tmp_path):
    fake_run["junit"] = _junit(tmp_path, '<testcase name="test_env_1_all_nodes_ready" time="1.5"/>')
    result = CliRunner().invoke(
        app, ["verify", "--only", "ENV-1", "--kubeconfig", str(tmp_path / "k"), "--context", "c"]
    )
    assert result.exit_code == 1, result.output  # fake pytest exits 1
    assert fake_run["named"] == {"kubeconfig": tmp_path / "k", "context": "c"}
    assert "probing the local cluster unknown server (context kind-lab, from test)" in result.output
    (call,) = fake_run["calls"]
    assert call["capture"] is False  # one run alone prints as it goes


def test_cli_blocked_claims_are_not_a_pass_and_causes_are_printed(fake_run, tmp_path):
    from infra.probes.prerequisites import Prerequisite

    fake_run["prerequisites"] = {"ADD-1": Prerequisite("ADD-1", False, "APIService gone", True, 0.2)}
    fake_run["causes"] = ["Pod/lab-sts/web-0 POD-PENDING: Insufficient cpu — fix: smaller requests"]
    fake_run["junit"] = _junit(
        tmp_path,
        '<testcase name="test_hpa_2_metric_known_in_bounded_time" time="0">'
        '<skipped message="blocked by ADD-1: APIService gone"/></testcase>',
        '<testcase name="test_sts_4_one_claim_per_pod" time="3"><failure message="no PVC"/></testcase>',
    )
    fake_run["exit"] = 1
    result = CliRunner().invoke(app, ["verify", "--only", "HPA-2,STS-4"])
    assert result.exit_code == 1, result.output
    assert "prerequisite ADD-1: FAILED — APIService gone (0.2s)" in result.output
    assert "likely causes (lab-sts, from infra doctor):" in result.output
    assert "POD-PENDING: Insufficient cpu" in result.output
    assert fake_run["doctor"] == ["lab-sts"]  # the blocked HPA-2 needs no doctor: its cause is known
    # blocked claims get a run of their own, which finishes at once
    assert {c["argv"][c["argv"].index("-k") + 1] for c in fake_run["calls"]} == {"test_sts_4_", "test_hpa_2_"}


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


# --- stages of pytest runs, the merged report, blocked claims ---------------------------------------


def test_runs_one_per_probing_lab_then_gitops_alone():
    from infra.probes.prerequisites import Gate

    gates = {"STS-1": Gate("skip", "needs real pods: x"), "ADD-1": None}
    stages = verifying.plan_runs("local", ["ADD-1", "ADD-2", "STS-1", "STS-3", "GIT-1", "GIT-2"], gates)
    assert [[(r.name, r.expression) for r in stage] for stage in stages] == [
        [
            ("add-1", "test_add_1_"),
            ("add-2", "test_add_2_"),
            ("sts", "test_sts_3_"),
            ("rest", "test_sts_1_"),
        ],
        [("gitops", "test_git_1_ or test_git_2_")],
    ]


def test_all_claims_leave_nothing_out_and_aws_claims_run_with_the_rest_on_local():
    stages = verifying.plan_runs("local", [], {})
    first, (gitops,) = stages
    assert gitops.expression == "test_git_"
    rest = first[-1]
    assert rest.name == "rest"
    assert rest.expression.startswith("not test_git_ and not test_env_1_ and not test_add_1_")
    assert "NLB-1" in rest.claim_ids  # not for local: skipped at once
    assert "ADD-4" in rest.claim_ids
    names = [r.name for r in first[:-1]]
    assert names[:4] == ["env", "add-1", "add-2", "add-3"]  # each addon alone, the labs one run each
    assert {"tls", "sts", "sql", "qos", "hpa"} <= set(names)
    assert len(names) == len(set(names))


def test_junit_parts_merge_into_one_suite(tmp_path):
    one = _junit(tmp_path / "a", '<testcase name="test_env_1_x" time="1.5"/>')
    two = _junit(
        tmp_path / "b",
        '<testcase name="test_git_1_x" time="2"><failure message="drift"/></testcase>',
        '<testcase name="test_sts_1_x" time="0"><skipped message="needs real pods: no exec"/></testcase>',
    )
    merged = verifying.merge_junit([one, two], tmp_path / "verify.xml", "infra-verify-local")
    import xml.etree.ElementTree as ET

    suite = ET.parse(merged).getroot().find("testsuite")  # noqa: S314 - written just above
    assert suite.get("name") == "infra-verify-local"
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped"), suite.get("time")) == (
        "3",
        "1",
        "1",
        "3.500",
    )
    report = verifying.parse_junit(merged, "local")
    assert [(c.claim, c.outcome) for c in report.claims] == [
        ("ENV-1", "passed"),
        ("STS-1", "blocked"),
        ("GIT-1", "failed"),
    ]
    assert not one.exists()
    assert not two.exists()


@pytest.mark.parametrize(
    ("codes", "combined"), [([0, 0], 0), ([0, 1], 1), ([1, 2], 2), ([5, 0], 0), ([0, 4, 1], 4)]
)
def test_exit_codes_of_several_runs(codes, combined):
    assert verifying.combined_exit(codes) == combined


def test_blocked_claims_are_reported_as_such_and_are_not_a_pass(tmp_path):
    from infra.probes.prerequisites import Prerequisite

    path = _junit(
        tmp_path,
        '<testcase name="test_env_1_x" time="1"/>',
        '<testcase name="test_hpa_2_x" time="0"><skipped message="blocked by ADD-1: APIService gone"/>'
        "</testcase>",
        '<testcase name="test_nlb_1_x" time="0"><skipped message="NLB-1 applies to aws only"/></testcase>',
    )
    report = verifying.parse_junit(path, "local")
    assert [(c.claim, c.outcome) for c in report.claims] == [
        ("ENV-1", "passed"),
        ("HPA-2", "blocked"),
        ("NLB-1", "skipped"),
    ]
    assert not report.ok
    assert report.summary_line() == (
        "local: claims BLOCKED by failed prerequisites — 1 passed, 1 blocked, 1 skipped"
    )
    report.prerequisites = [Prerequisite("ADD-1", False, "APIService gone", True, 0.25)]
    report.causes = {"lab-hpa": ["HorizontalPodAutoscaler/lab-hpa/hpa-demo HPA-X: a | b"]}
    text = verifying.render_markdown(report)
    assert "| HPA-2 | 🚧 blocked | 0.0s |" in text
    assert "blocked by ADD-1: APIService gone |" in text
    assert "- ADD-1: FAILED — APIService gone (0.2s)" in text
    assert "- lab-hpa: HorizontalPodAutoscaler/lab-hpa/hpa-demo HPA-X: a \\| b" in text


def test_likely_causes_are_looked_for_where_the_failed_claims_live(report):
    assert verifying.cause_scopes(report) == ["lab-sts", "lab-mysql", "lab-hpa"]
    asked = []

    def doctor(target, namespace=None):
        asked.append(namespace)
        return [f"finding {i}" for i in range(9)] if namespace == "lab-sts" else []

    causes = verifying.likely_causes(KubeTarget(None, None, "t"), report, doctor)
    assert asked == ["lab-sts", "lab-mysql", "lab-hpa"]
    assert causes == {"lab-sts": [f"finding {i}" for i in range(verifying.CAUSE_LINES)]}
