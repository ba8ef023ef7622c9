"""infra.pulumi: the exact Pulumi commands, the file backend, and the passphrase handling."""

from __future__ import annotations

import json
import stat

import pytest

from infra import pulumi as pulumi_cli
from infra.contract import StackOutputs
from infra.environments import get_environment
from infra.errors import InfraError
from infra.paths import STACKS_DIR

LOCAL = get_environment("local")
ARGS = ["--stack", "local", "--cwd", str(STACKS_DIR / "local"), "--non-interactive"]


def test_up_selects_or_creates_the_stack_then_updates_without_preview(recorder, isolated_state):
    pulumi_cli.up(LOCAL)
    assert [c.argv for c in recorder.calls] == [
        ["pulumi", "stack", "select", "--create", "--secrets-provider", "passphrase", *ARGS],
        ["pulumi", "up", "--yes", "--skip-preview", *ARGS],
    ]
    for call in recorder.calls:
        assert call.env["PULUMI_BACKEND_URL"] == (isolated_state / "pulumi").resolve().as_uri()
        assert call.env["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(isolated_state / "pulumi-passphrase")
    assert recorder.calls[1].capture is False  # the update streams to the terminal
    assert (isolated_state / "pulumi").is_dir()


def test_the_generated_passphrase_is_private_and_made_once(recorder, isolated_state):
    pulumi_cli.up(LOCAL)
    passphrase = isolated_state / "pulumi-passphrase"
    first = passphrase.read_text()
    assert stat.S_IMODE(passphrase.stat().st_mode) == 0o600
    assert len(first.strip()) >= 40
    pulumi_cli.up(LOCAL)
    assert passphrase.read_text() == first  # losing it would make the state's secrets unreadable


@pytest.mark.parametrize("variable", ["PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"])
def test_a_passphrase_from_the_environment_wins(recorder, isolated_state, monkeypatch, variable):
    monkeypatch.setenv(variable, "from-the-user")
    pulumi_cli.up(LOCAL)
    assert all("PULUMI_CONFIG_PASSPHRASE_FILE" not in c.env for c in recorder.calls)  # theirs passes through
    assert not (isolated_state / "pulumi-passphrase").exists()


def test_outputs_are_read_with_secrets_and_checked_against_the_contract(recorder, recorded_outputs):
    outputs = pulumi_cli.outputs(LOCAL)
    assert recorder.calls[0].argv == ["pulumi", "stack", "output", "--json", "--show-secrets", *ARGS]
    assert isinstance(outputs, StackOutputs)
    assert outputs.kubeconfig == recorded_outputs["kubeconfig"]
    assert outputs.nodes == ["lab-control-plane", "lab-worker", "lab-worker2"]


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [
        ("not json", "printed no JSON"),
        ("[]", "did not print an object"),
        (json.dumps({"environment": "local"}), "stack outputs are missing"),
    ],
)
def test_bad_outputs_are_a_clear_error(recorder, stdout, expected):
    recorder.on("pulumi stack output", stdout=stdout)
    with pytest.raises(InfraError, match=expected):
        pulumi_cli.outputs(LOCAL)


def test_destroy_runs_only_when_the_stack_exists(recorder):
    assert pulumi_cli.destroy(LOCAL) is True
    assert [c.argv for c in recorder.calls] == [
        ["pulumi", "stack", "ls", "--json", "--cwd", str(STACKS_DIR / "local"), "--non-interactive"],
        ["pulumi", "destroy", "--yes", "--skip-preview", *ARGS],
    ]


@pytest.mark.parametrize("listing", [[], [{"name": "aws"}], [{"name": "organization/lab/local-2"}]])
def test_destroy_without_a_stack_does_nothing(recorder, listing):
    recorder.on("pulumi stack ls", stdout=json.dumps(listing))
    assert pulumi_cli.destroy(LOCAL) is False
    assert [c.argv[:3] for c in recorder.calls] == [["pulumi", "stack", "ls"]]


def test_a_fully_qualified_stack_name_counts(recorder):
    recorder.on("pulumi stack ls", stdout=json.dumps([{"name": "organization/lab/local"}]))
    assert pulumi_cli.stack_exists(LOCAL) is True
