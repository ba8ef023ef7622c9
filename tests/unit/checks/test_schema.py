"""Strict schemas (kubernetes-validate), unknown kinds, quantities, and QoS classes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from infra.checks import check_documents, schema
from infra.checks.model import pod_level_resources, pod_template
from infra.checks.quantity import parse_quantity
from infra.checks.rules.containers import qos_class
from infra.errors import InfraError
from infra.render import Document, collect


def test_strict_schema_rejects_a_v1_field_inside_autoscaling_v2():
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "maxReplicas": 3,
            "targetCPUUtilizationPercentage": 50,
        },
    }
    errors = schema.validate(hpa, "1.35")
    assert errors == [
        "spec: Additional properties are not allowed ('targetCPUUtilizationPercentage' was unexpected)"
    ]
    del hpa["spec"]["targetCPUUtilizationPercentage"]
    assert schema.validate(hpa, "1.35") == []


def test_validators_are_built_once_per_kind():
    schema.validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}, "1.35")
    before = schema._validator.cache_info().hits
    schema.validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}, "1.35")
    assert schema._validator.cache_info().hits == before + 1


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [("apps/v1", "Deploymnet"), ("apps.example.com/v1", "Deployment"), ("v1", "../Pod")],
)
def test_no_schema_for_unknown_or_custom_kinds(api_version, kind):
    assert not schema.has_schema("1.35", api_version, kind)


def test_unknown_kind_is_a_usage_error(fixtures):
    with pytest.raises(
        InfraError, match=r"unknown kind for Kubernetes 1.35: .*unknown-kind\.yaml#0 apps/v1 Deploymnet"
    ):
        check_documents(collect([fixtures / "bad-input" / "unknown-kind.yaml"]), "1.35")


def test_custom_resource_passes_with_its_crd_and_fails_without(fixtures):
    docs = collect([fixtures / "crd" / "good.yaml"])
    assert check_documents(docs, "1.35") == []
    with pytest.raises(InfraError, match=r"example\.com/v1 Widget"):
        check_documents(docs[1:], "1.35")


@pytest.mark.parametrize("version", ["1.9", "2.0", "latest", "1.35x", "1", ""])
def test_unsupported_kube_version_is_a_usage_error(version):
    with pytest.raises(InfraError):
        check_documents([], version)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("200m", Decimal("0.2")),
        ("1", Decimal(1)),
        (2, Decimal(2)),
        ("0.5", Decimal("0.5")),
        ("128Mi", Decimal(128 * 2**20)),
        ("1Gi", Decimal(2**30)),
        ("1G", Decimal(10**9)),
        ("2e9", Decimal(2 * 10**9)),
        ("1E", Decimal(10**18)),
        ("100n", Decimal("1E-7")),
    ],
)
def test_quantities(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["128 mi", "1.5.5", "NaN", "Infinity", "ki", "", "1KiB", True])
def test_invalid_quantities(text):
    with pytest.raises(ValueError, match="not a quantity"):
        parse_quantity(text)


def _pod(*containers: dict, init: tuple[dict, ...] = ()) -> Document:
    spec = {"containers": [{"name": f"c{i}", "resources": r} for i, r in enumerate(containers)]}
    if init:
        spec["initContainers"] = [{"name": f"i{i}", "resources": r} for i, r in enumerate(init)]
    return Document(source=Path(__file__), index=0, obj={"apiVersion": "v1", "kind": "Pod", "spec": spec})


FULL = {"limits": {"cpu": "200m", "memory": "128Mi"}}


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        (_pod(FULL), "Guaranteed"),  # requests default to limits
        (_pod({"requests": {"cpu": "0.2", "memory": "134217728"}, **FULL}), "Guaranteed"),  # same amounts
        (_pod(FULL, FULL), "Guaranteed"),
        (_pod(FULL, {}), "Burstable"),  # one container without limits
        (_pod({"requests": {"cpu": "100m"}, **FULL}), "Burstable"),
        (_pod({"limits": {"cpu": "200m"}}), "Burstable"),  # memory limit missing
        (_pod({"requests": {"memory": "64Mi"}}), "Burstable"),
        (_pod({}), "BestEffort"),
        (_pod({"requests": {"ephemeral-storage": "1Gi"}}), "BestEffort"),  # only cpu and memory count
        (_pod({"requests": {"cpu": "0"}}), "BestEffort"),  # zero quantities do not count
        (_pod(FULL, init=({"requests": {"cpu": "100m"}},)), "Burstable"),  # init containers count
        (_pod({"requests": {"cpu": "0"}, **FULL}), "Burstable"),  # a written zero request is not defaulted
    ],
)
def test_qos_class_follows_kubernetes_rules(pod, expected):
    assert qos_class(pod_template(pod)) == expected


@pytest.mark.parametrize(("pod_level", "expected"), [(True, "Guaranteed"), (False, "BestEffort")])
def test_pod_level_resources_decide_qos_where_enabled(pod_level, expected):
    pod = _pod({})
    pod.obj["spec"]["resources"] = FULL
    assert qos_class(pod_template(pod), pod_level=pod_level) == expected


@pytest.mark.parametrize(
    ("version", "enabled"), [("1.32", False), ("1.33", False), ("1.34", True), ("v1.35", True)]
)
def test_pod_level_resources_from_1_34(version, enabled):
    assert pod_level_resources(version) is enabled


@pytest.mark.parametrize(("text", "version"), [("1.35", "1.35"), ("v1.35", "1.35"), (" 1.35.2 ", "1.35")])
def test_kube_version_spellings(text, version):
    assert schema.major_minor(text) == version
