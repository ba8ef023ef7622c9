"""``infra verify``: run the live probes (``tests/live``) and report claim -> result -> time.

The probes are ordinary pytest tests, one per claim ID; this module finds the cluster, checks the claims'
prerequisites (:mod:`infra.probes.prerequisites`, seconds), runs pytest on the probes in subprocesses
(through :func:`infra.proc.run`) with JUnit XML reports, and turns the report into a table for the terminal
and a Markdown summary for GitHub Actions job summaries.

Which cluster: the environment's own ``.infra/<env>/kubeconfig`` (written by ``infra up``), or one named with
``--kubeconfig``/``--context`` (:func:`infra.kube.resolve_target`). The probes scale, delete and load things,
so they never act on ``$KUBECONFIG`` alone nor on ``~/.kube/config``. The choice reaches the pytest process
as ``INFRA_KUBECONFIG``/``INFRA_CONTEXT``, the variables ``pytest tests/live`` run by hand reads too.

How it stays fast on a broken cluster: a claim whose prerequisite failed is reported at once as blocked by
it, with the prerequisite's evidence, instead of waiting out its deadline; independent labs run side by side
(one pytest process per lab, each with its own JUnit file, merged into one), and the GitOps claims, which
reconcile every lab, run alone afterwards. (Not pytest-xdist's ``--dist loadgroup``: with pytest 9.2 it
silently stops grouping, pytest-dev/pytest-xdist#1386, and one lab's probes must not run side by side.)
"""

from __future__ import annotations

import json
import sys
import time
import xml.etree.ElementTree as ET  # parses only the JUnit files our own pytest runs wrote
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from infra import proc
from infra import series as recorded
from infra.console import WaitBoard, waiting
from infra.environments import get_environment
from infra.errors import ClusterUnavailableError, InfraError
from infra.kube import KubeTarget, ensure_reachable, resolve_target
from infra.labs import lab_of
from infra.paths import TESTS_DIR, reports_dir
from infra.probes import prerequisites
from infra.probes.claims import BY_ID, CLAIMS, ORDER, claim_id_of, normalise_ids
from infra.probes.prerequisites import Prerequisite
from infra.report import preload, write_report
from infra.reports import append_step_summary

if TYPE_CHECKING:
    from infra.doctor.report import DoctorReport
    from infra.gitops.drift import DriftReport

LIVE_TESTS = TESTS_DIR / "live"
PASSED, FAILED, ERROR, SKIPPED, BLOCKED = "passed", "failed", "error", "skipped", "blocked"
OUTCOMES = (PASSED, FAILED, ERROR, BLOCKED, SKIPPED)
# A claim's result is its worst test case's. Blocked (a prerequisite failed) is not a pass: the claim is
# unproven, and the prerequisite's own failure says why.
_SEVERITY = {PASSED: 0, SKIPPED: 1, BLOCKED: 2, FAILED: 3, ERROR: 4}
_ICONS = {PASSED: "✅", FAILED: "❌", ERROR: "💥", SKIPPED: "⏭️", BLOCKED: "🚧"}

# How `infra verify` tells the probes (a pytest subprocess) what it decided; `pytest tests/live` by hand
# reads the first two as well (tests/live/README.md).
KUBECONFIG_VARIABLE = "INFRA_KUBECONFIG"
CONTEXT_VARIABLE = "INFRA_CONTEXT"
PREREQUISITES_VARIABLE = "INFRA_PREREQUISITES"
GITOPS_AREA = "GIT"  # reconciles every lab: runs alone, after the others
MAX_WORKERS = 6  # pytest processes running side by side (each a Python process with the Kubernetes client)
# A lab's pytest run never needs this long (its probes' own deadlines add up to minutes): past it, the run is
# stopped with a clear error instead of hanging `infra verify`. Doubled with --include-slow.
RUN_DEADLINE_S = 1800
CAUSE_LINES = 5  # likely causes printed per namespace of a failed claim


# --- which cluster ------------------------------------------------------------------------------------


