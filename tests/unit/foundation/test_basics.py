"""The shared foundation: exit codes, private files, the output contract, the process boundary."""

from __future__ import annotations

import os
import stat

import pytest
from typer.testing import CliRunner

from infra import contract, proc
from infra.cli import app, main
from infra.errors import InfraError, ToolMissingError
from infra.paths import write_private


def test_help_lists_every_command():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("plan", "check", "up", "down", "verify", "drift", "reconcile"):
        assert command in result.output


def test_version_prints_the_installed_release():
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])
    assert (result.exit_code, result.output) == (0, f"infra {version('infra')}\n")


def test_help_shows_no_type_beside_flags():
    assert "<bool>" not in CliRunner().invoke(app, ["--help"]).output


def test_unknown_command_is_a_usage_error():
    assert main(["no-such-command"]) == 2


def test_write_private_is_0600_even_over_a_wider_file(tmp_path):
    target = tmp_path / "secrets" / "key"
    target.parent.mkdir()
    target.write_text("old")
    target.chmod(0o644)
    write_private(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == "new"


RAW_OUTPUTS = {
    "environment": "local",
    "kubeconfig": "apiVersion: v1\nkind: Config\n",
    "context": "kind-lab",
    "ingress_address": "127.0.0.1",
    "ingress_host": "127-0-0-1.nip.io",
    "ingress_http_port": 8080,
    "ingress_https_port": 8443,
    "nfs_server": "172.18.0.10",
    "nfs_path": "/exports",
    "nodes": ["lab-control-plane", "lab-worker", "lab-worker2"],
    "docker_hosts": {
        "kind_nodes": ["lab-control-plane", "lab-worker", "lab-worker2"],
        "nfs_server": ["lab-nfs"],
    },
}


def test_outputs_parse_and_hide_the_kubeconfig():
    outputs = contract.parse_outputs(RAW_OUTPUTS)
    assert outputs.nodes[0] == "lab-control-plane"
    assert "kubeconfig" not in outputs.public()
    assert set(outputs.public()) == set(contract.keys_of("local")) - {"kubeconfig"}
    assert outputs.public()["docker_hosts"]["nfs_server"] == ["lab-nfs"]  # the extras are saved too


def test_both_stacks_share_the_core_keys_and_differ_only_in_extras():
    assert contract.keys_of("local")[: len(contract.OUTPUT_KEYS)] == contract.OUTPUT_KEYS
    assert contract.keys_of("aws")[: len(contract.OUTPUT_KEYS)] == contract.OUTPUT_KEYS
    assert not set(contract.EXTRA_KEYS["local"]) & set(contract.OUTPUT_KEYS)
    assert not set(contract.EXTRA_KEYS["aws"]) & set(contract.OUTPUT_KEYS)


def test_outputs_missing_an_extra_name_it():
    raw = {k: v for k, v in RAW_OUTPUTS.items() if k != "docker_hosts"}
    with pytest.raises(InfraError, match="local stack outputs are missing docker_hosts") as caught:
        contract.parse_outputs(raw)
    assert "--from pulumi" in caught.value.hint


def test_an_extra_of_the_wrong_shape_is_refused():
    raw = {**RAW_OUTPUTS, "docker_hosts": {"kind_nodes": "lab-worker"}}  # a string, not a list
    with pytest.raises(InfraError, match="'docker_hosts' is"):
        contract.parse_outputs(raw)


def test_asking_for_another_environments_extra_is_a_key_error():
    with pytest.raises(KeyError, match="no 'bastion_address'"):
        contract.parse_outputs(RAW_OUTPUTS).exported("bastion_address")


def test_outputs_missing_a_key_name_it():
    raw = {k: v for k, v in RAW_OUTPUTS.items() if k != "nfs_server"}
    with pytest.raises(InfraError, match="nfs_server"):
        contract.parse_outputs(raw)


def test_outputs_carry_the_ingress_ports_as_ints():
    outputs = contract.parse_outputs(RAW_OUTPUTS)
    assert (outputs.ingress_http_port, outputs.ingress_https_port) == (8080, 8443)
    # Pulumi carries numbers as doubles: an integral one is the same port
    doubled = contract.parse_outputs({**RAW_OUTPUTS, "ingress_https_port": 443.0})
    assert doubled.ingress_https_port == 443
    assert type(doubled.ingress_https_port) is int


@pytest.mark.parametrize("key", ["ingress_http_port", "ingress_https_port"])
@pytest.mark.parametrize("value", ["8080", 0, 65536, -1, 80.5, True, None, [80]])
def test_outputs_refuse_a_port_that_is_not_one(key, value):
    with pytest.raises(InfraError, match=f"stack output '{key}' is .* not a port number") as caught:
        contract.parse_outputs({**RAW_OUTPUTS, key: value})
    assert "pulumi up" in caught.value.hint


@pytest.mark.parametrize(
    ("address", "host"), [("127.0.0.1", "127-0-0-1.nip.io"), ("3.4.5.6", "3-4-5-6.nip.io")]
)
def test_ingress_host_uses_dashes(address, host):
    assert contract.ingress_host_for(address) == host


def test_run_captures_output_and_fails_with_the_command():
    assert proc.run(["sh", "-c", "echo hi"]).stdout == "hi\n"
    with pytest.raises(proc.CommandFailed, match=r"exited 3: boom"):
        proc.run(["sh", "-c", "echo boom >&2; exit 3"])


def test_run_of_a_missing_tool_names_it():
    with pytest.raises(ToolMissingError, match="no-such-tool-xyz"):
        proc.run(["no-such-tool-xyz", "--version"])


def test_run_prefers_the_toolkits_own_bin_to_path(isolated_state, monkeypatch):
    pinned, user = isolated_state.parent / "tools" / "bin", isolated_state.parent / "user-bin"
    for folder, says in ((pinned, "pinned"), (user, "user's")):
        folder.mkdir(parents=True)
        fake = folder / "lab-fake-helm"
        fake.write_text(f"#!/bin/sh\necho {says}\n")
        fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{user}{os.pathsep}{os.environ['PATH']}")
    result = proc.run(["lab-fake-helm"])
    assert (result.stdout.strip(), result.argv) == ("pinned", ["lab-fake-helm"])


def test_run_of_kubectl_is_the_locked_one_even_over_the_toolkits_bin(isolated_state):
    fake = isolated_state.parent / "tools" / "bin" / "kubectl"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\necho an-old-download\n")
    fake.chmod(0o755)
    assert proc.run(["kubectl", "version", "--client"]).stdout.startswith("Client Version: v1.36.")
