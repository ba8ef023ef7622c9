"""The controller lab (CTL) on a real control plane: the claims its controllers and scheduler decide.

The lab's objects, rendered for the local environment (ownership labels included), and its run-time Secret
are applied into the session's plane the way reconcile applies them (server-side, field manager ``infra``).
Then
``infra verify --only CTL-1,...`` runs as a user runs it, against the plane's kubeconfig, with its own state
folder and HOME. CTL-1..6 and CTL-9 need only the API server, the controllers and the scheduler; CTL-7, CTL-8
and CTL-10 need running containers, which hollow nodes do not have: their probes must say so and skip at
once rather than wait out their deadlines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from plane import ControlPlane

REPO = Path(__file__).resolve().parents[2]
INFRA = Path(sys.executable).parent / "infra"
PYTEST = Path(sys.executable).parent / "pytest"
CONTROL_PLANE_CLAIMS = ("CTL-1", "CTL-2", "CTL-3", "CTL-4", "CTL-5", "CTL-6", "CTL-9")
NEEDS_PODS = ("test_ctl_7_", "test_ctl_8_", "test_ctl_10_")
NAMESPACES = ("lab-ctl", "lab-ctl-peer")
VERIFY = (str(INFRA), "verify", "--env", "local", "--only")
LIVE_PYTEST = (str(PYTEST), "tests/live/test_ctl.py", "-m", "live", "-q", "-p", "no:cacheprovider")
VERIFY_BUDGET = 180  # seconds: the lab's promise on kind holds here too


def _environment(state: Path, home: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "HOME", "INFRA_KUBECONFIG")}
    return {**base, "INFRA_STATE_DIR": str(state), "HOME": str(home), "NO_COLOR": "1"}


@pytest.fixture(scope="module")
def ctl_lab(plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The CTL lab applied to the plane and rolled out; returns the environment its commands run in."""
    if not (plane.node_names and plane.has["kube-controller-manager"] and plane.has["kube-scheduler"]):
        pytest.skip("needs kube-controller-manager, kube-scheduler and kubemark in KUBEBUILDER_ASSETS")
    from infra.gitops.desired import dump, render_desired
    from infra.probes import ctl
    from infra.secrets import ctl_secret

    objects = ctl.lab_objects(render_desired("local").objects, NAMESPACES)
    assert len(objects) >= 15, f"the CTL lab rendered {len(objects)} objects"
    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    apply = ("apply", "--server-side", "--field-manager=infra", "--force-conflicts", "-f", "-")
    plane.kubectl(*apply, input=dump(namespaces))
    for namespace in NAMESPACES:  # pods need the namespace's default ServiceAccount
        _wait(lambda n=namespace: plane.exists(f"/api/v1/namespaces/{n}/serviceaccounts/default"), 30)
    plane.kubectl(*apply, input=dump([*objects, ctl_secret()]))  # the run-time Secret, as reconcile makes it
    for deployment in ("pi-web", "pi-web-recreate", "config-demo"):
        plane.kubectl(
            "-n", "lab-ctl", "rollout", "status", f"deployment/{deployment}", "--timeout=90s", timeout=120
        )
    env = _environment(tmp_path_factory.mktemp("state"), tmp_path_factory.mktemp("home"))
    return env


def _wait(ready, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, f"not ready after {seconds}s"
        time.sleep(0.2)


def _cases(junit: Path) -> dict[str, tuple[str, float, str]]:
    """Test name -> (outcome, seconds, message) from a pytest JUnit report."""
    cases = {}
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314 - our own pytest run's report
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            found = case.find(tag)
            if found is not None:
                outcome, message = tag, found.get("message", "")
        cases[case.get("name", "")] = (outcome, float(case.get("time", 0)), message)
    return cases


def test_control_plane_claims_hold(plane: ControlPlane, ctl_lab: dict[str, str], record_property) -> None:
    """`infra verify --only CTL-1..6,CTL-9 --kubeconfig <plane>` passes every case within the lab's budget."""
    started = time.monotonic()
    result = subprocess.run(
        [*VERIFY, ",".join(CONTROL_PLANE_CLAIMS), "--kubeconfig", str(plane.kubeconfig)],
        env=ctl_lab,
        capture_output=True,
        text=True,
        timeout=VERIFY_BUDGET + 300,
        check=False,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
    )
    took = time.monotonic() - started
    record_property("verify_seconds", f"{took:.1f}")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    report = Path(ctl_lab["INFRA_STATE_DIR"]) / "reports" / "verify-local.md"
    text = report.read_text()
    for claim in CONTROL_PLANE_CLAIMS:
        row = next((line for line in text.splitlines() if line.startswith(f"| {claim} |")), None)
        assert row is not None, f"{claim} is not in the report:\n{text}"
        assert "passed" in row, row
    assert took < VERIFY_BUDGET, f"verifying {len(CONTROL_PLANE_CLAIMS)} claims took {took:.0f}s"
    sys.stderr.write(f"\nCTL control-plane claims verified in {took:.1f}s\n")


def test_claims_that_need_containers_skip_at_once(
    plane: ControlPlane, ctl_lab: dict[str, str], tmp_path
) -> None:
    """CTL-7, CTL-8 and CTL-10 run by plain pytest on hollow nodes: skipped with the reason, in seconds."""
    junit = tmp_path / "needs-pods.xml"
    expression = " or ".join(NEEDS_PODS)
    result = subprocess.run(
        [*LIVE_PYTEST, "-k", expression, f"--junitxml={junit}"],
        env={**ctl_lab, "INFRA_ENV": "local", "INFRA_KUBECONFIG": str(plane.kubeconfig)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    cases = _cases(junit)
    assert sorted(name.split("_")[2] for name in cases) == ["10", "7", "8"], sorted(cases)
    for name, (outcome, seconds, message) in cases.items():
        assert outcome == "skipped", f"{name}: {outcome} {message}"
        assert "needs real pods: the nodes run no containers" in message, f"{name}: {message}"
        assert seconds < 10, f"{name} took {seconds:.1f}s to skip"


def test_the_probes_left_the_lab_as_git_has_it(plane: ControlPlane, ctl_lab: dict[str, str]) -> None:
    """After the probes: no node keeps the label they add, and the scaled objects are back at git's counts."""
    nodes = json.loads(plane.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert not [n["metadata"]["name"] for n in nodes if "kiamol" in n["metadata"].get("labels", {})]

    def get(*args: str) -> dict:
        return json.loads(plane.kubectl("-n", "lab-ctl", "get", *args, "-o", "json").stdout)

    assert get("deployment", "pi-web")["spec"]["replicas"] == 2
    assert get("replicaset", "whoami-web")["spec"]["replicas"] == 3
    template = get("deployment", "pi-web")["spec"]["template"]["metadata"]
    assert "infra.lab/probe" not in (template.get("annotations") or {}), template
    leftovers = get("pods", "-l", "app.kubernetes.io/name=infra-probe")["items"]
    assert not [p for p in leftovers if not p["metadata"].get("deletionTimestamp")], leftovers
