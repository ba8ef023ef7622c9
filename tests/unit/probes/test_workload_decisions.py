"""QoS, HPA arithmetic, StatefulSet ordering and claims, nodes and metrics, on recorded API objects."""

from __future__ import annotations

import copy

import pytest

from infra.probes import hpa, metrics, nodes, qos, sts


@pytest.mark.parametrize("index", [0, 1, 2])
def test_recorded_qos_pods(recorded, index):
    pod = recorded("qos-pods.json")["items"][index]
    qos.check_qos(pod, pod["status"]["qosClass"])


def _pod(*containers, init=()):
    return {"metadata": {"name": "p"}, "spec": {"containers": list(containers), "initContainers": list(init)}}


def _c(requests=None, limits=None):
    return {"name": "c", "resources": {"requests": requests or {}, "limits": limits or {}}}


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        (_pod(_c(limits={"cpu": "1", "memory": "1Gi"})), qos.GUARANTEED),  # requests default to limits
        (_pod(_c({"cpu": "1000m", "memory": "1024Mi"}, {"cpu": "1", "memory": "1Gi"})), qos.GUARANTEED),
        (_pod(_c({"cpu": "0"}, {"cpu": "1", "memory": "1Gi"})), qos.BURSTABLE),  # an explicit zero request
        (_pod(_c(limits={"cpu": "1"})), qos.BURSTABLE),  # no memory limit
        (_pod(_c(limits={"cpu": "1", "memory": "1Gi"}), _c()), qos.BURSTABLE),  # one container without
        (_pod(_c(limits={"cpu": "1", "memory": "1Gi"}), init=[_c({"cpu": "10m"})]), qos.BURSTABLE),
        (_pod(_c({"ephemeral-storage": "1Gi"})), qos.BEST_EFFORT),  # only cpu and memory count
        (_pod(_c(), _c()), qos.BEST_EFFORT),
    ],
)
def test_expected_qos_class(pod, expected):
    assert qos.expected_qos_class(pod) == expected


def test_qos_mismatch_is_reported(recorded):
    pod = copy.deepcopy(recorded("qos-pods.json")["items"][1])
    with pytest.raises(AssertionError, match=r"spec implies Burstable, the lab expects Guaranteed"):
        qos.check_qos(pod, qos.GUARANTEED)
    pod["status"]["qosClass"] = "BestEffort"
    with pytest.raises(AssertionError, match=r"status\.qosClass is BestEffort"):
        qos.check_qos(pod, qos.BURSTABLE)


@pytest.mark.parametrize(
    ("values", "resource", "wanted"),
    [(["7910m", "8"], "cpu", "9000m"), (["4Gi", "8025456Ki"], "memory", str(8025456 * 1024 + 2**30))],
)
def test_oversize_request(values, resource, wanted):
    assert qos.oversize_request(values, resource) == wanted


def test_pending_for_insufficient_cpu(recorded):
    pod = recorded("pod-oversize-pending.json")
    qos.check_unschedulable_for(pod, "cpu")
    with pytest.raises(AssertionError, match="Insufficient memory"):
        qos.check_unschedulable_for(pod, "memory")
    running = {**pod, "status": {"phase": "Running"}}
    with pytest.raises(AssertionError, match="not Pending"):
        qos.check_unschedulable_for(running, "cpu")


@pytest.mark.parametrize(
    ("current", "metric", "target", "expected"),
    [
        (1, 250, 50, 5),  # ceil(1 × 250/50)
        (2, 124, 50, 5),  # ceil(2 × 2.48) = ceil(4.96)
        (4, 54, 50, 4),  # ratio 1.08: within the 0.1 tolerance, unchanged
        (4, 56, 50, 5),  # ratio 1.12: ceil(4.48)
        (3, 10, 50, 1),  # ceil(0.6), never below min
        (6, 500, 50, 10),  # ceil(60) clamped to max
        (0, 90, 50, 0),  # scaled to zero: the HPA is off
    ],
)
def test_expected_replicas(current, metric, target, expected):
    assert hpa.expected_replicas(current, metric, target, 1, 10) == expected


def test_recorded_decision_follows_the_formula(recorded):
    assert hpa.check_decision(recorded("hpa-under-load.json")) == 5


def test_decision_above_the_formula_fails(recorded):
    status = recorded("hpa-under-load.json")
    status["status"]["desiredReplicas"] = 7
    with pytest.raises(AssertionError, match=r"desired 7 != ceil\(2 × 124/50\)"):
        hpa.check_decision(status)


