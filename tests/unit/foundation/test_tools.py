"""Pinned tools: verified before anything lands in .tools/bin; missing prerequisites named at once."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import time
import urllib.error
from dataclasses import replace

import pytest

from infra import preflight, tools
from infra.errors import InfraError, ToolMissingError


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


def test_kubectl_is_not_downloaded_but_comes_with_the_lock():
    assert "kubectl" not in tools.TOOLS
    assert "kubectl" not in {name for names in preflight.TOOLS_BY_ENV.values() for name in names}


def test_preflight_without_docker_names_what_the_user_provides_and_downloads_nothing(monkeypatch, no_tools):
    problem = preflight.Problem("docker daemon (not reachable)", "start it")
    monkeypatch.setitem(preflight.ENV_CHECKS, "local", lambda: [problem])
    start = time.monotonic()
    with pytest.raises(ToolMissingError) as caught:
        preflight.check("local", install=lambda name: pytest.fail(f"downloaded {name}"))
    assert time.monotonic() - start < 2
    assert caught.value.message == "not ready for the local lab: docker daemon (not reachable)"
    hint = caught.value.hint
    assert hint.startswith("start it (what you provide for the local lab: a running Docker with about 6 GB")
    assert "80 and 443 by default) free" in hint
    assert hint.endswith("the toolkit installs kubectl (Pipfile.lock), kind, helm, pulumi itself)")


def test_preflight_with_docker_installs_missing_tools(monkeypatch, no_tools):
    monkeypatch.setitem(preflight.ENV_CHECKS, "local", list)
    installed = []
    assert preflight.check("local", install=installed.append) == ["kubectl", "kind", "helm", "pulumi"]
    assert installed == ["kind", "helm", "pulumi"]


def test_preflight_reports_every_tool_that_cannot_be_installed(monkeypatch, no_tools):
    monkeypatch.setitem(preflight.ENV_CHECKS, "local", list)
    tried = []

    def fail(name):
        tried.append(name)
        if name != "helm":
            raise ToolMissingError(f"{name} could not be downloaded", f"install {name} yourself")

    with pytest.raises(ToolMissingError) as caught:
        preflight.check("local", install=fail)
    assert tried == ["kind", "helm", "pulumi"]  # one failure does not hide the next
    assert caught.value.message == (
        "the toolkit could not install its pinned tools: kind could not be downloaded; "
        "pulumi could not be downloaded"
    )
    assert caught.value.hint == "install kind yourself; install pulumi yourself"


def test_preflight_refuses_a_kubectl_that_is_not_the_locked_release(monkeypatch, tmp_path, no_tools):
    monkeypatch.setitem(preflight.ENV_CHECKS, "local", list)
    fake_venv = tmp_path / "venv-bin"
    _fake_kubectl(fake_venv, '{"clientVersion": {"gitVersion": "v1.32.4"}}')
    monkeypatch.setattr(tools, "venv_bin", lambda: fake_venv)
    with pytest.raises(ToolMissingError) as caught:
        preflight.check("local", install=lambda name: pytest.fail(f"downloaded {name}"))
    assert f"{fake_venv / 'kubectl'} is kubectl v1.32.4, not the 1.36.x" in caught.value.message
    assert "make deps" in caught.value.hint


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


def _no_credentials(self):
    raise InfraError("no AWS credentials found", "run `aws configure`")


def test_aws_preflight_reports_the_placeholder_and_the_credentials_at_once(monkeypatch, tmp_path, no_tools):
    """A fresh checkout (no user stack file) has Pulumi.yaml's documentation sshCidr: refused for `up`."""
    from infra import aws
    from infra.envconfig import aws as envconfig

    monkeypatch.setattr(envconfig, "STACK_FILE", tmp_path / "Pulumi.aws.yaml")  # not the user's own
    monkeypatch.setattr(aws.AwsApi, "caller_identity", _no_credentials)
    monkeypatch.setattr(aws.AwsApi, "require_zones", lambda self, zones: pytest.fail("zones without creds"))
    with pytest.raises(ToolMissingError) as caught:
        preflight.check("aws", install=lambda name: pytest.fail(f"downloaded {name}"))
    message = caught.value.message
    assert message.startswith("not ready for the aws lab: AWS stack config (lab:sshCidr is 203.0.113.10/32, ")
    assert "(the placeholder default of stacks/aws/Pulumi.yaml)" in message
    assert message.endswith("; AWS credentials (no AWS credentials found)")
    assert "pulumi config set lab:sshCidr" in caught.value.hint
    assert "stacks/aws/Pulumi.aws.yaml" in caught.value.hint  # settable before the Pulumi CLI is installed
    assert "run `aws configure`" in caught.value.hint


def test_aws_preflight_does_not_call_a_users_own_cidr_the_placeholder(monkeypatch, tmp_path, no_tools):
    from infra import aws
    from infra.envconfig import aws as envconfig

    own = tmp_path / "Pulumi.aws.yaml"
    own.write_text("config:\n  lab:sshCidr: 198.51.100.7/32\n")
    monkeypatch.setattr(envconfig, "STACK_FILE", own)
    monkeypatch.setattr(aws.AwsApi, "caller_identity", lambda self: None)
    zones = []
    monkeypatch.setattr(aws.AwsApi, "require_zones", lambda self, wanted: zones.extend(wanted))
    with pytest.raises(ToolMissingError) as caught:
        preflight.check("aws", install=lambda name: pytest.fail(f"downloaded {name}"))
    assert "lab:sshCidr is 198.51.100.7/32, a documentation address (RFC 5737" in caught.value.message
    assert "placeholder" not in caught.value.message
    assert zones == ["us-east-1a", "us-east-1b"]  # the region was checked in the same run


