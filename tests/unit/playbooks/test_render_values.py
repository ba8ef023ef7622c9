"""The Helm values each environment gets, rendered by playbooks/render.yml exactly as the install uses.

An ansible-playbook run costs seconds here (each module it runs is a Python process of its own, and
render.yml runs two per file it writes), so the scenarios share four module-scoped render.yml runs instead
of one run each, with a cluster host per scenario as the role tests do:

- the recorded local inventory, as it is, and the recorded aws inventory, as it is: every chart;
- the aws variants, a cluster host each (its differences to the recorded ``localhost`` as host variables,
  which outrank the playbooks' group_vars/env_aws.yml as ``-e`` would): only the ingress_nginx chart, the
  one they are about (``-e addons_render_roles``); this run must exit 0 too;
- the inputs that must stop the render, a cluster host each; each host's own failure message is checked.

Every host writes to ``<out>/<inventory_hostname>`` (``addons_render_dir`` is templated per host), and the
tests get copies of the parsed values, so no test sees another's changes.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

ENVIRONMENTS = ("local", "aws")
CHARTS = ("nfs_provisioner", "metrics_server", "ingress_nginx")
TG_ATTRIBUTES = "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"
CHECK_BINDINGS = "Ingress NGINX | Check the target groups to bind"
CHECK_ENVIRONMENT = "Environment | Check the inventory names a known environment"

# Cluster hosts added to the recorded aws inventory: what each one sets on top of its localhost.
PROXY_FROM_GROUPS = "aws-groups-send-proxy-protocol"
LB_PROXY = {True: "aws-own-nlb-proxy-protocol", False: "aws-own-nlb-plain"}
VARIANTS: dict[str, dict[str, Any]] = {
    # what the inventory writes when the stack's target groups have proxy protocol on
    PROXY_FROM_GROUPS: {"lab_ingress_proxy_protocol": True},
    # the role's other mode (no stack NLB): a LoadBalancer Service
    **{
        host: {
            "ingress_nginx_service_type": "LoadBalancer",
            "ingress_nginx_bind_target_groups": False,
            "ingress_nginx_proxy_protocol": proxy,
        }
        for proxy, host in LB_PROXY.items()
    },
}
# Hosts whose render must stop: the bad input, and what the failure says.
BAD_BINDINGS = [
    ({"ingress_nginx_service_type": "LoadBalancer"}, "one load balancer, not two"),
    ({"lab_ingress_target_groups": {}}, "infra up --env aws --from inventory"),
    ({"lab_ingress_target_groups": {"http": "arn:x", "https": "arn:y"}}, "port name: target group ARN"),
]
UNKNOWN_ENVIRONMENT = "unknown-environment"


def _read(out: Path, charts: tuple[str, ...] = CHARTS) -> dict[str, Any]:
    """Every chart's values and, under ``<role>-objects``, what a role applies beside its chart."""
    rendered = {chart: json.loads((out / f"{chart}.json").read_text()) for chart in charts}
    for objects in out.glob("*-objects.json"):
        rendered[objects.stem] = json.loads(objects.read_text())
    return rendered


def _render(ansible: Any, inventory: Path, out: Path, **extra: Any) -> Any:
    """render.yml over ``inventory``; each host writes to ``out/<inventory_hostname>``."""
    return ansible.run(
        "render.yml", inventory, {"addons_render_dir": f"{out}/{{{{ inventory_hostname }}}}", **extra}
    )