def test_decision_above_max_fails(recorded):
    status = recorded("hpa-under-load.json")
    status["status"]["desiredReplicas"] = 11
    with pytest.raises(AssertionError, match="above maxReplicas"):
        hpa.check_decision(status)


def test_rate_limited_decision_is_accepted_only_when_limited(recorded):
    status = recorded("hpa-under-load.json")
    status["status"]["desiredReplicas"] = 4
    with pytest.raises(AssertionError, match="ScalingLimited: False"):
        hpa.check_decision(status)
    status["status"]["conditions"][2].update(status="True", reason="ScaleUpLimit")
    assert hpa.check_decision(status) == 4


def test_metric_known(recorded):
    assert hpa.check_metric_known(recorded("hpa-under-load.json")) == 124
    with pytest.raises(AssertionError, match="ScalingActive is absent"):
        hpa.check_metric_known(recorded("hpa-unknown.json"))


def test_spec_issues(recorded):
    deployment = recorded("deployment-hpa-demo.json")
    assert hpa.spec_issues(recorded("hpa-under-load.json"), deployment) == []
    issues = hpa.spec_issues(recorded("hpa-unknown.json"), deployment)
    assert issues == ["scaleTargetRef.apiVersion is None, expected 'apps/v1'"]
    stripped = copy.deepcopy(deployment)
    del stripped["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    assert "missing request for cpu" in " ".join(hpa.spec_issues(recorded("hpa-under-load.json"), stripped))


def test_bounds_follow_the_documented_timings(recorded):
    assert hpa.scale_out_bound_s() == 2 * 15 + 2 * 15 + 60
    assert hpa.metric_known_bound_s() == 120
    assert hpa.scale_in_bound_s() == 300 + 30 + 30 + 30
    assert hpa.scale_down_stabilization_s(recorded("hpa-under-load.json")) == 60
    assert hpa.scale_down_stabilization_s(recorded("hpa-unknown.json")) == 300


@pytest.mark.parametrize(
    ("policies", "select", "seconds"),
    [
        ([{"type": "Percent", "value": 100, "periodSeconds": 15}], "Max", 0),  # all at once
        ([{"type": "Pods", "value": 1, "periodSeconds": 60}], "Max", 8 * 60),  # 10 -> 1, one a minute
        ([{"type": "Pods", "value": 4, "periodSeconds": 15}], "Max", 2 * 15),  # 10 -> 6 -> 2 -> 1
        (
            [
                {"type": "Pods", "value": 1, "periodSeconds": 30},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ],
            "Min",
            8 * 30,
        ),
    ],
)
def test_scale_down_policy_time(recorded, policies, select, seconds):
    spec = recorded("hpa-under-load.json")
    spec["spec"]["behavior"]["scaleDown"].update(policies=policies, selectPolicy=select)
    assert hpa.scale_down_policy_time_s(spec, 10) == seconds


def _steps(recorded, name):
    return sts.lifecycle(
        [sts.observe(e["type"], e["object"]) for e in recorded("sts-watch.json")[name]], "web"
    )


def test_ordered_scale_up(recorded):
    steps = _steps(recorded, "scale-up-3-to-4")
    assert steps == [("created", 3), ("ready", 3)]
    sts.check_scale_up(steps, 3, 4)
    with pytest.raises(AssertionError, match=r"created ordinals \[3\], expected \[3, 4\]"):
        sts.check_scale_up(steps, 3, 5)


def test_scale_up_before_ready_fails():
    steps = [("created", 3), ("created", 4), ("ready", 3), ("ready", 4)]
    with pytest.raises(AssertionError, match="-4 was created before -3 was Ready"):
        sts.check_scale_up(steps, 3, 5)


def test_ordered_scale_down(recorded):
    steps = _steps(recorded, "scale-down-4-to-2")
    assert steps == [("terminating", 3), ("gone", 3), ("terminating", 2), ("gone", 2)]
    sts.check_scale_down(steps, 4, 2)


def test_parallel_scale_down_fails(recorded):
    with pytest.raises(AssertionError, match=r"removed ordinals \[2, 3\], expected \[3, 2\]"):
        sts.check_scale_down(_steps(recorded, "parallel-scale-down-4-to-2"), 4, 2)


def test_overlapping_scale_down_fails():
    steps = [("terminating", 3), ("terminating", 2), ("gone", 3), ("gone", 2)]
    with pytest.raises(AssertionError, match="-2 started terminating before -3 was gone"):
        sts.check_scale_down(steps, 4, 2)


def test_other_pods_are_ignored():
    assert sts.ordinal("web", "web-12") == 12
    assert sts.ordinal("web", "web-headless-0") is None
    assert sts.ordinal("web", "webx-1") is None


STS = {
    "metadata": {"name": "web"},
    "spec": {"replicas": 2, "volumeClaimTemplates": [{"metadata": {"name": "data"}}]},
}


def _sts_pod(n):
    return {
        "metadata": {"name": f"web-{n}"},
        "spec": {"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": f"data-web-{n}"}}]},
    }