def locate_cluster(
    env: str, *, kubeconfig: Path | str | None = None, context: str | None = None
) -> KubeTarget:
    """The cluster the probes of ``env`` run against, or :class:`ClusterUnavailableError` (exit 2).

    The environment's own kubeconfig or one named with ``kubeconfig``/``context``, never ``$KUBECONFIG``
    alone: the probes change the cluster. Shared by ``infra verify`` and ``tests/live/conftest.py`` so both
    agree on what "configured" means.
    """
    get_environment(env)
    try:
        return resolve_target(env, kubeconfig=kubeconfig or None, context=context or None)
    except ClusterUnavailableError:
        raise ClusterUnavailableError(
            f"no cluster named for the {env} environment (no .infra/{env}/kubeconfig; the probes never use "
            "$KUBECONFIG alone)",
            f"run `infra up --env {env}`, or name one: `infra verify --kubeconfig FILE` "
            f"(pytest: {KUBECONFIG_VARIABLE}=FILE)",
        ) from None


def require_cluster(
    env: str, *, kubeconfig: Path | str | None = None, context: str | None = None
) -> KubeTarget:
    """:func:`locate_cluster`, then make sure the API server answers (else exit 2, not 31 skipped probes)."""
    target = locate_cluster(env, kubeconfig=kubeconfig, context=context)
    ensure_reachable(target)
    return target


def probe_environment(target: KubeTarget, env: str, prerequisites_file: Path | None = None) -> dict[str, str]:
    """The variables that hand the cluster (and the prerequisites' results) to the pytest subprocess."""
    variables = {"INFRA_ENV": env}
    if target.kubeconfig is not None:
        variables[KUBECONFIG_VARIABLE] = str(target.kubeconfig)
    if target.context:
        variables[CONTEXT_VARIABLE] = target.context
    if prerequisites_file is not None:
        variables[PREREQUISITES_VARIABLE] = str(prerequisites_file)
    return variables


# --- running the probes -------------------------------------------------------------------------------


def selection_expression(claim_ids: list[str]) -> str | None:
    """``-k`` expression selecting the tests of these claims (None: all). IDs are already normalised.

    Each claim's tests start with ``test_<area>_<n>_``; the trailing ``_`` keeps ``HPA-1`` from selecting a
    future ``HPA-10``.
    """
    if not claim_ids:
        return None
    return " or ".join(BY_ID[claim_id].test_prefix for claim_id in claim_ids)


def marker_expression(include_slow: bool) -> str:
    return "live" if include_slow else "live and not slow"


def check_applicable(env: str, claim_ids: list[str]) -> None:
    """Asking for a claim that does not apply to the environment (NLB-2 on local) is a user's mistake."""
    wrong = [c for c in claim_ids if not BY_ID[c].applies_to(env)]
    if wrong:
        where = ", ".join(f"{c} ({'/'.join(BY_ID[c].environments)} only)" for c in wrong)
        hint = "drop them from --only or use --env aws"
        raise InfraError(f"not probed in the {env} environment: {where}", hint)


def pytest_argv(
    env: str,
    junit_path: Path,
    claim_ids: list[str],
    include_slow: bool,
    extra: list[str] | None = None,
    *,
    expression: str | None = None,
) -> list[str]:
    """The pytest command of one run: ``-k`` from ``claim_ids``, or ``expression`` when given."""
    argv = [
        sys.executable,
        "-m",
        "pytest",
        str(LIVE_TESTS),
        "-m",
        marker_expression(include_slow),
        f"--junitxml={junit_path}",
        "-o",
        f"junit_suite_name=infra-verify-{env}",
        "-o",
        "junit_family=xunit2",
        "-rfEs",
    ]
    expression = expression or selection_expression(claim_ids)
    if expression:
        argv += ["-k", expression]
    return [*argv, *(extra or [])]


@dataclass(frozen=True)
class Run:
    """One pytest process: a name (its files are ``verify-<env>-<name>.*``), its ``-k``, and its claims."""

    name: str
    expression: str
    claim_ids: tuple[str, ...]