def _aws_with_cluster_hosts(ansible: Any, hosts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The recorded aws inventory whose cluster group holds ``hosts`` instead of ``localhost``: each one
    localhost's variables with its own changes (the group variables stay those of the recording)."""
    data = ansible.load_fixture("aws")
    cluster = data["all"]["children"]["cluster"]
    cluster["hosts"] = {name: {**cluster["hosts"]["localhost"], **changes} for name, changes in hosts.items()}
    return data


@pytest.fixture(scope="module")
def _recorded(ansible: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Both recorded inventories, as they are, rendered: every chart."""
    rendered = {}
    for env in ENVIRONMENTS:
        out = tmp_path_factory.mktemp(f"values-{env}")
        run = _render(ansible, ansible.fixtures / f"{env}.yml", out)
        assert run.returncode == 0, run.output
        rendered[env] = _read(out / "localhost")
    return rendered


@pytest.fixture(scope="module")
def _variants(ansible: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every aws variant rendered in one run, by host name: the ingress_nginx chart only."""
    out = tmp_path_factory.mktemp("values-aws-variants")
    inventory = ansible.write_inventory(out / "inventory.yml", _aws_with_cluster_hosts(ansible, VARIANTS))
    run = _render(ansible, inventory, out, addons_render_roles=["ingress_nginx"])
    assert run.returncode == 0, run.output
    return {host: _read(out / host, ("ingress_nginx",)) for host in VARIANTS}


@pytest.fixture
def rendered(_recorded: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A copy of the recorded inventories' values, by environment."""
    return copy.deepcopy(_recorded)


@pytest.fixture
def variant(_variants: dict[str, dict[str, Any]]) -> Any:
    """``variant(host)``: a copy of what one aws variant host rendered."""
    return lambda host: copy.deepcopy(_variants[host])


@pytest.fixture(scope="module")
def stopped(ansible: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """One render.yml run of every input that must stop it, a cluster host each; and its output folder."""
    out = tmp_path_factory.mktemp("values-stopped")
    hosts = {f"bad-bindings-{i}": change for i, (change, _) in enumerate(BAD_BINDINGS)}
    hosts[UNKNOWN_ENVIRONMENT] = {"lab_environment": "gcp"}
    inventory = ansible.write_inventory(out / "inventory.yml", _aws_with_cluster_hosts(ansible, hosts))
    return _render(ansible, inventory, out), out


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


def test_proxy_protocol_follows_the_stack_target_groups(variant: Any) -> None:
    values = variant(PROXY_FROM_GROUPS)
    controller = values["ingress_nginx"]["controller"]
    assert controller["config"]["use-proxy-protocol"] == "true"
    assert TG_ATTRIBUTES not in controller["service"]["annotations"]


@pytest.mark.parametrize("proxy", [True, False])
def test_a_load_balancer_service_sets_proxy_protocol_on_both_sides_or_neither(
    proxy: bool, variant: Any
) -> None:
    """The role's other mode (no stack NLB): the NLB the Service asks for is configured as well."""
    values = variant(LB_PROXY[proxy])
    controller = values["ingress_nginx"]["controller"]
    nlb_side = "proxy_protocol_v2.enabled=true" in controller["service"]["annotations"].get(TG_ATTRIBUTES, "")
    nginx_side = controller["config"].get("use-proxy-protocol") == "true"
    assert nlb_side is nginx_side is proxy
    assert "ingress_nginx-objects" not in values


@pytest.mark.parametrize(
    ("host", "expected"),
    [(f"bad-bindings-{i}", expected) for i, (_, expected) in enumerate(BAD_BINDINGS)],
    ids=[expected for _, expected in BAD_BINDINGS],
)
def test_bad_target_group_bindings_stop_before_anything_is_installed(
    host: str, expected: str, stopped: tuple[Any, Path]
) -> None:
    run, out = stopped
    assert run.returncode != 0
    assert run.failed(host), run.output
    assert expected in " ".join(run.tasks[CHECK_BINDINGS][host]["msg"].split())
    assert not (out / host / "ingress_nginx.json").exists()


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


def test_unknown_environment_stops_with_a_clear_message(stopped: tuple[Any, Path]) -> None:
    run, out = stopped
    assert run.returncode != 0
    assert run.failed(UNKNOWN_ENVIRONMENT)
    message = run.tasks[CHECK_ENVIRONMENT][UNKNOWN_ENVIRONMENT]["msg"]
    assert "lab_environment is 'gcp', expected one of local, aws" in message
    assert not (out / UNKNOWN_ENVIRONMENT).exists()


@pytest.mark.parametrize(
    ("role", "version"),
    [("nfs_provisioner", "4.0.18"), ("metrics_server", "3.14.0"), ("ingress_nginx", "4.15.1")],
)
def test_charts_are_pinned(role: str, version: str, ansible: Any) -> None:
    defaults = yaml.safe_load((ansible.playbooks / "roles" / role / "defaults" / "main.yml").read_text())
    assert str(defaults[f"{role}_chart_version"]) == version
    assert defaults[f"{role}_chart_repo_url"].startswith("https://")