def _pvc(name, phase="Bound", storage_class="nfs-client"):
    return {
        "metadata": {"name": name},
        "spec": {"storageClassName": storage_class, "accessModes": ["ReadWriteOnce"]},
        "status": {"phase": phase},
    }


def test_claim_names():
    assert sts.claim_names(STS, range(3)) == ["data-web-0", "data-web-1", "data-web-2"]


def test_one_claim_per_pod():
    pvcs = [_pvc("data-web-0"), _pvc("data-web-1"), _pvc("other-claim"), _pvc("data-mysql-0")]
    sts.check_claims(STS, [_sts_pod(0), _sts_pod(1)], pvcs, "nfs-client")


@pytest.mark.parametrize(
    ("pvcs", "message"),
    [
        ([_pvc("data-web-0"), _pvc("data-web-1"), _pvc("data-web-2")], "!= one per pod"),  # a leftover claim
        ([_pvc("data-web-0")], "!= one per pod"),
        ([_pvc("data-web-0"), _pvc("data-web-1", phase="Pending")], "not Bound"),
        ([_pvc("data-web-0"), _pvc("data-web-1", storage_class="standard")], "storageClass standard"),
    ],
)
def test_claim_problems(pvcs, message):
    with pytest.raises(AssertionError, match=message):
        sts.check_claims(STS, [_sts_pod(0), _sts_pod(1)], pvcs, "nfs-client")


def test_nodes(recorded):
    listed = recorded("nodes.json")["items"]
    with pytest.raises(AssertionError, match=r"not Ready: \['lab-worker2'\]"):
        nodes.check_nodes(listed, control_planes=1, workers=2)
    listed[2]["status"]["conditions"][0]["status"] = "True"
    nodes.check_nodes(listed, control_planes=1, workers=2)
    nodes.check_nodes(listed, expected_names=["lab-worker2", "lab-control-plane", "lab-worker"])
    with pytest.raises(AssertionError, match="2 workers, expected 3"):
        nodes.check_nodes(listed, control_planes=1, workers=3)
    with pytest.raises(AssertionError, match="stack's nodes"):
        nodes.check_nodes(listed, expected_names=["lab-control-plane", "lab-worker"])


def test_a_node_the_controller_no_longer_hears_from_is_silent(recorded):
    listed = recorded("nodes.json")["items"]
    assert nodes.silent_nodes(listed) == []  # lab-worker2 is NotReady (False): still coming up, not silent
    ready = next(c for c in listed[1]["status"]["conditions"] if c["type"] == "Ready")
    ready.update(status="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting node status.")
    name = listed[1]["metadata"]["name"]
    assert nodes.silent_nodes(listed) == [f"{name} (NodeStatusUnknown: Kubelet stopped posting node status.)"]


def test_apiservice(recorded):
    services = recorded("apiservice-metrics.json")
    assert metrics.apiservice_available(services["available"]) == (True, "Passed: all checks passed")
    available, detail = metrics.apiservice_available(services["failing"])
    assert not available
    assert "MissingEndpoints" in detail
    assert metrics.apiservice_available({"status": {}}) == (False, "no Available condition yet")


def test_top(recorded):
    top_nodes = metrics.parse_top(recorded("top-nodes.txt"))
    first = top_nodes[0]
    assert (first.name, first.cpu_millicores, first.memory_bytes) == (
        "lab-control-plane",
        182,
        803 * 2**20,
    )
    pods = metrics.parse_top(recorded("top-pods.txt"), namespaced=True)
    assert [u.name for u in pods] == [
        "kube-system/coredns-668d6bf9bc-7xk2p",
        "lab-mysql/mysql-0",
        "lab-sts/web-0",
    ]
    assert pods[1].memory_bytes == 402 * 2**20


def test_top_without_numbers(recorded):
    with pytest.raises(ValueError, match="no number"):
        metrics.parse_top(recorded("top-nodes-unknown.txt"))
