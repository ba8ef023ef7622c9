"""Every detector fires on its recorded case and stays quiet on the near misses.

``FIRING`` names, per detector, the recorded family and the object(s) it must report; the quiet snapshots hold
the same kinds in healthy states (a Running pod with a Completed restart, an HPA at TooFewReplicas, a Parallel
StatefulSet with an unready pod, a load balancer reconciled after a failure...) and must give no finding at
all.
"""

from __future__ import annotations

import copy

import pytest

from infra.checks.model import Severity
from infra.doctor import DETECTORS, Snapshot, relevant, run

FIRING: dict[str, tuple[str, set[str]]] = {
    "HPA-TARGET": ("autoscaling", {"HorizontalPodAutoscaler/lab-hpa/hpa-target"}),
    "HPA-REQUEST": ("autoscaling", {"HorizontalPodAutoscaler/lab-hpa/hpa-request"}),
    "HPA-METRICS": ("autoscaling", {"HorizontalPodAutoscaler/lab-hpa/hpa-metrics"}),
    "METRICS-API": ("autoscaling", {"APIService/v1beta1.metrics.k8s.io"}),
    "HPA-LIMITED": ("autoscaling", {"HorizontalPodAutoscaler/lab-hpa/hpa-limited"}),
    "POD-CAPACITY": ("pods", {"Pod/lab-qos/qos-too-big"}),
    "POD-UNSCHEDULABLE": ("pods", {"Pod/lab-qos/pinned"}),
    "IMAGE-PULL": ("pods", {"Pod/lab-qos/bad-tag"}),
    "CRASH-LOOP": ("pods", {"Pod/lab-qos/mem-hog"}),
    "OOM-KILLED": ("pods", {"Pod/lab-qos/oom-once"}),
    "REPLICA-FAILURE": ("workloads", {"Deployment/lab-sts/quota-demo", "Job/lab-sts/migrate"}),
    "DEPLOY-PROGRESS": ("workloads", {"Deployment/lab-sts/rollout"}),
    "STS-ORDINAL": ("workloads", {"StatefulSet/lab-sts/mysql"}),
    "STS-SERVICE": ("workloads", {"StatefulSet/lab-sts/web"}),
    "PVC-PENDING": (
        "storage",
        {
            "PersistentVolumeClaim/lab-sts/typo",
            "PersistentVolumeClaim/lab-sts/static",
            "PersistentVolumeClaim/lab-sts/ebs",
            "PersistentVolumeClaim/lab-sts/later",
        },
    ),
    "SVC-SELECTOR": ("network", {"Service/lab-tls/typo"}),
    "SVC-ENDPOINTS": ("network", {"Service/lab-tls/api"}),
    "SVC-LB-PENDING": ("network", {"Service/lab-tls/nlb"}),
    "AWS-LBC": ("network", {"Service/lab-tls/nlb"}),
    "ING-CLASS": ("network", {"Ingress/lab-tls/no-class"}),
    "ING-ADDRESS": ("network", {"Ingress/lab-tls/no-address"}),
    "ING-TLS": ("network", {"Ingress/lab-tls/tls-missing", "Ingress/lab-tls/tls-opaque"}),
    "NODE-NOT-READY": ("nodes", {"Node/lab-worker"}),
    "NODE-PRESSURE": ("nodes", {"Node/lab-worker2"}),
    "NODE-NETWORK": ("nodes", {"Node/lab-worker3"}),
}
FAMILIES = sorted({family for family, _ in FIRING.values()})


def by_id(snapshot: Snapshot, detector_id: str) -> dict[str, object]:
    return {f.object: f for f in run(snapshot).findings if f.id == detector_id}


def test_every_detector_has_a_recorded_firing_case():
    assert set(FIRING) == set(DETECTORS)


@pytest.mark.parametrize("detector_id", sorted(FIRING))
def test_detector_fires_on_its_recorded_case(recorded, detector_id):
    family, objects = FIRING[detector_id]
    found = by_id(recorded(f"{family}-firing"), detector_id)
    assert set(found) == objects
    for finding in found.values():
        assert finding.evidence
        assert finding.meaning
        assert finding.fix


@pytest.mark.parametrize("family", FAMILIES)
def test_quiet_snapshots_give_no_finding(recorded, family):
    report = run(recorded(f"{family}-quiet"))
    assert [f.line() for f in report.findings] == []
    assert report.exit_code == 0
    assert report.skipped == {}


# -- wording shared with `infra check` and the evidence as seen ----------------------------------------------


