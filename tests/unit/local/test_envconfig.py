"""LocalConfig: typed defaults, the rendered kind config, and every bad value failing with a clear message."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from infra import envconfig, renderers
from infra.envconfig import local
from infra.environments import ENVIRONMENTS
from infra.errors import ConfigError
from infra.paths import REPO_ROOT, STACKS_DIR


@pytest.fixture(scope="module")
def kind_cluster() -> dict:
    return yaml.safe_load(renderers.render_kind_config(local.LocalConfig()))


def test_defaults_are_one_control_plane_two_workers_on_localhost():
    cfg = local.LocalConfig()
    assert (cfg.cluster_name, cfg.control_planes, cfg.workers) == ("lab", 1, 2)
    assert cfg.node_names == ["lab-control-plane", "lab-worker", "lab-worker2"]
    assert (cfg.context, cfg.ingress_address, cfg.ingress_host) == (
        "kind-lab",
        "127.0.0.1",
        "127-0-0-1.nip.io",
    )
    assert str(cfg.api_server_address) == "127.0.0.1"


def test_node_image_is_pinned_by_digest_for_the_pinned_kind_release():
    match = local.parse_image(local.NODE_IMAGE)
    assert match["name"] == "kindest/node"
    assert match["digest"].startswith("sha256:")
    assert local.KIND_VERSION == "v0.33.0"


def test_the_node_images_kubernetes_minor_is_the_environments():
    """`infra check` validates local manifests against this minor: it must be what the nodes run."""
    tag = local.parse_image(local.NODE_IMAGE)["tag"]
    assert tag.removeprefix("v").rsplit(".", 1)[0] == ENVIRONMENTS["local"].kube_version


def test_the_tools_installer_pins_the_same_kind_release():
    from infra.tools import TOOLS

    assert TOOLS["kind"].version == local.KIND_VERSION


def test_kind_config_is_a_v1alpha4_cluster(kind_cluster):
    assert kind_cluster["kind"] == "Cluster"
    assert kind_cluster["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert kind_cluster["name"] == "lab"
    assert kind_cluster["networking"] == {"apiServerAddress": "127.0.0.1"}  # port: kind picks a free one
    assert [n["role"] for n in kind_cluster["nodes"]] == ["control-plane", "worker", "worker"]
    assert {n["image"] for n in kind_cluster["nodes"]} == {local.NODE_IMAGE}


def test_only_the_first_control_plane_is_ingress_ready_with_host_ports_80_443(kind_cluster):
    first, *others = kind_cluster["nodes"]
    assert first["labels"] == {"ingress-ready": "true"}  # a string, as Kubernetes labels are
    assert first["extraPortMappings"] == [
        {"containerPort": 80, "hostPort": 80, "listenAddress": "127.0.0.1", "protocol": "TCP"},
        {"containerPort": 443, "hostPort": 443, "listenAddress": "127.0.0.1", "protocol": "TCP"},
    ]
    assert all("labels" not in n and "extraPortMappings" not in n for n in others)
    assert "kubeadmConfigPatches" not in first  # native labels, no kubeadm patch


def test_node_names_follow_kinds_naming_for_several_control_planes():
    cfg = local.LocalConfig(control_planes=3, workers=3)
    assert cfg.node_names == [
        "lab-control-plane",
        "lab-control-plane2",
        "lab-control-plane3",
        "lab-worker",
        "lab-worker2",
        "lab-worker3",
    ]
    roles = [n["role"] for n in cfg.kind_cluster()["nodes"]]
    assert roles == ["control-plane"] * 3 + ["worker"] * 3


def test_custom_ports_and_api_server_port_are_rendered():
    cfg = local.parse({"httpPort": "8080", "httpsPort": "8443", "apiServerPort": "6443"})
    cluster = cfg.kind_cluster()
    assert [m["hostPort"] for m in cluster["nodes"][0]["extraPortMappings"]] == [8080, 8443]
    assert [m["containerPort"] for m in cluster["nodes"][0]["extraPortMappings"]] == [80, 443]
    assert cluster["networking"]["apiServerPort"] == 6443


def test_a_wildcard_ingress_listen_address_is_reached_on_loopback():
    wildcard = "0.0.0.0"  # noqa: S104 - the point of the test
    cfg = local.parse({"ingressListenAddress": wildcard})
    assert cfg.kind_cluster()["nodes"][0]["extraPortMappings"][0]["listenAddress"] == wildcard
    assert cfg.ingress_address == "127.0.0.1"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"workers": "0"}, "lab:workers must be at least 1 (got 0)"),
        ({"workers": "-2"}, "lab:workers must be at least 1 (got -2)"),
        ({"workers": "two"}, "lab:workers 'two' is not a whole number"),
        ({"workers": "2.5"}, "lab:workers '2.5' is not a whole number"),
        ({"controlPlanes": "0"}, "lab:controlPlanes must be at least 1"),
        (
            {"nodeImage": "kindest/node:v1.35.8"},
            "lab:nodeImage 'kindest/node:v1.35.8' is not pinned by digest",
        ),
        ({"nodeImage": "kindest/node@sha256:abc"}, "is not an image reference"),
        ({"nodeImage": "Kindest/Node:v1"}, "is not an image reference"),
        ({"nodeImage": "kindest//node:v1"}, "is not an image reference"),
        ({"nfsImage": "debian"}, "lab:nfsImage 'debian' is not pinned"),
        ({"nfsImage": "debian:latest"}, "is not pinned"),
        ({"httpPort": "http"}, "lab:httpPort 'http' is not a whole number"),
        ({"httpsPort": "4 43"}, "lab:httpsPort '4 43' is not a whole number"),
        ({"httpsPort": "0"}, "lab:httpsPort must be at least 1"),
        ({"httpsPort": "70000"}, "lab:httpsPort must be at most 65535 (got 70000)"),
        ({"httpPort": "443"}, "lab:httpPort and lab:httpsPort both ask for host port 443"),
        ({"apiServerPort": "80"}, "lab:httpPort and lab:apiServerPort both ask for host port 80"),
        ({"clusterName": "Lab"}, "lab:clusterName 'Lab' is not a valid kind cluster name"),
        ({"clusterName": "lab_1"}, "is not a valid kind cluster name"),
        ({"clusterName": "-lab"}, "is not a valid kind cluster name"),
        ({"clusterName": "x" * 41}, "at most 40 characters"),
        ({"ingressListenAddress": "localhost"}, "lab:ingressListenAddress"),
        ({"nfsPath": "exports"}, "lab:nfsPath 'exports' must be an absolute path"),
        ({"nfsPath": "/exports/k8s; rm -rf /"}, "must be an absolute path"),
        ({"wrkers": "3"}, "unknown local stack config key(s): lab:wrkers"),
    ],
)
def test_a_bad_value_is_a_config_error_naming_the_key(values, expected):
    with pytest.raises(ConfigError) as caught:
        local.parse(values)
    assert expected in caught.value.message
    assert caught.value.hint  # how to fix it


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        local.parse({"workers": "0", "clusterName": "Lab"})
    assert "lab:workers" in caught.value.message
    assert "lab:clusterName" in caught.value.message


def test_load_config_reads_the_lab_keys_of_a_stack_file(tmp_path):
    stack_file = tmp_path / "Pulumi.local.yaml"
    stack_file.write_text("config:\n  lab:workers: 3\n  lab:clusterName: demo\n  pulumi:tags: {a: b}\n")
    cfg = local.load_config(stack_file)
    assert (cfg.workers, cfg.cluster_name) == (3, "demo")


def test_without_a_stack_file_the_project_defaults_apply(tmp_path):
    """A fresh checkout has no Pulumi.local.yaml (gitignored): Pulumi.yaml's defaults, no error."""
    assert local.load_config(tmp_path / "Pulumi.local.yaml") == local.LocalConfig()


