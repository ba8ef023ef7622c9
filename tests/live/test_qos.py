"""QOS-1..2: requests and limits decide the QoS class; an oversize request stays Pending."""

from __future__ import annotations

import pytest

from infra.probes import qos
from infra.probes.eventually import eventually

NAMESPACE = "lab-qos"


@pytest.mark.live
@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        ("qos-guaranteed", qos.GUARANTEED),
        ("qos-burstable", qos.BURSTABLE),
        ("qos-besteffort", qos.BEST_EFFORT),
    ],
)
def test_qos_1_class_follows_resources(kube, pod, expected, retry_on):
    """status.qosClass is the class the lab expects, and the one the pod's own resources imply."""
    eventually(
        lambda: qos.check_qos(kube.pod(NAMESPACE, pod), expected),
        60,
        3,
        f"{pod} is {expected}",
        retry_on=retry_on,
    )


@pytest.mark.live
@pytest.mark.parametrize("resource", ["cpu", "memory"])
def test_qos_2_oversize_request_stays_pending(kube, token, undo, resource, retry_on):
    """A pod requesting more than any node can allocate stays Pending: Insufficient <resource>."""
    nodes = kube.json(kube.core.list_node().items)
    request = qos.oversize_request([n["status"]["allocatable"][resource] for n in nodes], resource)
    name = f"infra-probe-oversize-{resource}-{token}"
    undo(lambda: kube.delete_pod(NAMESPACE, name), f"delete pod {name}")
    kube.core.create_namespaced_pod(
        NAMESPACE,
        {
            "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "infra-probe"}},
            "spec": {
                "containers": [
                    {
                        "name": "oversize",
                        "image": "registry.k8s.io/pause:3.10.1",
                        "resources": {"requests": {resource: request}},
                    }
                ]
            },
        },
    )
    eventually(
        lambda: qos.check_unschedulable_for(kube.pod(NAMESPACE, name), resource),
        60,
        3,
        f"{name} ({resource}: {request}) Pending as Unschedulable",
        retry_on=retry_on,
    )
