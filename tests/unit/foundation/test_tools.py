"""Pinned tools: verified before anything lands in .tools/bin; missing prerequisites named at once."""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
import urllib.error
from dataclasses import replace

import pytest

from infra import preflight, tools
from infra.errors import ToolMissingError


def _tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _pin(monkeypatch, name: str, payload: bytes, plat: str = "linux-amd64") -> None:
    tool = tools.TOOLS[name]
    monkeypatch.setitem(tools.TOOLS, name, replace(tool, sha256={plat: hashlib.sha256(payload).hexdigest()}))


def test_every_tool_is_pinned_to_an_exact_version_and_https():
    for tool in tools.TOOLS.values():
        assert tool.version.startswith("v")
        assert tool.version.count(".") == 2
        assert tool.url_for("linux-amd64").startswith("https://")
        assert all(len(d) == 64 and int(d, 16) >= 0 for d in tool.sha256.values())


def test_urls_use_each_release_spelling():
    assert tools.TOOLS["pulumi"].url_for("linux-amd64").endswith("pulumi-v3.255.0-linux-x64.tar.gz")
    assert tools.TOOLS["kind"].url_for("darwin-arm64").endswith("/kind-darwin-arm64")


def test_install_plain_binary_after_checksum(monkeypatch):
    payload = b"\x7fELF fake kind"
    _pin(monkeypatch, "kind", payload)
    seen = []
    path = tools.install("kind", plat="linux-amd64", download=lambda url: seen.append(url) or payload)
    assert path.read_bytes() == payload
    assert path.stat().st_mode & 0o111
    assert seen == [tools.TOOLS["kind"].url_for("linux-amd64")]
    assert tools.find("kind") == path


def test_install_folder_member_installs_every_file(monkeypatch):
    archive = _tarball({"pulumi/pulumi": b"cli", "pulumi/pulumi-language-python": b"host", "README": b"x"})
    _pin(monkeypatch, "pulumi", archive)
    path = tools.install("pulumi", plat="linux-amd64", download=lambda url: archive)
    assert path.read_bytes() == b"cli"
    assert (path.parent / "pulumi-language-python").read_bytes() == b"host"
    assert not (path.parent / "README").exists()


def test_checksum_mismatch_installs_nothing(monkeypatch):
    _pin(monkeypatch, "kind", b"the real one")
    with pytest.raises(ToolMissingError, match="checksum mismatch"):
        tools.install("kind", plat="linux-amd64", download=lambda url: b"tampered")
    assert not (tools.bin_dir() / "kind").exists()


def test_download_failure_says_how_to_get_it(monkeypatch):
    _pin(monkeypatch, "kind", b"x")

    def offline(url):
        raise urllib.error.URLError("no route to host")

    with pytest.raises(ToolMissingError) as caught:
        tools.install("kind", plat="linux-amd64", download=offline)
    assert "could not be downloaded" in caught.value.message
    assert "kind.sigs.k8s.io" in caught.value.hint


def test_no_recorded_checksum_refuses_to_install():
    with pytest.raises(ToolMissingError, match="no pinned checksum"):
        tools.install("kind", plat="plan9-mips", download=lambda url: pytest.fail("must not download"))


def test_missing_archive_member_installs_nothing(monkeypatch):
    archive = _tarball({"other/file": b"x"})
    _pin(monkeypatch, "helm", archive)
    with pytest.raises(ToolMissingError, match="not found"):
        tools.install("helm", plat="linux-amd64", download=lambda url: archive)
    assert not (tools.bin_dir() / "helm").exists()


@pytest.fixture
def no_tools(monkeypatch):
    monkeypatch.setattr(tools, "find", lambda name: None)


def test_preflight_without_docker_names_everything_and_downloads_nothing(monkeypatch, no_tools):
    monkeypatch.setattr(
        preflight, "docker_problem", lambda: preflight.Problem("docker daemon", "start Docker")
    )
    monkeypatch.setitem(preflight.ENV_CHECKS, "local", preflight.docker_problem)
    start = time.monotonic()
    with pytest.raises(ToolMissingError) as caught:
        preflight.check("local", install=lambda name: pytest.fail(f"downloaded {name}"))
    assert time.monotonic() - start < 2
    for name in ("docker daemon", "kind", "kubectl", "helm", "pulumi"):
        assert name in caught.value.message
    assert "start Docker" in caught.value.hint