def test_a_stack_value_overrides_only_its_own_default(tmp_path):
    stack_file = tmp_path / "Pulumi.local.yaml"
    stack_file.write_text("config:\n  lab:httpPort: '8080'\n")
    cfg = local.load_config(stack_file)
    assert cfg.http_port == 8080
    assert (cfg.https_port, cfg.workers, cfg.cluster_name) == (443, 2, "lab")  # the other defaults stay


def test_the_salt_and_other_namespaces_of_a_users_stack_file_are_ignored(tmp_path):
    """What `pulumi stack select --create --secrets-provider passphrase` writes must not matter to us."""
    stack_file = tmp_path / "Pulumi.local.yaml"
    stack_file.write_text(
        "secretsprovider: passphrase\n"
        "encryptionsalt: v1:Zm9vYmFy:v1:YWJjZGVmZ2hpams=:c2FsdHNhbHRzYWx0\n"
        "config:\n  lab:workers: '1'\n  command:timeout: '30'\n  pulumi:tags: {owner: me}\n"
    )
    cfg = local.load_config(stack_file)
    assert cfg == local.LocalConfig(workers=1)


def test_a_salt_only_stack_file_is_the_defaults(tmp_path):
    stack_file = tmp_path / "Pulumi.local.yaml"
    stack_file.write_text("encryptionsalt: v1:Zm9vYmFy:v1:YWJjZGVmZ2hpams=:c2FsdHNhbHRzYWx0\n")
    assert local.load_config(stack_file) == local.LocalConfig()


