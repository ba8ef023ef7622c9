"""The live suite, run here without a cluster: one test per claim, every one skipped with the reason."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict

import pytest

from infra import verify as verifying
from infra.paths import REPO_ROOT
from infra.probes.claims import CLAIMS, claim_id_of


def _pytest(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "INFRA_ENV", "PYTEST_ADDOPTS")}
    env["INFRA_STATE_DIR"] = str(tmp_path / "state")  # no .infra/<env>/kubeconfig there
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(verifying.LIVE_TESTS), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def run_without_cluster(tmp_path_factory):
    """`pytest tests/live -m live` with no cluster configured: the process, its report, case properties."""
    tmp_path = tmp_path_factory.mktemp("live")
    junit = tmp_path / "junit.xml"
    done = _pytest(tmp_path, "-m", "live", "-q", f"--junitxml={junit}")
    properties = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in ET.parse(junit).getroot().iter("testcase")  # noqa: S314 - the report pytest just wrote
    }
    return done, verifying.parse_junit(junit, "local"), properties


def test_runs_green_with_everything_skipped(run_without_cluster):
    done, report, _ = run_without_cluster
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    cases = [case for claim in report.claims for case in claim.cases]
    assert cases
    assert {case.outcome for case in cases} == {"skipped"}
    assert all(case.message.startswith("no live cluster: no cluster configured") for case in cases)
    assert all("infra up --env local" in case.message for case in cases)
    assert not report.unclaimed


def test_every_claim_has_exactly_one_test_besides_slow_ones(run_without_cluster):
    _, report, properties = run_without_cluster
    functions: dict[str, set[str]] = defaultdict(set)
    for claim in report.claims:
        for case in claim.cases:
            assert properties[case.name]["claim"] == claim.claim
            if properties[case.name]["slow"] == "false":
                functions[claim.claim].add(case.name.split("[", 1)[0])
    assert sorted(functions) == sorted(c.id for c in CLAIMS)
    several = {claim: names for claim, names in functions.items() if len(names) != 1}
    assert not several, f"claims with more than one (non-slow) live test: {several}"


def test_slow_tests_are_only_the_hpa_scale_in(run_without_cluster):
    _, _, properties = run_without_cluster
    slow = sorted(name for name, props in properties.items() if props["slow"] == "true")
    assert slow == ["test_hpa_3_scales_in_after_load"]
    assert claim_id_of(slow[0]) == "HPA-3"