def test_hpa_target_shares_infra_checks_wording(recorded):
    finding = by_id(recorded("autoscaling-firing"), "HPA-TARGET")[
        "HorizontalPodAutoscaler/lab-hpa/hpa-target"
    ]
    assert (
        'scaleTargetRef has no apiVersion: FailedGetScale: no matches for kind "Deployment" in group ""'
        in (finding.meaning)
    )
    assert finding.fix == "set scaleTargetRef.apiVersion: apps/v1"
    assert finding.evidence.startswith("AbleToScale=False FailedGetScale: the HPA controller was unable")
    assert "event Warning FailedGetScale ×12" in finding.evidence


def test_hpa_request_names_container_and_resource(recorded):
    finding = by_id(recorded("autoscaling-firing"), "HPA-REQUEST")[
        "HorizontalPodAutoscaler/lab-hpa/hpa-request"
    ]
    assert finding.meaning.startswith(
        'missing request for cpu: container "app" (pod hpa-demo-6b7f9c8d5-x7k2p)'
    )
    assert "resources.requests.cpu" in finding.fix
    assert "Deployment/hpa-demo" in finding.fix


def test_hpa_metrics_blames_the_unavailable_metrics_api(recorded):
    finding = by_id(recorded("autoscaling-firing"), "HPA-METRICS")[
        "HorizontalPodAutoscaler/lab-hpa/hpa-metrics"
    ]
    assert "the resource metrics API is unavailable" in finding.meaning
    assert "MissingEndpoints" in finding.meaning


def test_missing_metrics_server_is_reported_once_hpas_exist(recorded):
    snapshot = recorded("autoscaling-firing")
    objects = [o for o in snapshot.objects if o["kind"] != "APIService"]
    found = by_id(Snapshot(objects), "METRICS-API")
    assert len(found) == 1
    (finding,) = found.values()
    assert finding.evidence.startswith("no APIService v1beta1.metrics.k8s.io")
    assert "install metrics-server" in finding.fix
    without_hpas = [o for o in objects if o["kind"] != "HorizontalPodAutoscaler"]
    assert by_id(Snapshot(without_hpas), "METRICS-API") == {}


def test_pod_capacity_compares_requests_with_node_allocatable(recorded):
    finding = by_id(recorded("pods-firing"), "POD-CAPACITY")["Pod/lab-qos/qos-too-big"]
    assert finding.evidence.startswith(
        "PodScheduled=False Unschedulable: 0/3 nodes are available: 3 Insufficient cpu"
    )
    assert "requests cpu 64, largest node allocatable 4" in finding.meaning
    assert "QoS Guaranteed" in finding.meaning
    assert "can never schedule" in finding.meaning


def test_image_pull_quotes_the_kubelet_error_and_count(recorded):
    finding = by_id(recorded("pods-firing"), "IMAGE-PULL")["Pod/lab-qos/bad-tag"]
    assert "waiting ImagePullBackOff" in finding.evidence
    assert "event Warning Failed ×4" in finding.evidence
    assert "does not exist in its registry" in finding.meaning


def test_crash_loop_with_oom_kill_points_at_the_memory_limit(recorded):
    finding = by_id(recorded("pods-firing"), "CRASH-LOOP")["Pod/lab-qos/mem-hog"]
    assert "last terminated OOMKilled (exit 137)" in finding.evidence
    assert "memory limit (64Mi)" in finding.meaning
    assert finding.fix.startswith("raise resources.limits.memory")


def test_crash_loop_with_an_error_exit_points_at_the_logs(recorded):
    snapshot = recorded("pods-firing")
    objects = copy.deepcopy(snapshot.objects)
    hog = next(o for o in objects if o["metadata"]["name"] == "mem-hog")
    hog["status"]["containerStatuses"][0]["lastState"]["terminated"] = {"reason": "Error", "exitCode": 1}
    finding = by_id(Snapshot(objects), "CRASH-LOOP")["Pod/lab-qos/mem-hog"]
    assert "exits with code 1" in finding.meaning
    assert finding.fix.startswith("kubectl logs --previous -n lab-qos mem-hog -c app")


def test_replica_failure_explains_quota(recorded):
    found = by_id(recorded("workloads-firing"), "REPLICA-FAILURE")
    deploy = found["Deployment/lab-sts/quota-demo"]
    assert deploy.evidence.startswith("ReplicaFailure=True FailedCreate: pods ")
    assert "exceeded quota: compute" in deploy.evidence
    assert "ResourceQuota in namespace lab-sts" in deploy.meaning
    assert found["Job/lab-sts/migrate"].evidence.startswith("event Warning FailedCreate ×5")


