"""Each policy rule: a failing fixture trips exactly that rule with its message, a passing one is clean."""

from __future__ import annotations

import base64
import textwrap

import pytest
import yaml

from infra.checks import RULES, Severity, check_documents
from infra.checks.rules.credentials import is_reference, is_secret_name
from infra.render import collect
from tests.unit.checks.test_upstream_rules import NEW_RULES

BAD = [
    # (fixture, rule, text the message must contain)
    (
        "hpa/bad-no-apiversion.yaml",
        "HPA-TARGET",
        'FailedGetScale: no matches for kind "Deployment" in group ""',
    ),
    ("hpa/bad-wrong-group.yaml", "HPA-TARGET", 'no matches for kind "Deployment" in group "extensions"'),
    ("hpa/bad-unknown-target.yaml", "HPA-TARGET", "Deployment/hpa-dmeo, which is not in the set"),
    ("hpa/bad-daemonset.yaml", "HPA-TARGET", "names a DaemonSet, which has no scale subresource"),
    ("hpa/bad-no-cpu-request.yaml", "HPA-REQUEST", "missing request for cpu"),
    ("hpa/bad-replicas.yaml", "HPA-REPLICAS", "spec.replicas is set"),
    ("sts/bad-no-service.yaml", "STS-SERVICE", "serviceName web-hl names no Service"),
    ("sts/bad-not-headless.yaml", "STS-SERVICE", "is not headless"),
    ("svc/bad-selector.yaml", "SVC-SELECTOR", "selector app=wbe matches no pod template"),
    ("svc/bad-namespace.yaml", "SVC-SELECTOR", "matches no pod template in namespace default"),
    ("svc/bad-port-name.yaml", "SVC-PORT", "targetPort 'web' is not a named container port"),
    ("ingress/bad-service.yaml", "ING-BACKEND", "backend Service website is not in the set"),
    ("ingress/bad-port-number.yaml", "ING-BACKEND", "has no port 80 (its ports: 8080/http)"),
    ("ingress/bad-port-name.yaml", "ING-BACKEND", "has no port https"),
    ("ingress/bad-tls-undeclared.yaml", "ING-TLS", "names no Secret in the set, and none is declared"),
    ("ingress/bad-tls-type.yaml", "ING-TLS", "is of type Opaque, not kubernetes.io/tls"),
    ("ingress/bad-declaration.yaml", "SUPPLIED-DECL", "entry 'web-tls' is not Kind/name"),
    (
        "refs/bad-secret-undeclared.yaml",
        "SECRET-REF",
        "uses Secret mysql-credentials, which is not in the set",
    ),
    ("refs/bad-secret-volume.yaml", "SECRET-REF", "volume certs uses Secret mysql-certs"),
    ("refs/bad-secret-key.yaml", "SECRET-REF", "uses key root-password of Secret mysql-credentials"),
    ("refs/bad-configmap.yaml", "CONFIGMAP-REF", "uses ConfigMap mysql-config"),
    (
        "apis/bad-hpa-v2beta2.yaml",
        "API-REMOVED",
        "autoscaling/v2beta2 HorizontalPodAutoscaler was removed in v1.26",
    ),
    ("apis/bad-pdb-v1beta1.yaml", "API-REMOVED", "policy/v1beta1 PodDisruptionBudget was removed in v1.25"),
    ("images/bad-no-tag.yaml", "IMAGE-TAG", "image nginx has no tag"),
    ("images/bad-latest.yaml", "IMAGE-TAG", "uses the :latest tag"),
    (
        "images/bad-registry-port.yaml",
        "IMAGE-TAG",
        "init container init image registry.local:5000/busybox has no tag",
    ),
    ("creds/bad-empty-password.yaml", "CRED-IN-GIT", "MYSQL_ALLOW_EMPTY_PASSWORD=1"),
    ("creds/bad-literal-password.yaml", "CRED-IN-GIT", "env MYSQL_ROOT_PASSWORD has a literal value"),
    ("creds/bad-secret-password.yaml", "CRED-IN-GIT", "Secret key root-password holds a credential"),
    ("resources/bad-request-above-limit.yaml", "RES-LIMITS", "requests cpu 1 above its limit 500m"),
    ("resources/bad-quantity.yaml", "RES-LIMITS", "'128 mi' is not a quantity"),
    ("schema/bad-v1-field-in-v2.yaml", "SCHEMA", "'targetCPUUtilizationPercentage' was unexpected"),
    ("schema/bad-type.yaml", "SCHEMA", "containerPort: '8080' is not of type 'integer'"),
    # Kubernetes semantics the rules follow (review findings): each a mistake the API server or a controller
    # would only show on a cluster.
    ("svc/bad-port-protocol.yaml", "SVC-PORT", "with protocol TCP (named ports: dns/UDP)"),
    ("ingress/bad-path.yaml", "ING-BACKEND", "path 'api' (pathType Prefix) must be an absolute path"),
    (
        "ingress/bad-tls-other-namespace.yaml",
        "ING-TLS",
        "an Ingress can only use Secrets of its own namespace lab-tls",
    ),
    (
        "hpa/bad-sidecar-no-cpu-request.yaml",
        "HPA-REQUEST",
        'missing request for cpu: sidecar container "proxy"',
    ),
    ("hpa/bad-memory-request.yaml", "HPA-REQUEST", 'missing request for memory: container "app"'),
    ("hpa/bad-container-resource-name.yaml", "HPA-REQUEST", "names container application, which the pods"),
    (
        "hpa/bad-crd-no-scale.yaml",
        "HPA-TARGET",
        "version example.com/v1 no scale subresource: FailedGetScale",
    ),
    ("resources/bad-extended-no-limit.yaml", "RES-LIMITS", "requests nvidia.com/gpu without a limit"),
    ("resources/bad-extended-overcommit.yaml", "RES-LIMITS", "requests nvidia.com/gpu 1 but limits it to 2"),
    ("resources/bad-hugepages-alone.yaml", "RES-LIMITS", "HugePages require cpu or memory"),
    ("resources/bad-negative.yaml", "RES-LIMITS", "resources.requests.cpu -1 is negative"),
    ("images/bad-empty-tag.yaml", "IMAGE-TAG", "image nginx: has an empty tag"),
    ("images/bad-local-registry.yaml", "IMAGE-TAG", "image localhost:5000/report has no tag"),
]

