"""The rendered workloads of every environment: schema, contract names, and the lab claims they carry.

Test names carry the claim IDs. Everything here looks at `kubectl kustomize` output (conftest.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import kubernetes_validate
import pytest
import yaml

from infra.checks.model import PodTemplate, pod_template
from infra.checks.quantity import parse_quantity
from infra.checks.rules.containers import image_problem, qos_class
from infra.checks.rules.references import references
from infra.ownership import OWNERSHIP_LABELS, is_owned
from infra.paths import MANIFESTS_DIR
from infra.render import Document

if TYPE_CHECKING:
    from conftest import Rendered

ENVS = ("local", "aws")
SUPPLIED = "infra.lab/supplied-at-runtime"
NLB_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-"

# docs/architecture.md, "Ownership and namespaces": fixed names the live probes rely on.
CONTRACT = [
    ("Deployment", "lab-tls", "web"),
    ("Service", "lab-tls", "web"),
    ("Ingress", "lab-tls", "web"),
    ("StatefulSet", "lab-sts", "web"),
    ("Service", "lab-sts", "web-headless"),
    ("Service", "lab-sts", "web"),
    ("StatefulSet", "lab-mysql", "mysql"),
    ("Service", "lab-mysql", "mysql"),
    ("Service", "lab-mysql", "mysql-read"),
    ("ConfigMap", "lab-mysql", "mysql"),
    ("Pod", "lab-qos", "qos-guaranteed"),
    ("Pod", "lab-qos", "qos-burstable"),
    ("Pod", "lab-qos", "qos-besteffort"),
    ("Deployment", "lab-hpa", "hpa-demo"),
    ("Service", "lab-hpa", "hpa-demo"),
    ("HorizontalPodAutoscaler", "lab-hpa", "hpa-demo"),
]
NLB_CONTRACT = [("Deployment", "lab-nlb", "echo"), ("Service", "lab-nlb", "echo")]
LAB_NAMESPACES = {"lab-ctl", "lab-ctl-peer", "lab-tls", "lab-sts", "lab-mysql", "lab-qos", "lab-hpa"}
INGRESS_HOST = {"local": "127-0-0-1.nip.io", "aws": "*.nip.io"}


def annotations(obj: dict[str, Any]) -> dict[str, str]:
    return obj["metadata"].get("annotations") or {}


def pinned(image: str) -> bool:
    """infra check's IMAGE-TAG decision: a digest, or an explicit tag other than latest."""
    return image_problem(image) is None


def template_of(obj: dict[str, Any]) -> PodTemplate:
    template = pod_template(Document(Path("rendered"), 0, obj))
    assert template is not None, obj["metadata"]["name"]
    return template


# ---- every environment -------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_environment_is_strict_schema_clean(rendered: dict[str, Rendered], env: str) -> None:
    errors = []
    for obj in rendered[env].objects:
        try:
            kubernetes_validate.validate(obj, f"{rendered[env].kube_version}.0", strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message}")
    assert not errors


def test_optional_components_are_strict_schema_clean(with_all_components: Rendered) -> None:
    for obj in with_all_components.objects:
        kubernetes_validate.validate(obj, f"{with_all_components.kube_version}.0", strict=True)
    assert with_all_components.get("Pod", "lab-qos", "qos-oversize")


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize(("kind", "namespace", "name"), CONTRACT)
def test_contract_objects_exist(
    rendered: dict[str, Rendered], env: str, kind: str, namespace: str, name: str
):
    assert rendered[env].get(kind, namespace, name)


@pytest.mark.parametrize("env", ENVS)
def test_git_3_every_object_carries_the_ownership_labels(rendered: dict[str, Rendered], env: str) -> None:
    unowned = [f"{o['kind']}/{o['metadata']['name']}" for o in rendered[env].objects if not is_owned(o)]
    assert not unowned
    assert len(rendered[env].objects) >= len(CONTRACT)


def test_git_3_components_are_labelled_too(with_all_components: Rendered) -> None:
    assert all(is_owned(obj) for obj in with_all_components.objects)


@pytest.mark.parametrize("env", ENVS)
def test_ownership_labels_never_reach_selectors_or_pod_templates(rendered: dict[str, Rendered], env: str):
    """Selectors are immutable, and pods/PVCs made by controllers are not ours to prune."""
    for obj in rendered[env].objects:
        spec = obj.get("spec") or {}
        selector = spec.get("selector") or {}
        selector = selector.get("matchLabels", selector) if isinstance(selector, dict) else {}
        template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        for key in OWNERSHIP_LABELS:
            assert key not in selector, obj["metadata"]["name"]
            assert key not in template_labels, obj["metadata"]["name"]


