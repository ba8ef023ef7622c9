"""The live suite, run here without a cluster: one test per claim, every one skipped with the reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict

import pytest

from infra import verify as verifying
from infra.paths import REPO_ROOT
from infra.probes.claims import CLAIMS, claim_id_of

_OURS = (
    "KUBECONFIG",
    "INFRA_ENV",
    "INFRA_KUBECONFIG",
    "INFRA_CONTEXT",
    "INFRA_PREREQUISITES",
    "PYTEST_ADDOPTS",
)


def _pytest(tmp_path, *args: str, **variables: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in _OURS}
    env["INFRA_STATE_DIR"] = str(tmp_path / "state")  # no .infra/<env>/kubeconfig there
    env["HOME"] = str(tmp_path / "home")  # and no ~/.kube/config of the developer's
    env.update(variables)
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
    assert all(case.message.startswith("no live cluster: no cluster named for the local") for case in cases)
    assert all("infra up --env local" in case.message for case in cases)
    assert all("INFRA_KUBECONFIG=FILE" in case.message for case in cases)
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


def _kubeconfig(server: str) -> str:
    cluster = {"name": "c", "cluster": {"server": server}}
    context = {"name": "c", "context": {"cluster": "c", "user": "u"}}
    user = {"name": "u", "user": {"token": "t"}}
    config = {"apiVersion": "v1", "kind": "Config", "clusters": [cluster], "contexts": [context]}
    return json.dumps({**config, "current-context": "c", "users": [user]})


def _junit_cases(path):
    return {
        case.get("name"): case
        for case in ET.parse(path).getroot().iter("testcase")  # noqa: S314 - the report pytest just wrote
    }


def test_kubeconfig_alone_is_never_probed_nor_the_users_kube_config(tmp_path):
    """The probes scale and delete: a $KUBECONFIG or ~/.kube/config naming a cluster is not a choice made
    for the lab. (Their server does not exist; the skip reason shows it was never tried.)"""
    kubeconfig = tmp_path / "home" / ".kube" / "config"
    kubeconfig.parent.mkdir(parents=True)
    kubeconfig.write_text(_kubeconfig("https://127.0.0.1:1"))
    junit = tmp_path / "junit.xml"
    done = _pytest(
        tmp_path, "-m", "live", "-q", "-k", "test_env_1_", f"--junitxml={junit}", KUBECONFIG=str(kubeconfig)
    )
    assert done.returncode == 0, done.stdout[-2000:]
    (case,) = _junit_cases(junit).values()
    message = case.find("skipped").get("message")
    assert "no cluster named for the local environment" in message
    assert "127.0.0.1:1" not in message


def test_a_named_kubeconfig_is_the_one_probed(tmp_path):
    """INFRA_KUBECONFIG names the cluster (here one that does not answer: the skip says which)."""
    kubeconfig = tmp_path / "lab.kubeconfig"
    kubeconfig.write_text(_kubeconfig("https://127.0.0.1:9"))
    junit = tmp_path / "junit.xml"
    done = _pytest(
        tmp_path,
        "-m",
        "live",
        "-q",
        "-k",
        "test_env_1_",
        f"--junitxml={junit}",
        INFRA_KUBECONFIG=str(kubeconfig),
    )
    assert done.returncode == 0, done.stdout[-2000:]
    (case,) = _junit_cases(junit).values()
    message = case.find("skipped").get("message")
    assert "cannot reach the cluster" in message
    assert "https://127.0.0.1:9" in message