def test_preflight_with_docker_installs_missing_tools(monkeypatch, no_tools):
    monkeypatch.setitem(preflight.ENV_CHECKS, "local", lambda: None)
    installed = []
    assert preflight.check("local", install=installed.append) == list(preflight.TOOLS_BY_ENV["local"])
    assert installed == list(preflight.TOOLS_BY_ENV["local"])


def test_preflight_reports_a_tool_that_cannot_be_installed(monkeypatch, no_tools):
    monkeypatch.setitem(preflight.ENV_CHECKS, "local", lambda: None)

    def fail(name):
        raise ToolMissingError(f"{name} could not be downloaded", f"install {name} yourself")

    with pytest.raises(ToolMissingError) as caught:
        preflight.check("local", install=fail)
    assert "kind could not be downloaded" in caught.value.message
    assert "install kind yourself" in caught.value.hint
    assert "pulumi v3" in caught.value.message  # still named, but not downloaded after a failure


def test_docker_problem_on_this_kind_of_machine_is_one_clear_line():
    problem = preflight.docker_problem()
    if problem is not None:  # no daemon here; on a machine with Docker there is nothing to report
        assert "docker" in problem.what
        assert "\n" not in problem.what
        assert "docs.docker.com" in problem.how


def test_preflight_stops_on_bad_local_stack_config_before_docker(monkeypatch, tmp_path, no_tools):
    from infra.envconfig import local

    bad = tmp_path / "Pulumi.local.yaml"
    bad.write_text("config:\n  lab:workers: 0\n")
    monkeypatch.setattr(local, "STACK_FILE", bad)
    monkeypatch.setattr(preflight, "docker_problem", lambda: pytest.fail("docker checked after a bad config"))
    with pytest.raises(ToolMissingError) as caught:
        preflight.check("local", install=lambda name: pytest.fail(f"downloaded {name}"))
    assert (
        "local stack config (invalid local stack config: lab:workers must be at least 1"
        in caught.value.message
    )


def test_preflight_refuses_the_aws_placeholder_default_before_calling_aws(monkeypatch, tmp_path, no_tools):
    """A fresh checkout (no user stack file) has Pulumi.yaml's documentation sshCidr: refused for `up`."""
    from infra import aws
    from infra.envconfig import aws as envconfig

    monkeypatch.setattr(envconfig, "STACK_FILE", tmp_path / "Pulumi.aws.yaml")  # not the user's own
    monkeypatch.setattr(aws.AwsApi, "caller_identity", lambda self: pytest.fail("AWS called with bad config"))
    with pytest.raises(ToolMissingError) as caught:
        preflight.check("aws", install=lambda name: pytest.fail(f"downloaded {name}"))
    assert "AWS stack config (lab:sshCidr is 203.0.113.10/32, a documentation address" in caught.value.message
    assert "pulumi config set lab:sshCidr" in caught.value.hint
    assert "stacks/aws/Pulumi.aws.yaml" in caught.value.hint  # settable before the Pulumi CLI is installed


def test_make_tools_installs_the_pinned_release_even_with_another_on_path(monkeypatch, capsys):
    payload = b"\x7fELF pinned kind"
    _pin(monkeypatch, "kind", payload, plat=tools.current_platform())
    monkeypatch.setattr(tools, "_download", lambda url: payload)
    monkeypatch.setattr(tools.shutil, "which", lambda name: f"/usr/bin/{name}")  # a runner's own kind
    assert tools.main(["kind"]) == 0
    assert (tools.bin_dir() / "kind").read_bytes() == payload
    assert capsys.readouterr().out.strip() == str(tools.bin_dir() / "kind")
    assert tools.main(["kind"]) == 0  # already there: nothing downloaded again


def test_make_tools_names_an_unknown_tool(capsys):
    assert tools.main(["kubectl", "kubeadm"]) == 2
    assert "unknown tool(s) kubeadm" in capsys.readouterr().err
