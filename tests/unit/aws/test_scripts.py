"""The shell the stack runs: bastion user data and the kOps scripts, checked with a real bash."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra import renderers
from infra.envconfig import aws as envconfig
from infra.paths import STACKS_DIR

sys.path.insert(0, str(STACKS_DIR / "aws"))
from aws_lab import cluster as scripts

CFG = envconfig.parse({"sshCidr": "198.18.0.7/32"})
BUCKET = "lab-kops-state-abc"
USER_DATA = renderers.bastion_user_data(CFG)


def _bash(script: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=cwd, check=False)


@pytest.mark.parametrize(
    "script",
    [
        USER_DATA,
        scripts.apply_script(CFG, BUCKET),
        scripts.delete_script(CFG, BUCKET),
        scripts.kubeconfig_script(CFG, BUCKET),
        scripts.nodes_script(CFG, BUCKET),
    ],
    ids=["user-data", "apply", "delete", "kubeconfig", "nodes"],
)
def test_scripts_are_valid_bash(script: str) -> None:
    result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_user_data_pins_every_tool_with_its_checksum() -> None:
    fetched = re.findall(r"^fetch (\S+) \S+ ([0-9a-f]{64})$", USER_DATA, flags=re.MULTILINE)
    assert fetched == [
        ("https://artifacts.k8s.io/binaries/kops/1.35.1/linux/amd64/kops", CFG.kops.sha256),
        (f"https://dl.k8s.io/release/v{CFG.kubectl.version}/bin/linux/amd64/kubectl", CFG.kubectl.sha256),
        (f"https://get.helm.sh/helm-v{CFG.helm.version}-linux-amd64.tar.gz", CFG.helm.sha256),
    ]
    assert USER_DATA.rstrip().endswith("touch /var/lib/lab-bastion-ready")  # only after every check passed


def test_user_data_waits_for_the_dpkg_lock() -> None:
    """On a fresh Ubuntu instance unattended-upgrades may hold the dpkg lock when user data runs."""
    apt = [line for line in USER_DATA.splitlines() if line.startswith("apt-get")]
    assert len(apt) == 2
    assert all("-o DPkg::Lock::Timeout=" in line for line in apt)


def _fetch_function() -> str:
    match = re.search(r"^fetch\(\) \{.*?^\}$", USER_DATA, flags=re.MULTILINE | re.DOTALL)
    assert match, "user data defines fetch()"
    return match.group(0)


@pytest.mark.parametrize("tampered", [False, True])
def test_fetch_refuses_a_download_whose_checksum_differs(tmp_path: Path, tampered: bool) -> None:
    """Run the user data's own fetch() on a file:// URL: a wrong sha256 must stop the script."""
    artifact = tmp_path / "kops"
    artifact.write_bytes(b"pretend binary")
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    if tampered:
        artifact.write_bytes(b"pretend binary, swapped on the way")
    fetch = f"fetch file://{artifact} {tmp_path}/out {digest}"
    script = f"set -euo pipefail\n{_fetch_function()}\n{fetch}\necho fetched"
    result = _bash(script)
    assert (result.returncode == 0) is (not tampered), result.stderr
    assert ("fetched" in result.stdout) is (not tampered)


def test_apply_script_order() -> None:
    script = scripts.apply_script(CFG, BUCKET)
    steps = [
        "cloud-init status --wait",
        "test -f /var/lib/lab-bastion-ready",
        "export KOPS_STATE_STORE=s3://lab-kops-state-abc",
        "export KOPS_CLUSTER_NAME=lab.k8s.local",
        "cat > ~/lab/kops-cluster.yaml",
        "kops create -f ~/lab/kops-cluster.yaml",
        "kops update cluster --yes",
        "kops export kubecfg --admin=8760h",
        "kops validate cluster --wait 25m",
    ]
    positions = [script.index(step) for step in steps]
    assert positions == sorted(positions)
    assert "kops replace -f ~/lab/kops-cluster.yaml" in script  # an update replaces the stored spec


def test_delete_script_removes_load_balancer_services_before_the_cluster() -> None:
    script = scripts.delete_script(CFG, BUCKET)
    assert script.index("kubectl delete svc") < script.index("kops delete cluster --yes")
    assert '@.spec.type=="LoadBalancer"' in script
    assert "cluster already deleted" in script  # a second destroy is not an error


def _run_delete_script(
    tmp_path: Path, kubectl_get: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The delete script with stub kops/kubectl/cloud-init on PATH; ``kubectl_get`` is the stub's answer
    to ``kubectl get``. Returns the run and the logged tool calls."""
    log = tmp_path / "calls.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marker = tmp_path / "ready"
    marker.touch()
    stubs = {
        "kops": f'echo "kops $*" >> {log}',
        "kubectl": f'echo "kubectl $*" >> {log}\nif [ "$1" = get ]; then {kubectl_get}; fi',
        "cloud-init": "exit 0",
    }
    for name, body in stubs.items():
        stub = bin_dir / name
        stub.write_text(f"#!/bin/bash\n{body}\n")
        stub.chmod(0o755)
    script = scripts.delete_script(CFG, BUCKET).replace("/var/lib/lab-bastion-ready", str(marker))
    result = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )
    return result, log.read_text().splitlines() if log.exists() else []


def test_delete_script_deletes_the_cluster_when_the_api_does_not_answer(tmp_path: Path) -> None:
    """Listing LoadBalancer Services is best effort: with pipefail and -e a failing `kubectl get` would
    end the script before `kops delete cluster`, and every `pulumi destroy` would fail the same way."""
    result, calls = _run_delete_script(tmp_path, "echo 'Unable to connect to the server' >&2; exit 1")
    assert result.returncode == 0, result.stderr
    assert not [c for c in calls if c.startswith("kubectl delete")]
    assert calls[-1] == "kops delete cluster --yes"


def test_delete_script_with_fake_tools(tmp_path: Path) -> None:
    """Run the delete script with stub kops/kubectl on PATH: services go first, then the cluster."""
    result, calls = _run_delete_script(tmp_path, 'printf "lab-nlb echo\\nlab-tls web-lb\\n"')
    assert result.returncode == 0, result.stderr
    deletes = [c for c in calls if c.startswith("kubectl delete")]
    assert deletes == [
        "kubectl delete svc -n lab-nlb echo --wait=true --timeout=300s",
        "kubectl delete svc -n lab-tls web-lb --wait=true --timeout=300s",
    ]
    assert calls[-1] == "kops delete cluster --yes"
    assert calls.index(deletes[-1]) < calls.index("kops delete cluster --yes")
