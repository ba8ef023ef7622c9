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
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from plane import ControlPlane

INFRA = Path(sys.executable).parent / "infra"
HOST = "127-0-0-1.nip.io"
DECIDED_BY_THE_CONTROL_PLANE = ["ENV-1", "TLS-2", "STS-3", "STS-4", "QOS-1", "QOS-2", "HPA-1", "HPA-4"]
DECIDED_BY_THE_CONTROL_PLANE += ["GIT-1", "GIT-2", "GIT-3", "GIT-4"]
# Verify's own goal on a cluster without addons is 5 minutes; here (nothing waits out a deadline) far less.
WHOLE_RUN_BOUND_S = 300
BLOCKED_RUN_BOUND_S = 90


@dataclass
class State:
    plane: ControlPlane
    state: Path
    home: Path

    def infra(self, *args: str, timeout: float = 600) -> tuple[subprocess.CompletedProcess[str], float]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("KUBECONFIG", "HOME") and not k.startswith("INFRA_")
        }
        env.update(INFRA_STATE_DIR=str(self.state), HOME=str(self.home), NO_COLOR="1", COLUMNS="200")
        started = time.monotonic()
        done = subprocess.run(
            [str(INFRA), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        return done, time.monotonic() - started

    def report(self) -> dict[str, tuple[str, str]]:
        """Claim -> (result, detail), from the Markdown summary verify wrote."""
        rows = {}
        for line in (self.state / "reports" / "verify-local.md").read_text(encoding="utf-8").splitlines():
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            if len(cells) == 5 and "-" in cells[0] and cells[0][:3].isupper():
                detail = re.sub(r"^\[[^\]]*\] ", "", cells[4])  # without the case's parameter: "[https-200] "
                rows[cells[0]] = (cells[1].split()[-1], detail)
        return rows


@pytest.fixture(scope="module")
def lab(plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> State:
    """The local lab reconciled into the plane, as `infra up` would leave its state folder."""
    state = tmp_path_factory.mktemp("state")
    home = tmp_path_factory.mktemp("home")
    own = state / "local"
    own.mkdir()
    shutil.copy(plane.kubeconfig, own / "kubeconfig")
    os.chmod(own / "kubeconfig", 0o600)
    (own / "outputs.json").write_text(json.dumps({"context": "cp", "ingress_host": HOST}))
    made = State(plane, state, home)
    done, _ = made.infra("reconcile", "--env", "local", "--no-wait", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return made


def test_claims_the_control_plane_decides_pass(lab: State) -> None:
    done, seconds = lab.infra(
        "verify",
        "--env",
        "local",
        "--only",
        ",".join(DECIDED_BY_THE_CONTROL_PLANE),
        "--kubeconfig",
        str(lab.plane.kubeconfig),
    )
    rows = lab.report()
    assert done.returncode == 0, f"{rows}\n{done.stdout[-6000:]}{done.stderr[-3000:]}"
    assert {claim: result for claim, (result, _) in rows.items()} == dict.fromkeys(
        DECIDED_BY_THE_CONTROL_PLANE, "passed"
    )
    assert lab.plane.server in done.stdout.splitlines()[0], "the cluster is named before anything runs"
    print(f"infra verify --only <{len(DECIDED_BY_THE_CONTROL_PLANE)} control-plane claims>: {seconds:.0f}s")


def test_everything_else_is_blocked_or_failed_at_once_with_its_cause(lab: State) -> None:
    others = [c for c in _needing_pods_or_addons() if c not in DECIDED_BY_THE_CONTROL_PLANE]
    done, seconds = lab.infra("verify", "--env", "local", "--only", ",".join(others))
    rows = lab.report()
    assert done.returncode == 1, done.stdout[-4000:] + done.stderr[-2000:]
    assert set(rows) == set(others)
    for claim, (result, detail) in rows.items():
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
    assert seconds < BLOCKED_RUN_BOUND_S, f"took {seconds:.0f}s"
    print(f"infra verify --only <{len(others)} claims needing pods or addons>: {seconds:.0f}s")


def test_the_whole_verify_on_a_cluster_without_addons_finishes_well_within_its_goal(lab: State) -> None:
    done, seconds = lab.infra("verify", "--env", "local")
    rows = lab.report()
    assert done.returncode == 1, done.stdout[-4000:]
    for claim in DECIDED_BY_THE_CONTROL_PLANE:
        assert rows[claim][0] == "passed", (claim, rows[claim])
    unexplained = {c: r for c, r in rows.items() if r[0] not in ("passed", "blocked", "failed", "skipped")}
    assert not unexplained
    assert all(rows[c][0] == "skipped" for c in rows if c.startswith("NLB-") or c == "ADD-4")
    assert seconds < WHOLE_RUN_BOUND_S, f"infra verify took {seconds:.0f}s"
    print(f"infra verify --env local on the addon-less plane: {seconds:.0f}s")
    for line in done.stdout.splitlines():  # where the time went (shown with pytest -s)
        if line.startswith(("prerequisite ", "probing side by side", "verified in")) or ": done in " in line:
            print(f"  {line}")


def _needing_pods_or_addons() -> list[str]:
    """Local claims that need running containers or rest on an addon or DNS (the others the plane decides)."""
    from infra.labs import CLAIMS

    return [c.id for c in CLAIMS if c.applies_to("local") and (c.needs_pods or c.depends_on)]
