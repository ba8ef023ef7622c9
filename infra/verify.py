"""``infra verify``: run the live probes (``tests/live``) and report claim -> result -> time.

The probes are ordinary pytest tests, one per claim ID; this module finds the cluster, runs pytest
on them in a subprocess (through :func:`infra.proc.run`) with a JUnit XML report, and turns that report
into a table for the terminal and a Markdown summary for GitHub Actions job summaries.

Which cluster: ``.infra/<env>/kubeconfig`` (written by ``infra up``) or else ``$KUBECONFIG``. The probes
scale, delete and load things, so unlike ``kubectl`` they never fall back to ``~/.kube/config`` on their own.
"""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET  # parses only the JUnit file our own pytest run wrote
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from infra import proc
from infra.environments import get_environment
from infra.errors import ClusterUnavailableError, InfraError
from infra.kube import KubeTarget, ensure_reachable, env_kubeconfig, resolve_target
from infra.paths import TESTS_DIR, reports_dir
from infra.probes.claims import BY_ID, CLAIMS, ORDER, claim_id_of, normalise_ids
from infra.reports import append_step_summary

LIVE_TESTS = TESTS_DIR / "live"
PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"
# A claim's result is its worst test case's.
_SEVERITY = {PASSED: 0, SKIPPED: 1, FAILED: 2, ERROR: 3}
_ICONS = {PASSED: "✅", FAILED: "❌", ERROR: "💥", SKIPPED: "⏭️"}


# --- which cluster ------------------------------------------------------------------------------------


def locate_cluster(env: str) -> KubeTarget:
    """The cluster the probes of ``env`` run against, or :class:`ClusterUnavailableError` (exit 2).

    Shared by ``infra verify`` and ``tests/live/conftest.py`` so both agree on what "configured" means.
    """
    get_environment(env)
    own = env_kubeconfig(env)
    if not own.is_file() and not os.environ.get("KUBECONFIG"):
        raise ClusterUnavailableError(
            f"no cluster configured for the {env} environment (no {own}, KUBECONFIG not set)",
            f"run `infra up --env {env}` first, or set KUBECONFIG to a running lab cluster",
        )
    return resolve_target(env)


def require_cluster(env: str) -> KubeTarget:
    """:func:`locate_cluster`, then make sure the API server answers (else exit 2, not 31 skipped probes)."""
    target = locate_cluster(env)
    ensure_reachable(target)
    return target


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
    env: str, junit_path: Path, claim_ids: list[str], include_slow: bool, extra: list[str] | None = None
) -> list[str]:
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
    expression = selection_expression(claim_ids)
    if expression:
        argv += ["-k", expression]
    return [*argv, *(extra or [])]


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

    def count(self, outcome: str) -> int:
        return sum(1 for c in self.claims if c.outcome == outcome)

    @property
    def ok(self) -> bool:
        """All probed claims passed (skips allowed) and at least one claim was actually probed."""
        bad = any(c.outcome in (FAILED, ERROR) for c in self.claims) or any(
            c.outcome in (FAILED, ERROR) for c in self.unclaimed
        )
        return not bad and self.count(PASSED) > 0

    def summary_line(self) -> str:
        parts = [f"{self.count(o)} {o}" for o in (PASSED, FAILED, ERROR, SKIPPED) if self.count(o)]
        if self.ok:
            verdict = "every probed claim holds"
        elif self.count(FAILED) or self.count(ERROR) or self.unclaimed:
            verdict = "claims FAILED"
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
    not_run = [c.id for c in CLAIMS if c.id not in {r.claim for r in report.claims}]
    if not_run:
        lines += ["", f"Not run (deselected, slow, or filtered out): {', '.join(not_run)}"]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


def write_markdown(report: Report, path: Path) -> Path:
    """Write the summary, and append it to ``$GITHUB_STEP_SUMMARY`` when running in GitHub Actions."""
    text = render_markdown(report)
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
    progress: Callable[[str], None] | None = None,
) -> VerifyResult:
    """Run the live probes of ``env`` and build the report; bad input and no cluster raise before pytest."""
    say = progress or (lambda _line: None)
    get_environment(env)
    claim_ids = normalise_ids(only or [])
    check_applicable(env, claim_ids)
    target = require_cluster(env)
    say(f"probing the {env} cluster ({target.describe()})")
    junit, markdown = report_paths(env)
    junit.parent.mkdir(parents=True, exist_ok=True)
    junit.unlink(missing_ok=True)
    environment = {"INFRA_ENV": env}
    if target.kubeconfig is not None:
        environment["KUBECONFIG"] = str(target.kubeconfig)
    result = proc.run(
        pytest_argv(env, junit, claim_ids, include_slow),
        env=environment,
        check=False,
        capture=False,
        hint="pytest comes with the project's environment (`pipenv sync --dev`)",
    )
    if not junit.is_file():
        raise InfraError(
            f"pytest exited {result.returncode} without writing {junit}",
            f"run `pytest {LIVE_TESTS.relative_to(TESTS_DIR.parent)} -m live` to see why",
        )
    report = parse_junit(junit, env)
    write_markdown(report, markdown)
    return VerifyResult(report, junit, markdown, result.returncode)