def test_statefulset_stuck_names_the_unready_ordinal(recorded):
    finding = by_id(recorded("workloads-firing"), "STS-ORDINAL")["StatefulSet/lab-sts/mysql"]
    assert "pod mysql-1" in finding.evidence
    assert "not created: mysql-2" in finding.evidence
    assert "Ready=False ContainersNotReady" in finding.evidence


@pytest.mark.parametrize(
    ("claim", "severity", "phrase"),
    [
        ("typo", Severity.ERROR, "StorageClass fast-ssd does not exist"),
        ("static", Severity.ERROR, "has no provisioner (kubernetes.io/no-provisioner)"),
        ("ebs", Severity.ERROR, "provisioner ebs.csi.aws.com of StorageClass gp3 is not running"),
        ("later", Severity.INFO, "binds WaitForFirstConsumer: the claim stays Pending until a pod"),
    ],
)
def test_pvc_pending_explains_each_cause(recorded, claim, severity, phrase):
    finding = by_id(recorded("storage-firing"), "PVC-PENDING")[f"PersistentVolumeClaim/lab-sts/{claim}"]
    assert finding.severity is severity
    assert phrase in finding.meaning
    assert finding.evidence.startswith("phase Pending; event ")


def test_svc_selector_shares_infra_checks_wording(recorded):
    finding = by_id(recorded("network-firing"), "SVC-SELECTOR")["Service/lab-tls/typo"]
    assert (
        finding.meaning
        == "selector app=web-typo matches no pod in namespace lab-tls: the Service has no endpoints"
    )
    assert finding.fix == "make spec.selector a subset of the pod template labels of the workload it fronts"


def test_aws_lbc_quotes_the_access_denied(recorded):
    finding = by_id(recorded("network-firing"), "AWS-LBC")["Service/lab-tls/nlb"]
    assert finding.evidence.startswith(
        "event Warning FailedDeployModel ×6: Failed deploy model due to AccessDenied"
    )
    assert "IAM" in finding.meaning


def test_ing_tls_says_the_default_certificate_is_served(recorded):
    found = by_id(recorded("network-firing"), "ING-TLS")
    assert (
        "serves its default (self-signed) certificate for web.lab.test"
        in found["Ingress/lab-tls/tls-missing"].meaning
    )
    assert "of type Opaque" in found["Ingress/lab-tls/tls-opaque"].evidence


def test_node_not_ready_quotes_the_condition(recorded):
    finding = by_id(recorded("nodes-firing"), "NODE-NOT-READY")["Node/lab-worker"]
    assert finding.evidence == "Ready=Unknown NodeStatusUnknown: Kubelet stopped posting node status."


# -- collection gaps, event shapes, relevance ----------------------------------------------------------------


def test_a_kind_that_could_not_be_listed_silences_its_detectors(recorded):
    snapshot = recorded("nodes-firing")
    snapshot.gaps["nodes"] = (
        'Error from server (Forbidden): nodes is forbidden: User "viewer" cannot list ...'
    )
    report = run(snapshot)
    assert not [f for f in report.findings if f.id.startswith("NODE-")]
    assert report.skipped["NODE-NOT-READY"] == "could not list nodes"
    assert any(note.startswith("not collected: nodes") for note in report.notes())


def test_secrets_not_readable_skips_ing_tls_visibly(recorded):
    snapshot = recorded("network-firing")
    snapshot.secrets = None
    snapshot.gaps["secrets"] = "Error from server (Forbidden): secrets is forbidden"
    report = run(snapshot)
    assert "ING-TLS" in report.skipped
    assert not [f for f in report.findings if f.id == "ING-TLS"]


def test_scheduler_events_count_from_their_series(recorded):
    from infra.doctor.snapshot import event_count, event_time

    snapshot = recorded("pods-firing")
    pod = snapshot.get("Pod", "lab-qos", "qos-too-big")
    (event,) = snapshot.events_for(pod, "FailedScheduling")
    assert event.get("count") is None
    assert event_count(event) == 7
    assert event_time(event) == "2026-01-05T10:30:00Z"


def test_relevant_keeps_a_namespace_and_the_cluster_wide_findings(recorded):
    objects = [*recorded("pods-firing").objects, *recorded("nodes-firing").objects]
    report = run(Snapshot(objects))
    namespaced = relevant(report, namespace="lab-qos")
    assert {f.id for f in namespaced} >= {"IMAGE-PULL", "NODE-NOT-READY"}
    only_pod = relevant(report, namespace="lab-qos", kind="Pod", name="bad-tag", cluster=False)
    assert [f.id for f in only_pod] == ["IMAGE-PULL"]
    assert relevant(report, namespace="elsewhere", cluster=False) == []