GOOD = [
    "hpa/good.yaml",
    "hpa/good-default-metrics-limit.yaml",
    "sts/good.yaml",
    "svc/good.yaml",
    "ingress/good.yaml",
    "ingress/good-tls-secret.yaml",
    "refs/good.yaml",
    "apis/good.yaml",
    "images/good.yaml",
    "creds/good.yaml",
    "resources/good.yaml",
    "resources/qos.yaml",
    "crd/good.yaml",
    "svc/good-sidecar-port.yaml",
    "ingress/good-paths.yaml",
    "hpa/good-no-requests-needed.yaml",
    "hpa/good-pod-level-requests.yaml",
    "resources/good-extended.yaml",
    "creds/good-references.yaml",
]


@pytest.mark.parametrize(("fixture", "rule", "text"), BAD, ids=[b[0] for b in BAD])
def test_bad_fixture_trips_its_rule(check, fixture, rule, text):
    findings = check(fixture)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    assert {f.rule for f in errors} == {rule}, [f.line() for f in errors]
    assert any(text in f.message for f in errors), [f.line() for f in errors]
    assert all(f.hint for f in errors)


def test_sts_selector_mismatch_is_reported_on_both_sides(check):
    rules = {f.rule for f in check("sts/bad-selector.yaml") if f.severity is Severity.ERROR}
    assert rules == {"STS-SERVICE", "SVC-SELECTOR"}


@pytest.mark.parametrize("fixture", GOOD)
def test_good_fixture_is_clean(check, fixture):
    assert [f.line() for f in check(fixture) if f.severity > Severity.INFO] == []


def test_every_rule_has_a_failing_fixture():
    covered = {rule for _f, rule, _t in BAD} | {"STS-SERVICE", "API-DEPRECATED", "QOS-CLASS", "HPA-VERSION"}
    covered |= NEW_RULES  # the API server's validation and the set checks: test_upstream_rules.py
    plan_rules = {"RENDER", "ENVCONFIG", "ANSIBLE-SYNTAX"}  # tested in test_plan.py
    assert set(RULES) - plan_rules <= covered


# HPA-4: the lab's two mistakes, caught before anything is applied, with rule and hint.
def test_hpa4_scale_target_ref_without_api_version(check):
    (finding,) = [f for f in check("hpa/bad-no-apiversion.yaml") if f.rule == "HPA-TARGET"]
    assert finding.subject == "HorizontalPodAutoscaler/lab-hpa/hpa-demo"
    assert 'FailedGetScale: no matches for kind "Deployment" in group ""' in finding.message
    assert finding.hint == "set scaleTargetRef.apiVersion: apps/v1"


def test_an_autoscaling_v1_hpa_is_a_warning_naming_the_v2_form(check):
    findings = [f for f in check("hpa/bad-autoscaling-v1.yaml") if f.severity > Severity.INFO]
    assert [(f.rule, f.severity) for f in findings] == [("HPA-VERSION", Severity.WARNING)]
    assert findings[0].message.startswith("autoscaling/v1 HorizontalPodAutoscaler")
    assert "apiVersion: autoscaling/v2" in findings[0].hint


def test_hpa4_target_without_cpu_request(check):
    (finding,) = [f for f in check("hpa/bad-no-cpu-request.yaml") if f.rule == "HPA-REQUEST"]
    assert finding.subject == "Deployment/lab-hpa/hpa-demo"
    assert finding.message.startswith('missing request for cpu: container "app"')
    assert "resources.requests.cpu" in finding.hint