def plan_runs(
    env: str, claim_ids: list[str], gates: Mapping[str, prerequisites.Gate | None]
) -> list[list[Run]]:
    """Stages of pytest runs: the runs of a stage go side by side, the stages one after another.

    Stage 1: one run per group of claims that will really probe (:func:`prerequisites.concurrency_group`:
    a lab's probes share its objects, so they stay in one process, in order), plus one run for the rest
    (blocked, not for this environment, tests naming no claim), which finishes at once. Stage 2: the GitOps
    claims alone: they reconcile every lab, which would undo a scale-up another lab's probe is making.
    """
    chosen = [BY_ID[c] for c in claim_ids] if claim_ids else list(CLAIMS)
    labs = [c for c in chosen if c.area != GITOPS_AREA]
    gitops = [c for c in chosen if c.area == GITOPS_AREA]
    groups: dict[str, list[str]] = {}
    for claim in labs:
        if claim.applies_to(env) and gates.get(claim.id) is None:
            groups.setdefault(prerequisites.concurrency_group(claim.id), []).append(claim.id)
    first = [Run(name.lower(), selection_expression(ids) or "", tuple(ids)) for name, ids in groups.items()]
    probing = {claim_id for ids in groups.values() for claim_id in ids}
    rest = [c.id for c in labs if c.id not in probing]
    if claim_ids and rest:
        first.append(Run("rest", selection_expression(rest) or "", tuple(rest)))
    elif not claim_ids:  # everything else, also tests that name no claim (reported, never hidden)
        running = [_prefix(GITOPS_AREA), *(BY_ID[c].test_prefix for c in sorted(probing, key=ORDER.get))]
        first.append(Run("rest", " and ".join(f"not {p}" for p in running), tuple(rest)))
    stages = [first] if first else []
    if gitops:
        expression = selection_expression([c.id for c in gitops]) if claim_ids else _prefix(GITOPS_AREA)
        stages.append([Run("gitops", expression or "", tuple(c.id for c in gitops))])
    return stages


def _prefix(area: str) -> str:
    return f"test_{area.lower()}_"


def merge_junit(parts: Sequence[Path], into: Path, suite_name: str) -> Path:
    """One JUnit file (one ``<testsuite>``) holding the test cases of every part, in order."""
    if len(parts) == 1:
        parts[0].replace(into)
        return into
    suite = ET.Element("testsuite", name=suite_name)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    seconds = 0.0
    for part in parts:
        try:
            root = ET.parse(part).getroot()  # noqa: S314 - our own pytest run's report
        except (OSError, ET.ParseError) as exc:
            raise InfraError(f"cannot read the JUnit report {part}: {exc}", "re-run `infra verify`") from None
        for case in root.iter("testcase"):
            suite.append(case)
            totals["tests"] += 1
            for tag, key in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
                totals[key] += case.find(tag) is not None
            seconds += float(case.get("time") or 0.0)
    for key, value in totals.items():
        suite.set(key, str(value))
    suite.set("time", f"{seconds:.3f}")
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(into, encoding="utf-8", xml_declaration=True)
    for part in parts:
        part.unlink(missing_ok=True)
    return into


def combined_exit(codes: Sequence[int]) -> int:
    """One pytest exit code for several runs: an incomplete run (2, 3, 4) wins, then failures (1)."""
    incomplete = [c for c in codes if c not in (0, 1, 5)]
    if incomplete:
        return incomplete[0]
    return 1 if 1 in codes else 0


def report_paths(env: str) -> tuple[Path, Path]:
    directory = reports_dir()
    return directory / f"verify-{env}.xml", directory / f"verify-{env}.md"


# --- the report ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseResult:
    claim: str | None  # None for a test that names no claim (reported, never hidden)
    name: str  # test name with its parameters: "test_sts_1_dns_answers[headless]"
    outcome: str
    seconds: float
    message: str = ""


@dataclass
class ClaimResult:
    claim: str
    title: str
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        return max((c.outcome for c in self.cases), key=_SEVERITY.__getitem__, default=SKIPPED)

    @property
    def seconds(self) -> float:
        return sum(c.seconds for c in self.cases)

    @property
    def detail(self) -> str:
        """The first problem, on one line: what failed (which case) or why it was skipped."""
        worst = [c for c in self.cases if c.outcome == self.outcome and c.outcome != PASSED]
        if not worst:
            return f"{len(self.cases)} case(s)" if len(self.cases) > 1 else ""
        case = worst[0]
        param = case.name[case.name.index("[") :] if "[" in case.name else ""
        text = f"{param} {case.message}".strip()
        return _one_line(text)