def test_the_placeholder_is_the_one_pulumi_yaml_declares():
    import yaml

    from infra.envconfig import aws as envconfig

    declared = yaml.safe_load(envconfig.PROJECT_FILE.read_text())["config"]["sshCidr"]["default"]
    assert str(envconfig.PLACEHOLDER_SSH_CIDR) == declared


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


def test_make_tools_kubectl_prints_the_locked_one(capsys):
    assert tools.main(["kubectl"]) == 0
    assert capsys.readouterr().out.strip() == str(tools.venv_bin() / "kubectl")


# --- kubectl from the lock ---------------------------------------------------------------------------------


def _fake_kubectl(folder, version_json: str, code: int = 0):
    """A kubectl stand-in that prints ``version_json`` for ``version`` and records every other call."""
    folder.mkdir(parents=True, exist_ok=True)
    fake = folder / "kubectl"
    fake.write_text(f"#!/bin/sh\necho '{version_json}'\nexit {code}\n")
    fake.chmod(0o755)
    return fake


def test_the_locked_kubectl_is_the_1_36_release_in_the_venv():
    path = tools.kubectl_path()
    assert path == tools.venv_bin() / "kubectl"
    assert tools.kubectl_version(str(path)).startswith("v1.36.")


@pytest.fixture
def broken_kubectl_first_on_path(tmp_path, monkeypatch):
    """A kubectl that fails whatever it is asked, first on PATH (and a second, old one after it)."""
    broken = tmp_path / "broken-bin"
    _fake_kubectl(broken, "kubectl: broken install", code=127)
    old = _fake_kubectl(tmp_path / "old-bin", '{"clientVersion": {"gitVersion": "v1.32.4"}}')
    monkeypatch.setenv("PATH", os.pathsep.join([str(broken), str(old.parent), os.environ["PATH"]]))
    return broken


def test_a_broken_kubectl_first_on_path_changes_nothing(broken_kubectl_first_on_path):
    from infra import proc

    assert shutil.which("kubectl") == str(broken_kubectl_first_on_path / "kubectl")  # what a shell would run
    result = proc.run(["kubectl", "version", "--client", "-o", "json"])
    assert result.argv[:2] == ["kubectl", "version"]  # as the caller wrote it
    assert '"gitVersion": "v1.36.' in result.stdout
    # the child processes the toolkit starts find the locked one too (ansible, scripts)
    inner = proc.run(["sh", "-c", "command -v kubectl"]).stdout.strip()
    assert inner == str(tools.venv_bin() / "kubectl")


def test_a_broken_kubectl_first_on_path_renders_the_same_manifests(broken_kubectl_first_on_path):
    from infra.paths import MANIFESTS_DIR
    from infra.render import kustomize

    text = kustomize(MANIFESTS_DIR / "envs" / "local")
    assert "kind: Namespace" in text


@pytest.mark.parametrize(
    ("answer", "code", "expected"),
    [
        ('{"clientVersion": {"gitVersion": "v1.32.4"}}', 0, "is kubectl v1.32.4, not the 1.36.x"),
        ('{"clientVersion": {"gitVersion": "v1.37.0"}}', 0, "is kubectl v1.37.0, not the 1.36.x"),
        ("error: unknown flag --client", 1, "does not report a kubectl version (exit 1: error: unknown flag"),
        ('{"clientVersion": {}}', 0, "does not report a kubectl version (exit 0: "),
    ],
)
def test_another_kubectl_is_refused_naming_it_and_make_deps(tmp_path, monkeypatch, answer, code, expected):
    fake = _fake_kubectl(tmp_path / "venv-bin", answer, code)
    monkeypatch.setattr(tools, "venv_bin", lambda: fake.parent)
    with pytest.raises(ToolMissingError) as caught:
        tools.kubectl_path()
    assert caught.value.message.startswith(str(fake))
    assert expected in caught.value.message
    assert "\n" not in caught.value.message
    assert caught.value.hint.startswith("run `make deps`")


def test_the_same_minor_from_elsewhere_is_accepted(tmp_path, monkeypatch):
    fake = _fake_kubectl(tmp_path / "venv-bin", '{"clientVersion": {"gitVersion": "v1.36.9"}}')
    monkeypatch.setattr(tools, "venv_bin", lambda: fake.parent)
    assert tools.kubectl_path() == fake


def test_no_kubectl_anywhere_says_make_deps(tmp_path, monkeypatch):
    monkeypatch.setattr(tools, "venv_bin", lambda: tmp_path / "empty-venv-bin")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    from infra import proc

    with pytest.raises(ToolMissingError) as caught:
        proc.run(["kubectl", "version"])
    assert caught.value.message.startswith("kubectl is not installed (looked in ")
    assert caught.value.hint.startswith("run `make deps`")


def test_search_order_is_venv_then_tools_then_path(tmp_path, monkeypatch):
    venv, path_dir = tmp_path / "venv-bin", tmp_path / "user-bin"
    holds = {venv: ["in-all"], tools.bin_dir(): ["in-all", "not-venv"], path_dir: ["in-all", "not-venv", "x"]}
    for folder, names in holds.items():
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            (folder / name).write_text("#!/bin/sh\n")
            (folder / name).chmod(0o755)
    monkeypatch.setattr(tools, "venv_bin", lambda: venv)
    monkeypatch.setenv("PATH", str(path_dir))
    assert tools.find("in-all") == venv / "in-all"
    assert tools.find("not-venv") == tools.bin_dir() / "not-venv"
    assert tools.find("x") == path_dir / "x"
    assert tools.find("nowhere") is None
    assert tools.search_path().split(os.pathsep) == [str(venv), str(tools.bin_dir()), str(path_dir)]
