"""The readiness decisions the roles' waits use, against recorded API objects (k8s_info ``resources``)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest


@pytest.fixture(scope="module")
def k8s(ansible: Any) -> ModuleType:
    return ansible.load_filter_plugin("k8s_status")


# Recorded shapes (trimmed to the fields the filters read)
APISERVICE_DISCOVERY_FAILED = {
    "kind": "APIService",
    "metadata": {"name": "v1beta1.metrics.k8s.io"},
    "status": {
        "conditions": [
            {
                "type": "Available",
                "status": "False",
                "reason": "FailedDiscoveryCheck",
                "message": "failing or missing response from https://10.96.12.7:443/apis/metrics.k8s.io/v1beta1",
            }
        ]
    },
}
APISERVICE_AVAILABLE = {
    "kind": "APIService",
    "metadata": {"name": "v1beta1.metrics.k8s.io"},
    "status": {"conditions": [{"type": "Available", "status": "True", "reason": "Passed"}]},
}


def deployment(
    generation: int, observed: int, replicas: int, updated: int, available: int, total: int
) -> dict:
    return {
        "kind": "Deployment",
        "metadata": {"name": "metrics-server", "generation": generation},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "replicas": total,
            "updatedReplicas": updated,
            "availableReplicas": available,
        },
    }


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ([APISERVICE_AVAILABLE], True),
        ([APISERVICE_DISCOVERY_FAILED], False),
        (APISERVICE_AVAILABLE, True),  # one object instead of a list
        ([], False),  # not created yet
        ([{"kind": "APIService", "metadata": {}}], False),  # no status yet
    ],
)
def test_condition_true(k8s: ModuleType, resources: Any, expected: bool) -> None:
    assert k8s.k8s_condition_true(resources, "Available") is expected


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ([deployment(2, 2, 1, 1, 1, 1)], True),
        ([deployment(3, 2, 1, 1, 1, 1)], False),  # new spec not observed yet
        ([deployment(2, 2, 1, 1, 0, 1)], False),  # pod not available
        ([deployment(2, 2, 1, 1, 1, 2)], False),  # old pod still terminating
        ([deployment(2, 2, 2, 1, 2, 2)], False),  # one replica still on the old template
        ([], False),
        (
            [
                {
                    "kind": "DaemonSet",
                    "metadata": {"generation": 1},
                    "status": {
                        "observedGeneration": 1,
                        "desiredNumberScheduled": 3,
                        "updatedNumberScheduled": 3,
                        "numberReady": 3,
                    },
                }
            ],
            True,
        ),
        (
            [
                {
                    "kind": "DaemonSet",
                    "metadata": {"generation": 1},
                    "status": {
                        "observedGeneration": 1,
                        "desiredNumberScheduled": 3,
                        "updatedNumberScheduled": 3,
                        "numberReady": 2,
                    },
                }
            ],
            False,
        ),
    ],
)
def test_rollout_complete(k8s: ModuleType, resources: Any, expected: bool) -> None:
    assert k8s.k8s_rollout_complete(resources) is expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"loadBalancer": {}}, ""),
        (
            {"loadBalancer": {"ingress": [{"hostname": "k8s-ingressn-abc.elb.eu-west-1.amazonaws.com"}]}},
            "k8s-ingressn-abc.elb.eu-west-1.amazonaws.com",
        ),
        ({"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}, "203.0.113.7"),
    ],
)
def test_lb_address(k8s: ModuleType, status: dict, expected: str) -> None:
    assert k8s.k8s_lb_address([{"kind": "Service", "status": status}]) == expected


def test_ready_endpoints_count_only_ready_addresses(k8s: ModuleType) -> None:
    slices = [
        {
            "kind": "EndpointSlice",
            "endpoints": [
                {"addresses": ["100.96.1.10"], "conditions": {"ready": True}},
                {"addresses": ["100.96.2.11"], "conditions": {"ready": False}},
                {"addresses": ["100.96.3.12"]},  # no conditions: ready
            ],
        },
        {"kind": "EndpointSlice", "endpoints": None},
    ]
    assert k8s.k8s_ready_endpoints(slices) == 2
    assert k8s.k8s_ready_endpoints([]) == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("172.18.0.5", True),
        ("fc00:f853:ccd:e793::5", True),
        ("nfs.nfs.svc.cluster.local", False),
        ("", False),
        (None, False),
    ],
)
def test_is_ip_address(k8s: ModuleType, value: Any, expected: bool) -> None:
    assert k8s.is_ip_address(value) is expected


def test_filters_are_exported_to_ansible(k8s: ModuleType) -> None:
    assert set(k8s.FilterModule().filters()) == {
        "k8s_condition_true",
        "k8s_rollout_complete",
        "k8s_lb_address",
        "k8s_ready_endpoints",
        "is_ip_address",
    }
