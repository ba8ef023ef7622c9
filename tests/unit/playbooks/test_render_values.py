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
    """Every chart's values and, under ``<role>-objects``, what a role applies beside its chart."""
    run = ansible.run("render.yml", inventory, {"addons_render_dir": str(out), **(extra or {})})
    assert run.returncode == 0, run.output
    rendered = {chart: json.loads((out / f"{chart}.json").read_text()) for chart in CHARTS}
    for objects in out.glob("*-objects.json"):
        rendered[objects.stem] = json.loads(objects.read_text())
    return rendered


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
    assert "ingress_nginx-objects" not in rendered["local"]  # nothing beside the chart on kind


def test_aws_ingress_makes_no_load_balancer_of_its_own(rendered: dict[str, Any], ansible: Any) -> None:
    """The stack's NLB is the only one: a ClusterIP Service, no AWS load balancer annotations."""
    controller = rendered["aws"]["ingress_nginx"]["controller"]
    assert controller["service"]["type"] == "ClusterIP"
    assert not [a for a in controller["service"]["annotations"] if "aws-load-balancer" in a]
    assert controller["hostPort"]["enabled"] is False
    assert "updateStrategy" not in controller
    lab_vars = ansible.load_fixture("aws")["all"]["vars"]
    assert controller["extraArgs"]["publish-status-address"] == lab_vars["lab_ingress_address"]  # the NLB


def test_aws_binds_the_controller_service_to_the_stack_target_groups(
    rendered: dict[str, Any], ansible: Any
) -> None:
    bindings = rendered["aws"]["ingress_nginx-objects"]
    arns = ansible.load_fixture("aws")["all"]["vars"]["lab_ingress_target_groups"]
    kinds = {(b["apiVersion"], b["kind"]) for b in bindings}
    assert kinds == {("elbv2.k8s.aws/v1beta1", "TargetGroupBinding")}
    assert {b["metadata"]["namespace"] for b in bindings} == {"ingress-nginx"}
    by_port = {b["spec"]["serviceRef"]["port"]: b["spec"] for b in bindings}
    assert sorted(by_port) == [80, 443]
    assert by_port[80]["targetGroupARN"] == arns["http"]
    assert by_port[443]["targetGroupARN"] == arns["https"]
    assert {s["serviceRef"]["name"] for s in by_port.values()} == {"ingress-nginx-controller"}
    assert {s["targetType"] for s in by_port.values()} == {"ip"}  # the stack's groups are ip groups
    assert len({b["metadata"]["name"] for b in bindings}) == 2


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_proxy_protocol_matches_what_the_load_balancer_sends(
    env: str, rendered: dict[str, Any], ansible: Any
) -> None:
    """Both sides or neither: on aws the NLB side is the stack's target groups, as the inventory read them."""
    controller = rendered[env]["ingress_nginx"]["controller"]
    nginx_side = controller["config"].get("use-proxy-protocol") == "true"
    nlb_side = ansible.load_fixture(env)["all"]["vars"].get("lab_ingress_proxy_protocol", False)
    assert nginx_side is nlb_side is False
    assert TG_ATTRIBUTES not in controller["service"]["annotations"]  # no NLB of the role's to configure


def test_proxy_protocol_follows_the_stack_target_groups(
    ansible: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    values = _render(
        ansible,
        ansible.fixtures / "aws.yml",
        tmp_path_factory.mktemp("values-aws-proxy"),
        {"lab_ingress_proxy_protocol": True},  # what the inventory writes when the groups have it on
    )
    controller = values["ingress_nginx"]["controller"]
    assert controller["config"]["use-proxy-protocol"] == "true"
    assert TG_ATTRIBUTES not in controller["service"]["annotations"]


@pytest.mark.parametrize("proxy", [True, False])
def test_a_load_balancer_service_sets_proxy_protocol_on_both_sides_or_neither(
    proxy: bool, ansible: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The role's other mode (no stack NLB): the NLB the Service asks for is configured as well."""
    values = _render(
        ansible,
        ansible.fixtures / "aws.yml",
        tmp_path_factory.mktemp("values-aws-lb"),
        {
            "ingress_nginx_service_type": "LoadBalancer",
            "ingress_nginx_bind_target_groups": False,
            "ingress_nginx_proxy_protocol": proxy,
        },
    )
    controller = values["ingress_nginx"]["controller"]
    nlb_side = "proxy_protocol_v2.enabled=true" in controller["service"]["annotations"].get(TG_ATTRIBUTES, "")
    nginx_side = controller["config"].get("use-proxy-protocol") == "true"
    assert nlb_side is nginx_side is proxy
    assert "ingress_nginx-objects" not in values


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"ingress_nginx_service_type": "LoadBalancer"}, "one load balancer, not two"),
        ({"lab_ingress_target_groups": {}}, "infra up --env aws --from inventory"),
        ({"lab_ingress_target_groups": {"http": "arn:x", "https": "arn:y"}}, "port name: target group ARN"),
    ],
)
def test_bad_target_group_bindings_stop_before_anything_is_installed(
    change: dict[str, Any], expected: str, ansible: Any, tmp_path: Path
) -> None:
    run = ansible.run(
        "render.yml", ansible.fixtures / "aws.yml", {"addons_render_dir": str(tmp_path / "out"), **change}
    )
    assert run.returncode != 0
    assert expected in " ".join(run.output.split())
    assert not (tmp_path / "out" / "ingress_nginx.json").exists()


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