@pytest.mark.parametrize("env", ENVS)
def test_each_lab_has_its_own_namespace_object(rendered: dict[str, Rendered], env: str) -> None:
    expected = LAB_NAMESPACES | ({"lab-nlb"} if env == "aws" else set())
    namespaces = {o["metadata"]["name"] for o in rendered[env].of_kind("Namespace")}
    used = {o["metadata"]["namespace"] for o in rendered[env].objects if o["kind"] != "Namespace"}
    assert namespaces == expected
    assert used == expected  # nothing lands in `default` or in a namespace the set does not create


@pytest.mark.parametrize("env", ENVS)
def test_every_image_is_pinned(rendered: dict[str, Rendered], env: str) -> None:
    loose = [f"{where}={c['image']}" for where, c, _ in rendered[env].containers() if not pinned(c["image"])]
    assert not loose


@pytest.mark.parametrize("env", ENVS)
def test_every_container_sets_requests_and_limits(rendered: dict[str, Rendered], env: str) -> None:
    """All but the BestEffort demo pod, whose whole point is having none."""
    missing = []
    for where, container, _ in rendered[env].containers():
        if where.startswith("Pod/lab-qos/qos-besteffort"):
            assert not container.get("resources"), "the BestEffort pod must not set resources"
            continue
        res = container.get("resources") or {}
        for part in ("requests", "limits"):
            for name in ("cpu", "memory"):
                if name not in (res.get(part) or {}):
                    missing.append(f"{where} {part}.{name}")
    assert not missing


@pytest.mark.parametrize("env", ENVS)
def test_no_secret_or_key_material_in_git(rendered: dict[str, Rendered], env: str) -> None:
    assert rendered[env].of_kind("Secret") == []
    assert "PRIVATE KEY" not in rendered[env].text
    assert "MYSQL_ALLOW_EMPTY_PASSWORD" not in rendered[env].text
    for _, container, _ in rendered[env].containers():
        for var in container.get("env") or []:
            assert "value" not in var or not re.search("PASS|PWD|TOKEN|SECRET", var["name"]), var["name"]


def test_no_key_material_in_any_manifest_source() -> None:
    for path in MANIFESTS_DIR.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert "PRIVATE KEY-----" not in text, path
            assert "kind: Secret" not in text, path


def secret_refs(obj: dict[str, Any]) -> set[str]:
    """Secrets an Ingress (TLS) or a pod / pod template uses, read as infra check's SECRET-REF reads them."""
    if obj["kind"] == "Ingress":
        return {tls["secretName"] for tls in obj["spec"].get("tls") or []}
    document = Document(Path("rendered"), 0, obj)
    template = pod_template(document)
    return {ref.name for ref in references(template) if ref.kind == "Secret"} if template else set()


@pytest.mark.parametrize("env", ENVS)
def test_runtime_secrets_are_declared_where_referenced(rendered: dict[str, Rendered], env: str) -> None:
    """Every Secret an object uses is declared `infra.lab/supplied-at-runtime` on that object."""
    used: set[str] = set()
    for obj in rendered[env].objects:
        refs = secret_refs(obj)
        used |= refs
        declared = {e.strip() for e in annotations(obj).get(SUPPLIED, "").split(",") if e.strip()}
        assert {f"Secret/{name}" for name in refs} <= declared, obj["metadata"]["name"]
    assert used == {"mysql-credentials", "web-tls", "ctl-secret"}