def test_project_defaults_are_read_as_the_pulumi_cli_applies_them(tmp_path):
    """Typed defaults, untyped values, plain values; required keys and other namespaces contribute none."""
    project = tmp_path / "Pulumi.yaml"
    project.write_text(
        "name: lab\nruntime: python\nconfig:\n"
        "  workers: {type: integer, default: 3}\n"
        "  clusterName: {value: fromvalue}\n"
        "  lab:nfsPath: /srv/nfs\n"
        "  nodeImage: {type: string, description: required, no default}\n"
        "  aws:region: {value: eu-west-1}\n"
    )
    defaults = envconfig.project_defaults(project, fix_hint="fix it")
    assert defaults == {"workers": 3, "clusterName": "fromvalue", "nfsPath": "/srv/nfs"}
    cfg = local.load_config(tmp_path / "absent.yaml", project_file=project)
    assert (cfg.workers, cfg.cluster_name, cfg.nfs_path) == (3, "fromvalue", "/srv/nfs")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("config:\n  lab:workers: 0\n", "lab:workers must be at least 1"),
        ("config: [1, 2]\n", "must be a mapping"),
        ("config: {lab:workers: [\n", "is not valid YAML"),
    ],
)
def test_load_config_errors(tmp_path, text, expected):
    stack_file = tmp_path / "Pulumi.local.yaml"
    stack_file.write_text(text)
    with pytest.raises(ConfigError, match=r".") as caught:
        local.load_config(stack_file)
    assert expected in caught.value.message


def test_load_config_of_a_missing_project_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        local.load_config(tmp_path / "Pulumi.local.yaml", project_file=tmp_path / "nope.yaml")


def test_the_committed_defaults_are_valid_and_are_the_models():
    assert local.load_config() == local.LocalConfig()  # the user's stack file is not read (conftest)
    assert not local.STACK_FILE.exists()
    assert local.PROJECT_FILE == STACKS_DIR / "local" / "Pulumi.yaml"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        ("stacks/local/Pulumi.local.yaml", True),
        ("stacks/aws/Pulumi.aws.yaml", True),
        ("stacks/local/Pulumi.yaml", False),
        ("stacks/aws/Pulumi.yaml", False),
    ],
)
def test_only_the_users_stack_files_are_gitignored(path, ignored):
    """Pulumi writes the passphrase's salt into the stack file: committed, it breaks every other checkout."""
    check = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=REPO_ROOT, check=False)
    assert check.returncode == (0 if ignored else 1)


def test_pulumi_yaml_documents_every_key_with_the_models_type_and_default():
    project = yaml.safe_load((STACKS_DIR / "local" / "Pulumi.yaml").read_text())
    assert project["name"] == envconfig.NAMESPACE  # project keys are the `lab:` namespace
    assert project["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": "../../.venv"},
    }
    declared = project["config"]
    fields = local.LocalConfig.model_fields
    assert set(declared) == {f.alias for f in fields.values()}
    defaults = local.LocalConfig()
    for name, info in fields.items():
        entry = declared[info.alias]
        value = getattr(defaults, name)
        assert entry["type"] == ("integer" if isinstance(value, int) else "string"), info.alias
        assert str(entry["default"]) == str(value), info.alias
        assert entry["description"], info.alias


def test_plan_lists_what_up_creates_and_renders_the_kind_config():
    plan = renderers.plan_local(local.LocalConfig())
    assert plan.environment == "local"
    assert any("1 control plane + 2 workers" in line for line in plan.creates)
    assert any("lab-nfs" in line for line in plan.creates)
    assert yaml.safe_load(plan.artifacts["kind-config.yaml"]) == local.LocalConfig().kind_cluster()
