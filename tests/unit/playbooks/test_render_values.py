"""The Helm values each environment gets, rendered by playbooks/render.yml exactly as the install uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

ENVIRONMENTS = ("local", "aws")
CHARTS = ("nfs_provisioner", "metrics_server", "ingress_nginx")
TG_ATTRIBUTES = "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"


def _render(ansible: Any, inventory: Path, out: Path, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    run = ansible.run("render.yml", inventory, {"addons_render_dir": str(out), **(extra or {})})
    assert run.returncode == 0, run.output
    return {chart: json.loads((out / f"{chart}.json").read_text()) for chart in CHARTS}


@pytest.fixture(scope="module")
def rendered(ansible: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return {
        env: _render(ansible, ansible.fixtures / f"{env}.yml", tmp_path_factory.mktemp(f"values-{env}"))
        for env in ENVIRONMENTS
    }


def test_local_ingress_uses_host_ports_of_the_ingress_ready_node(rendered: dict[str, Any]) -> None:
    controller = rendered["local"]["ingress_nginx"]["controller"]
    assert controller["hostPort"]["enabled"] is True
    assert controller["nodeSelector"] == {"ingress-ready": "true"}
    assert {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"} in (
        controller["tolerations"]
    )
    assert controller["service"]["type"] == "NodePort"
    assert controller["extraArgs"]["publish-status-address"] == "127.0.0.1"  # lab_ingress_address
    # a single pod on host ports is replaced in place: a surge pod could never schedule beside it
    assert controller["updateStrategy"]["rollingUpdate"] == {"maxUnavailable": 1, "maxSurge": 0}


def test_aws_ingress_sits_behind_an_internet_facing_nlb_in_ip_mode(rendered: dict[str, Any]) -> None:
    controller = rendered["aws"]["ingress_nginx"]["controller"]
    annotations = controller["service"]["annotations"]
    assert controller["service"]["type"] == "LoadBalancer"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "external"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "ip"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"
    assert controller["hostPort"]["enabled"] is False
    assert "updateStrategy" not in controller


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_proxy_protocol_is_on_both_sides_or_neither(env: str, rendered: dict[str, Any]) -> None:
    controller = rendered[env]["ingress_nginx"]["controller"]
    nlb_side = "proxy_protocol_v2.enabled=true" in controller["service"]["annotations"].get(TG_ATTRIBUTES, "")
    nginx_side = controller["config"].get("use-proxy-protocol") == "true"
    assert nlb_side == nginx_side
    assert nlb_side is (env == "aws")


def test_proxy_protocol_switched_off_leaves_neither_side(
    ansible: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    values = _render(
        ansible,
        ansible.fixtures / "aws.yml",
        tmp_path_factory.mktemp("values-aws-noproxy"),
        {"ingress_nginx_proxy_protocol": False},
    )
    controller = values["ingress_nginx"]["controller"]
    assert TG_ATTRIBUTES not in controller["service"]["annotations"]
    assert "use-proxy-protocol" not in controller["config"]


@pytest.mark.parametrize(("env", "insecure"), [("local", True), ("aws", False)])
def test_metrics_server_kubelet_tls(env: str, insecure: bool, rendered: dict[str, Any]) -> None:
    assert ("--kubelet-insecure-tls" in rendered[env]["metrics_server"]["args"]) is insecure


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_nfs_provisioner_storage_class(env: str, rendered: dict[str, Any], ansible: Any) -> None:
    values = rendered[env]["nfs_provisioner"]
    lab_vars = ansible.load_fixture(env)["all"]["vars"]
    assert values["nfs"]["server"] == lab_vars["lab_nfs_server"]
    assert values["nfs"]["path"] == lab_vars["lab_nfs_path"]
    assert "nolock" in values["nfs"]["mountOptions"]
    assert values["storageClass"] == {
        "create": True,
        "name": "nfs-client",
        "defaultClass": False,
        "reclaimPolicy": "Delete",
        "archiveOnDelete": True,
        "accessModes": "ReadWriteOnce",
    }


def test_unknown_environment_stops_with_a_clear_message(ansible: Any, tmp_path: Path) -> None:
    data = ansible.load_fixture("local")
    data["all"]["vars"]["lab_environment"] = "gcp"
    inventory = ansible.write_inventory(tmp_path / "inventory.yml", data)
    run = ansible.run("render.yml", inventory, {"addons_render_dir": str(tmp_path / "out")})
    assert run.returncode != 0
    assert run.failed("localhost")
    assert "lab_environment is 'gcp', expected one of local, aws" in run.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("role", "version"),
    [("nfs_provisioner", "4.0.18"), ("metrics_server", "3.14.0"), ("ingress_nginx", "4.15.1")],
)
def test_charts_are_pinned(role: str, version: str, ansible: Any) -> None:
    defaults = yaml.safe_load((ansible.playbooks / "roles" / role / "defaults" / "main.yml").read_text())
    assert str(defaults[f"{role}_chart_version"]) == version
    assert defaults[f"{role}_chart_repo_url"].startswith("https://")