@dataclass
class Report:
    env: str
    claims: list[ClaimResult]
    unclaimed: list[CaseResult] = field(default_factory=list)
    # filled in by verify(): what the prerequisite checks saw, and `infra doctor`'s likely causes of
    # failures by where they were looked for ("lab-sts", or "cluster")
    prerequisites: list[Prerequisite] = field(default_factory=list)
    causes: dict[str, list[str]] = field(default_factory=dict)

    def count(self, outcome: str) -> int:
        return sum(1 for c in self.claims if c.outcome == outcome)

    @property
    def ok(self) -> bool:
        """All probed claims passed (skips allowed, blocked not) and at least one was actually probed."""
        bad = any(c.outcome in (FAILED, ERROR, BLOCKED) for c in self.claims) or any(
            c.outcome in (FAILED, ERROR) for c in self.unclaimed
        )
        return not bad and self.count(PASSED) > 0

    def summary_line(self) -> str:
        parts = [f"{self.count(o)} {o}" for o in OUTCOMES if self.count(o)]
        if self.ok:
            verdict = "every probed claim holds"
        elif self.count(FAILED) or self.count(ERROR) or self.unclaimed:
            verdict = "claims FAILED"
        elif self.count(BLOCKED):
            verdict = "claims BLOCKED by failed prerequisites"
        else:
            verdict = "nothing verified"
        return f"{self.env}: {verdict} — {', '.join(parts) or 'no claims ran'}"


def parse_junit(path: Path, env: str) -> Report:
    """JUnit XML (pytest's xunit2) -> one :class:`ClaimResult` per claim that ran, in registry order."""
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - our own pytest run's report
    except (OSError, ET.ParseError) as exc:
        raise InfraError(f"cannot read the JUnit report {path}: {exc}", "re-run `infra verify`") from None
    by_claim: dict[str, ClaimResult] = {}
    unclaimed: list[CaseResult] = []
    for case in root.iter("testcase"):
        result = _case_result(case)
        if result.claim is None:
            unclaimed.append(result)
            continue
        claim = by_claim.setdefault(result.claim, ClaimResult(result.claim, BY_ID[result.claim].title))
        claim.cases.append(result)
    ordered = sorted(by_claim.values(), key=lambda c: ORDER[c.claim])
    return Report(env, ordered, unclaimed)


def _case_result(case: ET.Element) -> CaseResult:
    name = case.get("name", "")
    seconds = float(case.get("time") or 0.0)
    outcome, message = PASSED, ""
    for tag, kind in (("error", ERROR), ("failure", FAILED), ("skipped", SKIPPED)):
        element = case.find(tag)
        if element is not None:
            outcome = kind
            message = element.get("message") or (element.text or "")
            break
    if outcome == SKIPPED:
        message = message.removeprefix("Skipped: ")
        if prerequisites.is_blocked_message(message):
            outcome = BLOCKED
    return CaseResult(claim_id_of(name), name, outcome, seconds, _one_line(message))


def _one_line(text: str, limit: int = 240) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def render_markdown(report: Report) -> str:
    """The job summary: a claim table, then the full message of every failed case."""
    lines = [
        f"## Lab verification — {report.env}",
        "",
        f"**{report.summary_line()}**",
        "",
        "| Claim | Result | Time | What | Detail |",
        "| --- | --- | ---: | --- | --- |",
    ]
    for claim in report.claims:
        icon = _ICONS[claim.outcome]
        detail = _cell(claim.detail)
        lines.append(
            f"| {claim.claim} | {icon} {claim.outcome} | {claim.seconds:.1f}s | {claim.title} | {detail} |"
        )
    for case in report.unclaimed:
        lines.append(f"| ? | {_ICONS[case.outcome]} {case.outcome} | {case.seconds:.1f}s | {case.name} | |")
    failed = [c for claim in report.claims for c in claim.cases if c.outcome in (FAILED, ERROR)]
    if failed:
        lines += ["", "<details><summary>Failures</summary>", ""]
        lines += [f"- `{c.name}`: {_cell(c.message)}" for c in failed]
        lines += ["", "</details>"]
    if report.prerequisites:
        lines += [
            "",
            "Prerequisites (checked before the probes; a failed one blocks the claims resting on it):",
            "",
        ]
        lines += [f"- {_cell(p.line())}" for p in report.prerequisites]
    if report.causes:
        lines += ["", "Likely causes of the failures (`infra doctor`):", ""]
        for where, causes in report.causes.items():
            lines += [f"- {where}: {_cell(cause)}" for cause in causes]
    not_run = [c.id for c in CLAIMS if c.id not in {r.claim for r in report.claims}]
    if not_run:
        lines += ["", f"Not run (deselected, slow, or filtered out): {', '.join(not_run)}"]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