def test_every_yaml_source_passes_yamllint() -> None:
    repo = MANIFESTS_DIR.parent
    done = subprocess.run(
        [Path(sys.executable).with_name("yamllint"), "--strict", "-c", repo / ".yamllint", MANIFESTS_DIR],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# ---- TLS-1..3 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_tls_1_web_app_three_replicas_on_8080_behind_a_nodeport(rendered: dict[str, Rendered], env: str):
    deploy = rendered[env].get("Deployment", "lab-tls", "web")
    service = rendered[env].get("Service", "lab-tls", "web")
    assert deploy["spec"]["replicas"] == 3
    (container,) = deploy["spec"]["template"]["spec"]["containers"]
    assert [p["containerPort"] for p in container["ports"]] == [8080]
    assert "--port=8080" in container["args"]
    assert service["spec"]["type"] == "NodePort"
    labels = deploy["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in service["spec"]["selector"].items())


@pytest.mark.parametrize("env", ENVS)
def test_tls_1_ingress_terminates_tls_for_the_environments_host(rendered: dict[str, Rendered], env: str):
    ingress = rendered[env].get("Ingress", "lab-tls", "web")
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    (tls,) = spec["tls"]
    (rule,) = spec["rules"]
    assert tls["secretName"] == "web-tls"
    assert tls["hosts"] == [rule["host"]] == [INGRESS_HOST[env]]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "web", "port": {"name": "http"}}


@pytest.mark.parametrize("env", ENVS)
def test_tls_3_plain_http_redirects_and_the_secret_comes_at_run_time(rendered: dict[str, Rendered], env: str):
    ann = annotations(rendered[env].get("Ingress", "lab-tls", "web"))
    assert ann["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
    assert ann[SUPPLIED] == "Secret/web-tls"


# ---- STS-1..5 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_sts_1_headless_and_clusterip_services_over_the_same_pods(rendered: dict[str, Rendered], env: str):
    headless = rendered[env].get("Service", "lab-sts", "web-headless")
    clusterip = rendered[env].get("Service", "lab-sts", "web")
    sts = rendered[env].get("StatefulSet", "lab-sts", "web")
    assert headless["spec"]["clusterIP"] == "None"
    assert clusterip["spec"].get("clusterIP") != "None"
    assert headless["spec"]["selector"] == clusterip["spec"]["selector"]
    assert headless["spec"]["selector"].items() <= sts["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize("env", ENVS)
def test_sts_2_statefulset_of_three_governed_by_the_headless_service(rendered: dict[str, Rendered], env: str):
    sts = rendered[env].get("StatefulSet", "lab-sts", "web")
    assert sts["spec"]["replicas"] == 3
    assert sts["spec"]["serviceName"] == "web-headless"
    assert sts["spec"]["podManagementPolicy"] == "OrderedReady"


@pytest.mark.parametrize(("namespace", "name"), [("lab-sts", "web"), ("lab-mysql", "mysql")])
@pytest.mark.parametrize("env", ENVS)
def test_sts_4_volume_claim_templates_are_nfs_client_rwo_1gi(
    rendered: dict[str, Rendered], env: str, namespace: str, name: str
) -> None:
    sts = rendered[env].get("StatefulSet", namespace, name)
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["storageClassName"] == "nfs-client"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert parse_quantity(claim["spec"]["resources"]["requests"]["storage"]) == parse_quantity("1Gi")


@pytest.mark.parametrize("env", ENVS)
def test_sts_5_pods_mount_data_and_scaling_down_keeps_the_pvcs(rendered: dict[str, Rendered], env: str):
    sts = rendered[env].get("StatefulSet", "lab-sts", "web")
    (container,) = sts["spec"]["template"]["spec"]["containers"]
    assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"]
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenScaled"] == "Retain"
    assert not container["image"].startswith(("traefik/", "registry.k8s.io/pause")), "probes need /bin/sh"


# ---- SQL-1..5 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_sql_1_headless_mysql_and_read_service(rendered: dict[str, Rendered], env: str) -> None:
    headless = rendered[env].get("Service", "lab-mysql", "mysql")
    read = rendered[env].get("Service", "lab-mysql", "mysql-read")
    sts = rendered[env].get("StatefulSet", "lab-mysql", "mysql")
    assert headless["spec"]["clusterIP"] == "None"
    assert read["spec"]["type"] == "ClusterIP"
    assert read["spec"].get("clusterIP") != "None"
    assert sts["spec"]["serviceName"] == "mysql"
    assert sts["spec"]["replicas"] == 3
    pod_labels = sts["spec"]["template"]["metadata"]["labels"]
    for svc in (headless, read):
        assert svc["spec"]["selector"].items() <= pod_labels.items()
        assert [p["port"] for p in svc["spec"]["ports"]] == [3306]


@pytest.mark.parametrize("env", ENVS)
def test_sql_1_primary_binlog_and_super_read_only_replica_config(rendered: dict[str, Rendered], env: str):
    data = rendered[env].get("ConfigMap", "lab-mysql", "mysql")["data"]
    assert re.search(r"^log-bin\b", data["primary.cnf"], re.M)
    assert re.search(r"^super-read-only\s*$", data["replica.cnf"], re.M)
    assert "super-read-only" not in data["primary.cnf"]
    spec = rendered[env].get("StatefulSet", "lab-mysql", "mysql")["spec"]["template"]["spec"]
    script = spec["initContainers"][0]["command"][-1]
    for part in ("primary.cnf", "replica.cnf", "100 + ordinal"):
        assert part in script


@pytest.mark.parametrize("env", ENVS)
def test_sql_5_credentials_from_the_runtime_secret_never_empty(
    rendered: dict[str, Rendered], env: str
) -> None:
    sts = rendered[env].get("StatefulSet", "lab-mysql", "mysql")
    assert annotations(sts)[SUPPLIED] == "Secret/mysql-credentials"
    containers = {c["name"]: c for c in sts["spec"]["template"]["spec"]["containers"]}
    assert set(containers) == {"mysql", "xtrabackup"}
    env_vars = {v["name"]: v for v in containers["mysql"]["env"]}
    assert env_vars["MYSQL_ROOT_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "mysql-credentials",
        "key": "root-password",
    }
    forbidden = {"MYSQL_ALLOW_EMPTY_PASSWORD", "MYSQL_RANDOM_ROOT_PASSWORD"}
    for container in containers.values():
        assert not forbidden & {v["name"] for v in container.get("env") or []}
        assert "MASTER_PASSWORD=''" not in str(container.get("command"))


@pytest.mark.parametrize("env", ENVS)
def test_sql_2_probes_and_versions_pinned_together(rendered: dict[str, Rendered], env: str) -> None:
    spec = rendered[env].get("StatefulSet", "lab-mysql", "mysql")["spec"]["template"]["spec"]
    mysql = next(c for c in spec["containers"] if c["name"] == "mysql")
    assert mysql["livenessProbe"]["exec"]
    assert mysql["readinessProbe"]["exec"]
    assert "SELECT 1" in mysql["readinessProbe"]["exec"]["command"][-1]
    images = {c["image"] for c in [*spec["initContainers"], *spec["containers"]]}
    server = {i for i in images if i.startswith("mysql:")}
    backup = {i for i in images if i.startswith("percona/percona-xtrabackup:")}
    assert len(server) == len(backup) == 1
    assert len(images) == 2
    server_version = server.pop().split(":")[1]
    backup_version = backup.pop().split(":")[1]
    assert server_version.startswith("8.0.")
    assert backup_version.startswith("8.0.")
    # Percona XtraBackup 8.0.34 and later back up every later 8.0.x server; older ones need an equal server.
    pxb = tuple(int(x) for x in backup_version.split("-")[0].split("."))
    assert pxb >= (8, 0, 34) or backup_version.split("-")[0] >= server_version


@pytest.mark.parametrize("env", ENVS)
def test_sql_4_replicas_clone_from_the_previous_pod_and_replicate_from_mysql_0(
    rendered: dict[str, Rendered], env: str
) -> None:
    spec = rendered[env].get("StatefulSet", "lab-mysql", "mysql")["spec"]["template"]["spec"]
    clone = next(c for c in spec["initContainers"] if c["name"] == "clone-mysql")
    sidecar = next(c for c in spec["containers"] if c["name"] == "xtrabackup")
    assert "mysql-$((ordinal - 1)).mysql:3307" in clone["command"][-1]
    assert "xtrabackup --prepare" in clone["command"][-1]
    assert "SOURCE_HOST='mysql-0.mysql'" in sidecar["command"][-1]
    assert "--stream=xbstream" in sidecar["command"][-1]
    assert [p["containerPort"] for p in sidecar["ports"]] == [3307]


@pytest.mark.parametrize("env", ENVS)
def test_sql_three_replicas_fit_a_laptop(rendered: dict[str, Rendered], env: str) -> None:
    """The scheduler counts max(any init container, sum of containers) per pod."""
    spec = rendered[env].get("StatefulSet", "lab-mysql", "mysql")["spec"]["template"]["spec"]

    def pod_request(name: str) -> Decimal:
        summed = sum(parse_quantity(c["resources"]["requests"][name]) for c in spec["containers"])
        inits = [parse_quantity(c["resources"]["requests"][name]) for c in spec["initContainers"]]
        return max([summed, *inits])

    assert 3 * pod_request("cpu") <= Decimal("1.5")
    assert 3 * pod_request("memory") <= parse_quantity("2.5Gi")


# ---- QOS-1..2 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize(
    ("pod", "expected"),
    [("qos-guaranteed", "Guaranteed"), ("qos-burstable", "Burstable"), ("qos-besteffort", "BestEffort")],
)
def test_qos_1_each_pod_gets_its_class(
    rendered: dict[str, Rendered], env: str, pod: str, expected: str
) -> None:
    obj = rendered[env].get("Pod", "lab-qos", pod)
    assert qos_class(template_of(obj)) == expected == annotations(obj)["infra.lab/expected-qos"]


@pytest.mark.parametrize("env", ENVS)
def test_qos_2_oversize_pod_is_opt_in(rendered: dict[str, Rendered], env: str) -> None:
    assert not [o for o in rendered[env].of_kind("Pod") if o["metadata"]["name"] == "qos-oversize"]


def test_qos_2_oversize_pod_requests_more_than_any_node(with_all_components: Rendered) -> None:
    pod = with_all_components.get("Pod", "lab-qos", "qos-oversize")
    requests = pod["spec"]["containers"][0]["resources"]["requests"]
    assert parse_quantity(requests["cpu"]) >= 256
    assert parse_quantity(requests["memory"]) >= parse_quantity("1Ti")


# ---- HPA-1..4 / GIT-4 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_hpa_1_autoscaling_v2_on_50_percent_cpu_between_1_and_10(rendered: dict[str, Rendered], env: str):
    hpa = rendered[env].get("HorizontalPodAutoscaler", "lab-hpa", "hpa-demo")
    assert hpa["apiVersion"] == "autoscaling/v2"
    spec = hpa["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (1, 10)
    (metric,) = spec["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 50}


@pytest.mark.parametrize("env", ENVS)
def test_hpa_4_target_resolves_and_every_container_requests_cpu(rendered: dict[str, Rendered], env: str):
    ref = rendered[env].get("HorizontalPodAutoscaler", "lab-hpa", "hpa-demo")["spec"]["scaleTargetRef"]
    assert ref == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "hpa-demo"}
    target = rendered[env].get(ref["kind"], "lab-hpa", ref["name"])
    assert target["apiVersion"] == ref["apiVersion"]
    containers = target["spec"]["template"]["spec"]["containers"]
    assert [parse_quantity(c["resources"]["requests"]["cpu"]) for c in containers] == [Decimal("0.2")]
    assert all("cpu" in c["resources"]["limits"] for c in containers)


@pytest.mark.parametrize("env", ENVS)
def test_git_4_hpa_target_has_no_replicas(rendered: dict[str, Rendered], env: str) -> None:
    assert "replicas" not in rendered[env].get("Deployment", "lab-hpa", "hpa-demo")["spec"]


@pytest.mark.parametrize("env", ENVS)
def test_hpa_3_fast_scale_out_and_a_bounded_scale_in_window(rendered: dict[str, Rendered], env: str) -> None:
    behavior = rendered[env].get("HorizontalPodAutoscaler", "lab-hpa", "hpa-demo")["spec"]["behavior"]
    up, down = behavior["scaleUp"], behavior["scaleDown"]
    assert up["stabilizationWindowSeconds"] == 0
    assert all(p["periodSeconds"] <= 15 for p in up["policies"])
    assert max(p["value"] for p in up["policies"] if p["type"] == "Pods") >= 4  # at least the default
    assert 0 < down["stabilizationWindowSeconds"] < 300  # documented, and shorter than the 300 s default


@pytest.mark.parametrize("env", ENVS)
def test_hpa_pods_are_ready_checked_and_drain_before_stopping(
    rendered: dict[str, Rendered], env: str
) -> None:
    spec = rendered[env].get("Deployment", "lab-hpa", "hpa-demo")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["readinessProbe"]
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert 0 < pre_stop < spec["terminationGracePeriodSeconds"]


# ---- NLB-1..3 ------------------------------------------------------------------------------------------


def test_nlb_1_echo_behind_an_internet_facing_nlb_in_ip_mode(rendered: dict[str, Rendered]) -> None:
    service = rendered["aws"].get("Service", "lab-nlb", "echo")
    deploy = rendered["aws"].get("Deployment", "lab-nlb", "echo")
    ann = annotations(service)
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["loadBalancerClass"] == "service.k8s.aws/nlb"
    assert ann[NLB_ANNOTATION + "type"] == "external"
    assert ann[NLB_ANNOTATION + "nlb-target-type"] == "ip"
    assert ann[NLB_ANNOTATION + "scheme"] == "internet-facing"
    assert "proxy_protocol_v2" not in ann.get(NLB_ANNOTATION + "target-group-attributes", "")
    assert deploy["spec"]["replicas"] >= 2  # NLB-3 needs several pods to spread over
    assert service["spec"]["selector"].items() <= deploy["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize(("kind", "namespace", "name"), NLB_CONTRACT)
def test_nlb_lab_is_aws_only(rendered: dict[str, Rendered], kind: str, namespace: str, name: str) -> None:
    assert rendered["aws"].get(kind, namespace, name)
    with pytest.raises(AssertionError, match="no "):
        rendered["local"].get(kind, namespace, name)


def test_nlb_annotations_only_in_aws(rendered: dict[str, Rendered]) -> None:
    def annotated(env: str) -> list[str]:
        objects = rendered[env].objects
        return [
            o["metadata"]["name"]
            for o in objects
            if any(k.startswith(NLB_ANNOTATION) for k in annotations(o))
        ]

    assert annotated("local") == []
    assert annotated("aws") == ["echo"]


def test_nlb_proxy_protocol_v2_component_enables_both_sides(with_all_components: Rendered) -> None:
    service = with_all_components.get("Service", "lab-nlb", "echo")
    attributes = annotations(service)[NLB_ANNOTATION + "target-group-attributes"].split(",")
    assert "proxy_protocol_v2.enabled=true" in attributes
    assert "deregistration_delay.timeout_seconds=30" in attributes
    (port,) = service["spec"]["ports"]
    spec = with_all_components.get("Deployment", "lab-nlb", "echo")["spec"]["template"]["spec"]
    ports = {p["name"]: p["containerPort"] for c in spec["containers"] for p in c["ports"]}
    config = with_all_components.get("ConfigMap", "lab-nlb", "echo-proxy-protocol")["data"]["default.conf"]
    listen = ports[port["targetPort"]]
    assert f"listen {listen} proxy_protocol;" in config
    assert any(v["configMap"]["name"] == "echo-proxy-protocol" for v in spec["volumes"] if "configMap" in v)


# ---- components are Components, environments hold only differences ------------------------------------


@pytest.mark.parametrize("component", ["nlb", "nlb-proxy-protocol", "qos-pending", "ownership"])
def test_optional_pieces_are_kustomize_components(component: str) -> None:
    doc = yaml.safe_load((MANIFESTS_DIR / "components" / component / "kustomization.yaml").read_text())
    assert doc["kind"] == "Component"
    assert "namespace" not in doc  # a Component's namespace would rewrite the whole environment


@pytest.mark.parametrize("env", ENVS)
def test_environments_build_on_the_shared_base(env: str) -> None:
    doc = yaml.safe_load((MANIFESTS_DIR / "envs" / env / "kustomization.yaml").read_text())
    assert doc["resources"] == ["../../base"]
    assert doc["components"][-1] == "../../components/ownership"


@pytest.mark.parametrize(
    ("image", "ok"),
    [
        ("nginx:1.30.5-alpine", True),
        ("registry.k8s.io/pause:3.10.1", True),
        ("mysql@sha256:" + "a" * 64, True),
        ("nginx", False),
        ("nginx:latest", False),
        ("localhost:5000/app", False),
    ],
)
def test_pinned_image_rule(image: str, ok: bool) -> None:
    assert pinned(image) is ok


# ---- the toolkit's own checker --------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_infra_check_is_clean(env: str) -> None:
    """`infra check manifests/envs/<env>`: no error or warning findings, exit 0."""
    checks = pytest.importorskip("infra.checks")
    from infra.cli import main
    from infra.environments import ENVIRONMENTS
    from infra.render import render_env

    version = ENVIRONMENTS[env].kube_version
    findings = checks.check_documents(render_env(env), version)
    assert [f.line() for f in findings if f.severity >= checks.Severity.WARNING] == []
    assert main(["check", str(MANIFESTS_DIR / "envs" / env), "--kube-version", version, "--strict"]) == 0
