"""The nfs_server role run for real on this machine (local connection), its files redirected to throwaway
directories, and checked with testinfra's local backend.

One inventory holds a host per scenario (kernel flavor, ganesha flavor, role disabled, bad flavor), each with
its own root, so three ansible-playbook runs cover them all: check mode on fresh roots, converge, converge
again. When NFS-Ganesha is installed (``apt-get install nfs-ganesha nfs-ganesha-vfs``) the ganesha host
also starts the daemon the role manages, and a userspace NFSv4 client (``libnfs-utils``' nfs-cp) writes
through the export; otherwise those tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import testinfra
import yaml

GANESHA = shutil.which("ganesha.nfsd")
NFS_CP = shutil.which("nfs-cp")
SCENARIOS = ("kernel", "ganesha", "disabled", "badflavor")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _host_vars(root: Path, **extra: Any) -> dict[str, Any]:
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "lab_nfs_path": str(root / "exports" / "k8s"),
        "nfs_server_manage_packages": False,
        "nfs_server_manage_service": False,
        "nfs_server_kernel_exports_file": str(root / "etc" / "exports.d" / "k8s-labs.exports"),
        "nfs_server_ganesha_config_file": str(root / "etc" / "ganesha" / "ganesha.conf"),
        "nfs_server_ganesha_pid_file": str(root / "run" / "ganesha.pid"),
        "nfs_server_ganesha_log_file": str(root / "log" / "ganesha.log"),
        **extra,
    }


@pytest.fixture(scope="module")
def host() -> Any:
    return testinfra.get_host("local://")


@pytest.fixture(scope="module")
def lab(ansible: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("nfs-server")
    roots = {name: base / name for name in SCENARIOS}
    live = bool(GANESHA) and _port_free(2049)
    hosts = {
        "kernel": _host_vars(
            roots["kernel"], nfs_server_flavor="kernel", nfs_server_allowed_clients="172.30.0.0/16"
        ),
        "ganesha": _host_vars(
            roots["ganesha"],
            nfs_server_flavor="ganesha",
            nfs_server_manage_service=live,
            nfs_server_allowed_clients="127.0.0.1/32",
            addons_wait_retries=3,
            addons_wait_delay=5,
        ),
        "disabled": _host_vars(roots["disabled"], nfs_server_enabled=False),
        "badflavor": _host_vars(roots["badflavor"], nfs_server_flavor="zfs"),
    }
    data = ansible.load_fixture("local")
    data["all"]["children"] = {"nfs_server": {"hosts": hosts}}
    inventory = ansible.write_inventory(base / "inventory.yml", data)
    state: dict[str, Any] = {"roots": roots, "live": live, "inventory": inventory}
    try:
        state["check_fresh"] = ansible.run("nfs_server.yml", inventory, None, "--check", "--diff")
        state["created_in_check"] = sorted(str(p) for r in roots.values() for p in r.rglob("*"))
        state["first"] = ansible.run("nfs_server.yml", inventory)
        state["second"] = ansible.run("nfs_server.yml", inventory)
        yield state
    finally:
        pid_file = roots["ganesha"] / "run" / "ganesha.pid"
        if pid_file.exists():  # stop exactly the daemon these tests started, by its pid
            pid = int(pid_file.read_text().split()[0])
            comm = Path(f"/proc/{pid}/comm")
            if comm.exists() and comm.read_text().strip() == "ganesha.nfsd":
                os.kill(pid, signal.SIGTERM)


@pytest.mark.parametrize("scenario", ["kernel", "ganesha"])
def test_check_mode_reports_changes_and_makes_none(lab: dict[str, Any], scenario: str) -> None:
    run = lab["check_fresh"]
    assert not run.failed(scenario), run.output
    assert run.changed(scenario) >= 2  # export directory + exports/config file would be created
    assert lab["created_in_check"] == []


def test_kernel_export_is_managed(lab: dict[str, Any], host: Any) -> None:
    assert not lab["first"].failed("kernel"), lab["first"].output
    root = lab["roots"]["kernel"]
    export = host.file(str(root / "exports" / "k8s"))
    assert export.is_directory
    assert export.mode == 0o755
    exports = host.file(str(root / "etc" / "exports.d" / "k8s-labs.exports"))
    assert exports.mode == 0o644
    expected = f"{root}/exports/k8s 172.30.0.0/16(rw,sync,no_subtree_check,no_root_squash)"
    assert expected in exports.content_string.splitlines()


def test_ganesha_config_exports_the_directory_to_the_clients(lab: dict[str, Any], host: Any) -> None:
    assert not lab["first"].failed("ganesha"), lab["first"].output
    root = lab["roots"]["ganesha"]
    config = host.file(str(root / "etc" / "ganesha" / "ganesha.conf"))
    assert config.contains(f'Path = "{root}/exports/k8s";')
    assert config.contains("Clients = 127.0.0.1/32;")
    assert config.contains("Squash = No_Root_Squash;")
    assert host.file(str(root / "exports" / "k8s")).is_directory


@pytest.mark.parametrize("scenario", ["kernel", "ganesha", "disabled"])
def test_second_run_changes_nothing(lab: dict[str, Any], scenario: str) -> None:
    assert not lab["second"].failed(scenario), lab["second"].output
    assert lab["second"].changed(scenario) == 0


def test_disabled_role_touches_nothing(lab: dict[str, Any]) -> None:
    assert lab["first"].changed("disabled") == 0
    assert not lab["roots"]["disabled"].exists()


def test_bad_flavor_fails_before_any_change(lab: dict[str, Any]) -> None:
    assert lab["first"].failed("badflavor")
    assert lab["first"].returncode != 0
    assert "nfs_server_flavor must be kernel or ganesha (got 'zfs')" in lab["first"].output
    assert not lab["roots"]["badflavor"].exists()


@pytest.mark.skipif(
    not GANESHA, reason="NFS-Ganesha is not installed (apt-get install nfs-ganesha nfs-ganesha-vfs)"
)
def test_ganesha_daemon_serves_nfs(lab: dict[str, Any], host: Any) -> None:
    if not lab["live"]:
        pytest.skip("port 2049 is already in use on this machine")
    assert host.socket("tcp://2049").is_listening
    pid = (lab["roots"]["ganesha"] / "run" / "ganesha.pid").read_text().split()[0]
    assert host.file(f"/proc/{pid}/comm").content_string.strip() == "ganesha.nfsd"


@pytest.mark.skipif(
    not GANESHA, reason="NFS-Ganesha is not installed (apt-get install nfs-ganesha nfs-ganesha-vfs)"
)
def test_a_daemon_the_run_starts_gets_no_sighup(lab: dict[str, Any]) -> None:
    """The first run writes the config (notifying the reload) and starts Ganesha, which reads that file.
    A SIGHUP sent right after the start can land before ganesha.nfsd blocks the signal (it writes its pid file
    first) and kill it: the reload must only reach a daemon that was running before the run."""
    if not lab["live"]:
        pytest.skip("port 2049 is already in use on this machine")
    first = lab["first"].tasks
    assert first["NFS Server | Start Ganesha"]["ganesha"]["changed"] is True
    assert first["NFS Server | Reload Ganesha exports"]["ganesha"]["changed"] is False


@pytest.mark.skipif(not (GANESHA and NFS_CP), reason="needs nfs-ganesha and libnfs-utils (nfs-cp) installed")
def test_a_client_writes_through_the_export(lab: dict[str, Any], tmp_path: Path, ansible: Any) -> None:
    """A userspace NFSv4 client writes a file; it appears in the exported directory (ADD-3 relies on it).
    Then the export is narrowed to another network: the role reloads Ganesha and the client is refused."""
    if not lab["live"]:
        pytest.skip("port 2049 is already in use on this machine")
    root = lab["roots"]["ganesha"]
    source = tmp_path / "hello.txt"
    source.write_text("hello from a client\n")
    url = f"nfs://127.0.0.1{root}/exports/k8s/pvc-test.txt?version=4"
    done = subprocess.run([NFS_CP, str(source), url], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert (root / "exports" / "k8s" / "pvc-test.txt").read_text() == "hello from a client\n"

    run = ansible.run(
        "nfs_server.yml",
        lab["inventory"],
        {"nfs_server_allowed_clients": "10.99.0.0/16"},
        "--limit",
        "ganesha",
    )
    assert not run.failed("ganesha"), run.output
    assert run.tasks["NFS Server | Reload Ganesha exports"]["ganesha"]["changed"] is True
    refused = subprocess.run(
        [NFS_CP, str(source), url.replace("pvc-test", "pvc-refused")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert refused.returncode != 0
    assert not (root / "exports" / "k8s" / "pvc-refused.txt").exists()


def test_kernel_server_is_managed_by_its_unit_not_its_alias(ansible: Any) -> None:
    """Debian and Ubuntu ship nfs-kernel-server.service as a symlink to nfs-server.service. For that alias
    `systemctl is-enabled` prints "alias", Ansible's service module treats it as disabled and runs
    `systemctl enable nfs-kernel-server` on every run, which systemctl refuses for an alias name: the first
    aws run would fail (or at best never reach changed=0). The role must name the unit itself."""
    tasks = yaml.safe_load((ansible.playbooks / "roles" / "nfs_server" / "tasks" / "kernel.yml").read_text())
    services = [t["ansible.builtin.service"] for t in tasks if "ansible.builtin.service" in t]
    assert services, "the kernel flavor starts no service"
    assert [s["name"] for s in services] == ["nfs-server"]
    assert all(s.get("enabled") is True and s.get("state") == "started" for s in services)


def test_check_mode_on_a_host_without_python_reports_and_stops(
    ansible: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh local NFS container has no Python. Check mode skips the raw install, so no module can run
    there: the role says what a real run would install and stops for that host instead of failing."""
    root = tmp_path / "fresh"
    # The shell every command on the host runs in (the local connection's executable) finds no python3
    no_python = tmp_path / "sh-without-python"
    no_python.write_text('#!/bin/sh\nPATH=/nonexistent exec /bin/sh "$@"\n')
    no_python.chmod(0o755)
    monkeypatch.setenv("ANSIBLE_EXECUTABLE", str(no_python))
    host = _host_vars(
        root,
        nfs_server_flavor="ganesha",
        nfs_server_manage_packages=True,
        nfs_server_allowed_clients="127.0.0.1/32",
        ansible_python_interpreter=str(tmp_path / "no" / "python3"),  # any module would fail here
    )
    data = ansible.load_fixture("local")
    data["all"]["children"] = {"nfs_server": {"hosts": {"fresh": host}}}
    inventory = ansible.write_inventory(tmp_path / "inventory.yml", data)
    run = ansible.run("nfs_server.yml", inventory, None, "--check")
    assert not run.failed("fresh"), run.output
    report = run.tasks["NFS Server | Report what a real run would install"]["fresh"]
    assert "installs python3 and nfs-ganesha, nfs-ganesha-vfs" in report["msg"]
    assert "NFS Server | Install the server packages" not in run.tasks
    assert not root.exists()