def write_markdown(report: Report, path: Path, extra: str = "") -> Path:
    """Write the summary (and ``extra``: the charts' Markdown), and append it to ``$GITHUB_STEP_SUMMARY``."""
    text = render_markdown(report) + (f"\n{extra.strip()}\n" if extra.strip() else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    append_step_summary(text)
    return path


# --- the whole command --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    report: Report
    junit: Path
    markdown: Path
    pytest_exit: int
    html: Path | None = None  # the page with the evidence and its charts (.infra/reports/verify-<env>.html)

    @property
    def incomplete(self) -> str | None:
        """Why the run cannot count as passed although its report shows no failure (pytest's own exit code).

        pytest exits 2 (interrupted), 3 (internal error) or 4 (usage error) after writing a JUnit file that
        holds only the cases that ran; exit 0 is the only code that means every selected case ran and held.
        """
        if self.pytest_exit == 0 or not self.report.ok:
            return None
        return f"pytest exited {self.pytest_exit}: the run did not complete (see its output above)"

    @property
    def ok(self) -> bool:
        return self.report.ok and self.incomplete is None


def verify(
    env: str,
    only: list[str] | None = None,
    *,
    include_slow: bool = False,
    kubeconfig: Path | str | None = None,
    context: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> VerifyResult:
    """Run the live probes of ``env`` and build the report; bad input and no cluster raise before pytest.

    1. the cluster (own kubeconfig or the one named), printed with any note about the choice;
    2. the prerequisites the chosen claims rest on, checked side by side in seconds;
    3. pytest: the labs side by side, then the GitOps claims; blocked claims are reported at once;
    4. one JUnit report, the table, and for failed claims the likely causes ``infra doctor`` finds.
    """
    say = progress or (lambda _line: None)
    started = time.monotonic()
    get_environment(env)
    claim_ids = normalise_ids(only or [])
    check_applicable(env, claim_ids)
    target = require_cluster(env, kubeconfig=kubeconfig, context=context)
    say(f"probing the {env} cluster {target.describe()}")
    for note in target.notes:
        say(f"note: {note}")
    chosen = [BY_ID[c] for c in claim_ids] if claim_ids else list(CLAIMS)
    results = prerequisites.check_all(target, prerequisites.needed(chosen, env))
    for result in results.values():
        say(f"prerequisite {result.line()}")
    gates = {c.id: prerequisites.gate(c, results) for c in chosen if c.applies_to(env)}
    junit, markdown = report_paths(env)
    junit.parent.mkdir(parents=True, exist_ok=True)
    junit.unlink(missing_ok=True)
    shared = prerequisites.dump(results, junit.with_name(f"verify-{env}-prerequisites.json"))
    series_file = junit.with_name(f"verify-{env}-series.jsonl")  # what the probes saw while they polled
    series_file.unlink(missing_ok=True)
    attached_sections(env).unlink(missing_ok=True)  # a new run: drift/doctor of an older one no longer belong
    environment = {**probe_environment(target, env, shared), recorded.SERIES_VARIABLE: str(series_file)}
    preload()  # the charting library loads in the background while the probes run
    parts, codes = [], []
    for stage in plan_runs(env, claim_ids, gates):
        for part, code in run_stage(env, stage, junit, include_slow, environment, say):
            parts.append(part)
            codes.append(code)
    merge_junit(parts, junit, f"infra-verify-{env}")
    report = parse_junit(junit, env)
    report.prerequisites = list(results.values())
    report.causes = likely_causes(target, report)
    page = write_report(report, recorded.load(series_file), junit.parent)
    write_markdown(report, markdown, page.markdown)
    say(f"report: {page.html} (written in {page.seconds:.2f}s)")
    say(f"verified in {time.monotonic() - started:.0f}s")
    return VerifyResult(report, junit, markdown, combined_exit(codes), page.html)


def attached_sections(env: str) -> Path:
    """Sections that ``infra drift`` / ``infra doctor`` added to the page of the last verify run (JSON)."""
    return reports_dir() / f"verify-{env}-sections.json"


def attach(env: str, *, doctor: DoctorReport | None = None, drift: DriftReport | None = None) -> Path | None:
    """Add ``infra doctor``'s or ``infra drift``'s findings to the page of ``env``'s last ``infra verify``.

    One page then tells the whole story of a run (verify, then drift and doctor, as the e2e workflow and a
    person after ``infra up`` run them). The page is drawn again from its JUnit report and recorded series;
    sections attached earlier are kept. None when no verify run left a report to attach to.
    """
    from infra.report.page import section  # light: charts load only when drawn

    junit, _ = report_paths(env)
    if not junit.is_file():
        return None
    store = attached_sections(env)
    try:
        kept = json.loads(store.read_text(encoding="utf-8")) if store.is_file() else {}
    except (OSError, ValueError):
        kept = {}
    anchor, html = section(doctor=doctor, drift=drift)
    kept = {**(kept if isinstance(kept, dict) else {}), anchor: html}
    store.write_text(json.dumps(kept), encoding="utf-8")
    series = recorded.load(junit.with_name(f"verify-{env}-series.jsonl"))
    return write_report(parse_junit(junit, env), series, junit.parent, attached=kept).html


def run_stage(
    env: str,
    stage: Sequence[Run],
    junit: Path,
    include_slow: bool,
    environment: Mapping[str, str],
    say: Callable[[str], None],
) -> list[tuple[Path, int]]:
    """Run the pytest processes of one stage side by side: (JUnit file, exit code) of each, in order.

    A run alone prints to the terminal as it goes; runs side by side write their output to
    ``verify-<env>-<run>.log`` beside the report (the table at the end says what each found).
    """
    alone = len(stage) == 1
    if not alone:
        say(f"probing side by side: {', '.join(run.name for run in stage)}")
    deadline = RUN_DEADLINE_S * (2 if include_slow else 1)

    def one(run: Run, board: WaitBoard) -> tuple[Path, int]:
        part = junit.with_name(f"verify-{env}-{run.name}.xml")
        part.unlink(missing_ok=True)
        started = time.monotonic()
        wait = board.add(f"the {run.name} probes", deadline)
        try:
            result = proc.run(
                pytest_argv(env, part, [], include_slow, expression=run.expression),
                env=environment,
                check=False,
                capture=not alone,
                timeout=deadline,
                hint="a probe hung past every claim's own deadline: read the run's log, report it as a bug",
            )
        finally:
            wait.finish()
        where = ""
        if not alone:
            log = part.with_suffix(".log")
            log.write_text(result.stdout + result.stderr, encoding="utf-8")
            where = f"; output in {log}"
        if not part.is_file():
            raise InfraError(
                f"pytest exited {result.returncode} without writing {part}{where}",
                f"run `pytest {LIVE_TESTS.relative_to(TESTS_DIR.parent)} -m live` to see why",
            )
        say(f"{run.name}: done in {time.monotonic() - started:.0f}s (pytest exit {result.returncode}{where})")
        return part, result.returncode

    # The runs side by side write to logs: what each is doing shows as a live line (elapsed / deadline) on a
    # terminal, or a "still waiting" line every 30 s in a CI log. A run alone prints its own progress.
    if alone:  # its output goes to the terminal as it runs: no live line over it
        return [one(stage[0], WaitBoard(lambda _line: None, live=False, every=0))]
    with waiting(say) as board, ThreadPoolExecutor(max_workers=min(len(stage), MAX_WORKERS)) as pool:
        return list(pool.map(lambda run: one(run, board), stage))


def cause_scopes(report: Report) -> list[str | None]:
    """Where to look for the causes of the failed claims: their labs' namespaces (None: the whole cluster,
    for the cluster's own claims). Blocked claims are left out: their prerequisite's evidence is the cause."""
    scopes: list[str | None] = []
    for claim in report.claims:
        if claim.outcome not in (FAILED, ERROR):
            continue
        namespace = lab_of(claim.claim).namespace
        if namespace not in scopes:
            scopes.append(namespace)
    return scopes


def likely_causes(
    target: KubeTarget, report: Report, doctor: Callable[..., list[str]] | None = None
) -> dict[str, list[str]]:
    """``infra doctor``'s findings that may explain the failed claims, by namespace ("cluster" for None)."""
    if doctor is None:
        from infra.doctor import likely_causes as doctor  # lazy: the doctor is only needed on failure

    found: dict[str, list[str]] = {}
    for namespace in cause_scopes(report):
        lines = doctor(target, namespace=namespace)
        if lines:
            found[namespace or "cluster"] = lines[:CAUSE_LINES]
    return found