def test_pod_level_requests_count_only_where_the_target_enables_them(check):
    """PodLevelResources is on by default from 1.34; before, the API server drops spec.resources."""
    assert [f.rule for f in check("hpa/good-pod-level-requests.yaml", kube_version="1.33") if f.severity] == [
        "HPA-REQUEST"
    ]


def test_deprecated_api_is_a_warning_while_still_served(check):
    findings = check("apis/bad-hpa-v2beta2.yaml", kube_version="1.25")
    (deprecated,) = [f for f in findings if f.rule == "API-DEPRECATED"]
    assert deprecated.severity is Severity.WARNING
    assert "removed in Kubernetes v1.26" in deprecated.message
    assert deprecated.hint == "use autoscaling/v2"
    assert "API-REMOVED" not in {f.rule for f in findings}


@pytest.mark.parametrize(
    ("pod", "qos"),
    [("qos-guaranteed", "Guaranteed"), ("qos-burstable", "Burstable"), ("qos-besteffort", "BestEffort")],
)
def test_qos_class_is_reported_as_info(check, pod, qos):
    (finding,) = [f for f in check("resources/qos.yaml") if f.subject == f"Pod/{pod}"]
    assert (finding.rule, finding.severity, finding.message) == (
        "QOS-CLASS",
        Severity.INFO,
        f"QoS class {qos}",
    )


def test_findings_point_at_file_and_document(check, fixtures):
    (finding,) = [f for f in check("ingress/bad-service.yaml") if f.rule == "ING-BACKEND"]
    assert finding.where.endswith("fixtures/ingress/bad-service.yaml#2")
    assert finding.line().startswith(
        f"{finding.where} Ingress/lab-tls/web ING-BACKEND: backend Service website"
    )
    assert " — fix the backend service name" in finding.line()


# Key material is assembled here, not committed as fixtures, so that secret scanners stay quiet on the repo.
PEM = (
    "-----BEGIN "
    + "PRIVATE KEY-----\nMIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEA\n-----END "
    + "PRIVATE KEY-----\n"
)
KUBECONFIG = "users:\n- name: admin\n  user:\n    client-key-data: " + "LS0tLS1CRUdJTiBSU0Eg" * 2 + "\n"


def _config_map(key: str, value: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {key: value}}


def _pod_args(*args: str) -> dict:
    container = {"name": "c", "image": "mysql:8.0.40", "args": list(args)}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [container]}}


@pytest.mark.parametrize(
    ("obj", "text"),
    [
        (
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t"}, "type": "kubernetes.io/tls"}
            | {"stringData": {"tls.crt": "x", "tls.key": PEM}},
            "Secret key tls.key holds private key material",
        ),
        (
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t"}}
            | {"data": {"key.pem": base64.b64encode(PEM.encode()).decode()}},
            "Secret key key.pem holds private key material",
        ),
        (_config_map("kubeconfig", KUBECONFIG), "data.kubeconfig holds a kubeconfig client-key-data"),
        (_config_map("id_rsa", PEM), "data.id_rsa holds private key material"),
        (
            _config_map("aws", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE"),
            "data.aws holds an AWS access key ID",
        ),
        (_pod_args("--password=hunter22"), "container c passes a literal password on its command line"),
        (  # line-wrapped base64 is valid Secret data: the API server ignores the newlines
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t"}}
            | {"data": {"key.pem": "\n".join(textwrap.wrap(base64.b64encode(PEM.encode()).decode(), 40))}},
            "Secret key key.pem holds private key material",
        ),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}
            | {"binaryData": {"key.bin": base64.b64encode(PEM.encode()).decode()}},
            "binaryData.key.bin holds private key material",
        ),
        (_config_map("tls.key", "c2VjcmV0"), "data.tls.key holds a credential value"),
    ],
)
def test_credentials_in_any_object_are_caught(tmp_path, obj, text):
    path = tmp_path / "creds.yaml"
    path.write_text(yaml.safe_dump(obj))
    findings = [f for f in check_documents(collect([path]), "1.35") if f.rule == "CRED-IN-GIT"]
    assert [f.message for f in findings] == [text]
    assert findings[0].severity is Severity.ERROR


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("MYSQL_ROOT_PASSWORD", True),
        ("api-key", True),
        ("db.password", True),
        ("GITHUB_TOKEN", True),
        ("MYSQL_ROOT_PASSWORD_FILE", False),
        ("MYSQL_USER", False),
        ("TOKEN_TTL", False),
        ("LOG_LEVEL", False),
    ],
)
def test_secret_like_names(name, secret):
    assert is_secret_name(name) is secret


@pytest.mark.parametrize(
    ("value", "reference"),
    [
        ("$(MYSQL_ROOT_PASSWORD)", True),
        ("${DB_PASSWORD}", True),
        ("$DB_PASSWORD", True),
        ("MYSQL_ROOT_PASSWORD", True),
        ("hunter22", False),
        ("$ecret-pass", False),
        ("PASSWORD", False),
        ("prefix-$(MYSQL_ROOT_PASSWORD)", False),
    ],
)
def test_references_to_credentials_are_not_credentials(value, reference):
    assert is_reference(value) is reference
