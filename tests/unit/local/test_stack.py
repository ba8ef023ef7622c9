"""stacks/local under Pulumi mocks: resources and their arguments, the output contract, config errors."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest
import yaml

from infra.contract import keys_of, parse_outputs
from infra.envconfig.local import NFS_SERVER_IMAGE, LocalConfig
from infra.paths import STACKS_DIR
from infra.renderers import render_kind_config


@pytest.fixture(scope="module")
def default_run(stack_runner):
    run = stack_runner()
    assert run.error is None
    return run


def test_the_stack_is_a_kind_cluster_and_an_nfs_server(default_run):
    kinds = sorted((r.typ, r.name) for r in default_run.resources)
    assert kinds == [
        ("command:local:Command", "kind-cluster"),
        ("command:local:Command", "kind-kubeconfig"),
        ("command:local:Command", "nfs-container"),
        ("lab:local:KindCluster", "kind"),
        ("lab:local:NfsServer", "nfs"),
    ]


def test_kind_create_reads_the_rendered_config_and_delete_removes_the_cluster(default_run):
    cluster = default_run.commands()["kind-cluster"]
    own = kind_kubeconfig_of(cluster["create"])
    assert cluster["create"] == f"kind create cluster --name lab --config - --wait 180s --kubeconfig {own}"
    assert cluster["delete"] == f"kind delete cluster --name lab --kubeconfig {own}"
    assert cluster["stdin"] == render_kind_config(LocalConfig())
    assert cluster["triggers"] == [cluster["stdin"]]  # any config change replaces the cluster


def kind_kubeconfig_of(command: str) -> str:
    words = command.split()
    return words[words.index("--kubeconfig") + 1]


def test_kind_never_writes_the_users_kubeconfig(default_run):
    """Without --kubeconfig, kind merges its context into ~/.kube/config and switches the current context."""
    for command in ("create", "delete"):
        own = Path(kind_kubeconfig_of(default_run.commands()["kind-cluster"][command]))
        assert own.parts[-2:] == ("local", "kind.kubeconfig")
        assert own.parent.parent.name == ".infra"  # the toolkit's state folder, not ~/.kube


def test_the_rendered_config_has_the_ingress_node_and_the_pinned_image(default_run):
    config = yaml.safe_load(default_run.commands()["kind-cluster"]["stdin"])
    assert [n["role"] for n in config["nodes"]] == ["control-plane", "worker", "worker"]
    assert config["nodes"][0]["labels"] == {"ingress-ready": "true"}
    assert {m["hostPort"] for m in config["nodes"][0]["extraPortMappings"]} == {80, 443}
    assert all("@sha256:" in n["image"] for n in config["nodes"])


def test_the_kubeconfig_is_read_after_each_cluster_creation_and_never_logged(default_run):
    kubeconfig = default_run.commands()["kind-kubeconfig"]
    assert kubeconfig["create"] == "kind get kubeconfig --name lab"
    assert kubeconfig["triggers"] == ["kind-cluster-id"]  # a new cluster, a new kubeconfig
    assert kubeconfig["logging"] == "none"
    assert "delete" not in kubeconfig  # reading a kubeconfig leaves nothing to delete


def test_the_nfs_container_runs_on_the_kind_network_and_prints_its_ip(default_run):
    nfs = default_run.commands()["nfs-container"]
    script = nfs["create"]
    run_line = next(line for line in script.splitlines() if line.startswith("docker run"))
    for part in (
        "--init",
        "--name lab-nfs",
        "--network kind",
        "--restart unless-stopped",
        "--cap-add DAC_READ_SEARCH --cap-add SYS_RESOURCE",
        "--volume lab-nfs-data:/exports/k8s",
        "--label app.kubernetes.io/managed-by=infra",
    ):
        assert part in run_line
    assert "--privileged" not in run_line  # user-space NFS-Ganesha needs two capabilities, not all
    assert run_line.endswith(f"{NFS_SERVER_IMAGE} sleep infinity >/dev/null")
    assert script.splitlines()[-1].startswith("docker inspect --format")
    assert '"kind").IPAddress' in script.splitlines()[-1]
    assert nfs["delete"] == "docker rm --force lab-nfs && docker volume rm --force lab-nfs-data"


def test_exports_are_exactly_the_output_contract(default_run):
    assert list(default_run.exports) == list(keys_of("local"))
    outputs = parse_outputs(default_run.exports)
    assert outputs.environment == "local"
    assert outputs.context == "kind-lab"
    assert (outputs.ingress_address, outputs.ingress_host) == ("127.0.0.1", "127-0-0-1.nip.io")
    assert (outputs.ingress_http_port, outputs.ingress_https_port) == (80, 443)
    assert (outputs.nfs_server, outputs.nfs_path) == ("172.18.0.5", "/exports/k8s")  # stdout, stripped
    assert outputs.nodes == ["lab-control-plane", "lab-worker", "lab-worker2"]
    assert outputs.kubeconfig.startswith("apiVersion: v1")
    assert outputs.exported("docker_hosts") == {  # the containers Ansible reaches with `docker exec`
        "kind_nodes": ["lab-control-plane", "lab-worker", "lab-worker2"],
        "nfs_server": ["lab-nfs"],
    }


def test_only_the_kubeconfig_is_secret(default_run):
    assert default_run.secret == {"kubeconfig"}


def test_stack_config_drives_the_resources(stack_runner):
    run = stack_runner({"clusterName": "demo", "workers": "3", "httpsPort": "8443"})
    assert run.error is None
    commands = run.commands()
    delete = commands["kind-cluster"]["delete"]
    assert delete == f"kind delete cluster --name demo --kubeconfig {kind_kubeconfig_of(delete)}"
    config = yaml.safe_load(commands["kind-cluster"]["stdin"])
    assert [n["role"] for n in config["nodes"]].count("worker") == 3
    assert [m["hostPort"] for m in config["nodes"][0]["extraPortMappings"]] == [80, 8443]
    assert "--name demo-nfs" in commands["nfs-container"]["create"]
    assert run.exports["context"] == "kind-demo"
    assert run.exports["nodes"] == ["demo-control-plane", "demo-worker", "demo-worker2", "demo-worker3"]
    assert run.exports["docker_hosts"]["nfs_server"] == ["demo-nfs"]


def test_other_host_ports_are_what_the_stack_exports(stack_runner):
    """Rootless Docker binds no port below 1024: the configured host ports are the ingress ports after."""
    run = stack_runner({"httpPort": "8080", "httpsPort": "8443"})
    assert run.error is None
    config = yaml.safe_load(run.commands()["kind-cluster"]["stdin"])
    mappings = {m["containerPort"]: m["hostPort"] for m in config["nodes"][0]["extraPortMappings"]}
    assert mappings == {80: 8080, 443: 8443}  # the node (and ingress-nginx in it) stays on 80/443
    outputs = parse_outputs(run.exports)
    assert (outputs.ingress_http_port, outputs.ingress_https_port) == (8080, 8443)
    assert (type(run.exports["ingress_http_port"]), type(run.exports["ingress_https_port"])) == (int, int)


def test_the_project_defaults_reach_the_program_through_pulumi_config(stack_runner, tmp_path):
    """Pulumi.yaml's declared defaults, not the model's, are what the program builds from."""
    project = yaml.safe_load((STACKS_DIR / "local" / "Pulumi.yaml").read_text())
    project["config"]["clusterName"]["default"] = "fromyaml"
    project["config"]["workers"]["default"] = 1
    project_file = tmp_path / "Pulumi.yaml"
    project_file.write_text(yaml.safe_dump(project))
    run = stack_runner({"workers": "3"}, project_file=project_file)  # a stack value still wins
    assert run.error is None
    assert run.exports["nodes"] == [
        "fromyaml-control-plane",
        "fromyaml-worker",
        "fromyaml-worker2",
        "fromyaml-worker3",
    ]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"workers": "0"}, "lab:workers must be at least 1 (got 0)"),
        ({"workers": "-1"}, "lab:workers must be at least 1 (got -1)"),
        (
            {"nodeImage": "kindest/node:v1.35.8"},
            "lab:nodeImage 'kindest/node:v1.35.8' is not pinned by digest",
        ),
        ({"nodeImage": "not an image"}, "lab:nodeImage 'not an image' is not an image reference"),
        ({"httpPort": "eighty"}, "lab:httpPort 'eighty' is not a whole number"),
        ({"httpPort": "443"}, "lab:httpPort and lab:httpsPort both ask for host port 443"),
        ({"httpsPort": "65536"}, "lab:httpsPort must be at most 65535"),
        ({"clusterName": "My_Lab"}, "lab:clusterName 'My_Lab' is not a valid kind cluster name"),
    ],
)
def test_a_config_error_stops_the_program_before_any_resource(stack_runner, config, expected):
    run = stack_runner(config)
    assert isinstance(run.error, pulumi.RunError)  # a clean one-line failure, not a traceback
    assert expected in str(run.error)
    assert run.resources == []
    assert run.exports == {}
