"""`infra verify` on a real control plane with hollow nodes and no addons: fast, and every verdict explained.

The plane runs an API server, controllers, a scheduler and hollow nodes: pods are scheduled and reported
Running, but no container runs (no exec, logs, DNS, metrics or ingress). So the claims the control plane
decides (object state, scheduling, controllers, GitOps) must pass, and every claim that needs real pods, or
an addon that is not there, must say so at once instead of waiting out its deadline.

Like tests/cluster/test_gitops.py, the CLI runs as a user runs it (``.venv/bin/infra`` in a subprocess) with
its own state folder (``INFRA_STATE_DIR`` holding ``local/kubeconfig`` and ``local/outputs.json``) and a fake
``HOME``; the lab is reconciled into the plane first (``infra reconcile --no-wait``).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli import BIN, Cli, junit_cases
from plane import ControlPlane

REPO = Path(__file__).resolve().parents[2]
DECIDED_BY_THE_CONTROL_PLANE = ["ENV-1", "TLS-2", "STS-3", "STS-4", "QOS-1", "QOS-2", "HPA-1", "HPA-4"]
DECIDED_BY_THE_CONTROL_PLANE += ["GIT-1", "GIT-2", "GIT-3", "GIT-4"]
DECIDED_BY_THE_CONTROL_PLANE += ["CTL-1", "CTL-2", "CTL-3", "CTL-4", "CTL-5", "CTL-6", "CTL-9"]
# Verify's own goal on a cluster without addons is 5 minutes; here (nothing waits out a deadline) far less.
WHOLE_RUN_BOUND_S = 300


@pytest.fixture(scope="module")
def lab(plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """The local lab reconciled into the plane, as `infra up` would leave its state folder; removed after the
    module, without waiting (the real-node tests that come later reconcile the lab anew)."""
    made = Cli.for_env(plane, tmp_path_factory.mktemp("verify"))
    done = made.infra("reconcile", "--env", "local", "--no-wait", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    yield made
    made.remove_lab(wait=False)


@dataclass
class Run:
    done: subprocess.CompletedProcess[str]
    seconds: float
    rows: dict[str, tuple[str, str]]
    cases: dict[str, tuple[str, float, str]]


@pytest.fixture(scope="module")
def whole_run(lab: Cli) -> Run:
    """One `infra verify --env local --kubeconfig <plane>`: every claim, as a user runs it.

    One run answers every question below (CI's time is better spent than on three runs of the same probes).
    """
    done, seconds = lab.timed("verify", "--env", "local", "--kubeconfig", str(lab.plane.kubeconfig))
    cases = junit_cases(lab.state / "reports" / "verify-local.xml")
    print(f"infra verify --env local on the addon-less plane: {seconds:.0f}s")
    for line in done.stdout.splitlines():  # where the time went (shown with pytest -s)
        if line.startswith(("prerequisite ", "probing side by side", "verified in")) or ": done in " in line:
            print(f"  {line}")
    return Run(done, seconds, lab.report(), cases)


def test_claims_the_control_plane_decides_pass(lab: Cli, whole_run: Run) -> None:
    rows = whole_run.rows
    for claim in DECIDED_BY_THE_CONTROL_PLANE:
        assert rows[claim][0] == "passed", (claim, rows[claim], whole_run.done.stdout[-4000:])
    assert lab.plane.server in whole_run.done.stdout.splitlines()[0], (
        "the cluster is named before anything runs"
    )


def test_everything_else_is_blocked_or_failed_at_once_with_its_cause(whole_run: Run) -> None:
    others = [c for c in _needing_pods_or_addons() if c not in DECIDED_BY_THE_CONTROL_PLANE]
    rows = whole_run.rows
    assert whole_run.done.returncode == 1, whole_run.done.stdout[-4000:]
    assert set(others) <= set(rows)
    for claim in others:
        result, detail = rows[claim]
        if result == "blocked":
            assert detail.startswith(("needs real pods:", "blocked by")), (claim, detail)
        else:  # an addon's own claim: not installed, said at once
            assert claim.startswith("ADD-"), (claim, result, detail)
            assert result == "failed", (claim, result, detail)
            assert f"{claim} prerequisite check:" in detail, (claim, detail)
    assert rows["STS-1"][1].startswith("needs real pods: the nodes run no containers")
    assert "ADD-1 prerequisite check: APIService v1beta1.metrics.k8s.io does not exist" in rows["ADD-1"][1]
    assert "no ingress-nginx controller pod" in rows["ADD-2"][1]
    assert rows["TLS-3"][1].startswith("needs real pods:")  # its ADD-2 failed too: pods are said first
    for claim in ("CTL-7", "CTL-8", "CTL-10"):
        assert rows[claim] == ("blocked", rows[claim][1]), (claim, rows[claim])
    slow = {name: t for name, (outcome, t, _) in whole_run.cases.items() if outcome != "passed" and t > 10}
    assert not slow, f"a blocked or failed claim waited instead of saying why at once: {slow}"


def test_the_whole_verify_on_a_cluster_without_addons_finishes_well_within_its_goal(whole_run: Run) -> None:
    rows = whole_run.rows
    unexplained = {c: r for c, r in rows.items() if r[0] not in ("passed", "blocked", "failed", "skipped")}
    assert not unexplained
    assert all(rows[c][0] == "skipped" for c in rows if c.startswith("NLB-") or c == "ADD-4")
    assert whole_run.seconds < WHOLE_RUN_BOUND_S, f"infra verify took {whole_run.seconds:.0f}s"


def test_the_probes_left_the_lab_as_git_has_it(lab: Cli, whole_run: Run) -> None:
    """After every probe (scales, labels, hand edits, prunes): no drift, and no node keeps a probe's label."""
    drift = lab.infra("drift", "--env", "local")
    assert drift.returncode == 0, drift.stdout[-3000:]
    page = (lab.state / "reports" / "verify-local.html").read_text(encoding="utf-8")
    assert '<section id="drift">' in page  # the run's one page: verify's claims, then drift's verdict
    nodes = json.loads(lab.plane.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert not [n["metadata"]["name"] for n in nodes if "kiamol" in n["metadata"].get("labels", {})]
    leftovers = json.loads(
        lab.plane.kubectl(
            "get", "pods", "-A", "-l", "app.kubernetes.io/name=infra-probe", "-o", "json"
        ).stdout
    )["items"]
    assert not [p for p in leftovers if not p["metadata"].get("deletionTimestamp")], leftovers


def test_a_probe_run_by_plain_pytest_on_hollow_nodes_skips_at_once(lab: Cli, tmp_path: Path) -> None:
    """CTL-7, CTL-8, CTL-10 by `pytest tests/live` (no verify gate before them): skipped with why, fast."""
    junit = tmp_path / "needs-pods.xml"
    env = {
        k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "HOME") and not k.startswith("INFRA_")
    }
    env.update(INFRA_ENV="local", INFRA_KUBECONFIG=str(lab.plane.kubeconfig), HOME=str(lab.home))
    result = subprocess.run(
        [
            str(BIN / "pytest"),
            "tests/live/test_ctl.py",
            *("-m", "live", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}"),
            *("-k", "test_ctl_7_ or test_ctl_8_ or test_ctl_10_"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    cases = junit_cases(junit)
    assert sorted(name.split("_")[2] for name in cases) == ["10", "7", "8"], sorted(cases)
    for name, (outcome, seconds, message) in cases.items():
        assert outcome == "skipped", f"{name}: {outcome} {message}"
        assert "needs real pods: the nodes run no containers" in message, f"{name}: {message}"
        assert seconds < 10, f"{name} took {seconds:.1f}s to skip"


def _needing_pods_or_addons() -> list[str]:
    """Local claims that need running containers or rest on an addon or DNS (the others the plane decides)."""
    from infra.labs import CLAIMS

    return [c.id for c in CLAIMS if c.applies_to("local") and (c.needs_pods or c.depends_on)]
