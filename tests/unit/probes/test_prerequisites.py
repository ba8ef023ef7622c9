"""Prerequisite checks, the gate of each claim, and the probe decisions fixed with them, on recorded objects.

The hollow-node errors are what a v1.36 API server answered for `kubectl logs` / `kubectl exec` into a pod
that its node reports Running but does not run (kubemark hollow nodes): the shape of any node whose kubelet
cannot be reached.
"""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from infra.errors import InfraError
from infra.labs import BY_ID, CLAIMS
from infra.probes import dns, endpoints, hpa
from infra.probes import prerequisites as pre

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


def _meta(namespace: str, name: str, **extra) -> dict:
    return {"namespace": namespace, "name": name, **extra}


def _pod(namespace: str, name: str, *, phase="Running", ready=True, running=True, deleting=False) -> dict:
    meta = _meta(namespace, name, **({"deletionTimestamp": "2026-12-03T11:59:00Z"} if deleting else {}))
    state = {"running": {"startedAt": "2026-12-03T11:00:00Z"}} if running else {"waiting": {}}
    return {
        "metadata": meta,
        "status": {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": "app", "state": state}],
        },
    }


# --- decisions ----------------------------------------------------------------------------------------


def test_metrics_absent_unavailable_available(recorded):
    missing = pre.decide_metrics(None)
    assert (missing.ok, missing.absent) == (False, True)
    assert "APIService v1beta1.metrics.k8s.io does not exist" in missing.evidence
    recorded_services = recorded("apiservice-metrics.json")
    assert pre.decide_metrics(recorded_services["available"]).ok is True
    result = pre.decide_metrics(recorded_services["failing"])
    assert (result.ok, result.absent) == (False, False)  # installed: its own probe waits for it
    assert "not Available: MissingEndpoints endpoints for service/metrics-server" in result.evidence


def test_ingress_controller():
    assert pre.decide_ingress([]).absent
    assert "no ingress-nginx controller pod" in pre.decide_ingress([]).evidence
    waiting = pre.decide_ingress([_pod("ingress-nginx", "c-1", ready=False)])
    assert (waiting.ok, waiting.absent) == (False, False)
    assert "ingress-nginx/c-1" in waiting.evidence
    assert pre.decide_ingress([_pod("ingress-nginx", "c-1")]).ok is True


def _claim(phase: str, minutes_old: int, storage_class: str = "nfs-client") -> dict:
    created = (NOW - dt.timedelta(minutes=minutes_old)).isoformat().replace("+00:00", "Z")
    return {
        "metadata": _meta("lab-sts", f"data-{phase}-{minutes_old}", creationTimestamp=created),
        "spec": {"storageClassName": storage_class},
        "status": {"phase": phase},
    }


def test_storage_class_missing_stuck_or_binding():
    assert pre.decide_storage(None, [], NOW).absent
    nfs = {"metadata": {"name": "nfs-client"}, "provisioner": "cluster.local/nfs-subdir-external-provisioner"}
    stuck = pre.decide_storage(nfs, [_claim("Pending", 5), _claim("Bound", 9)], NOW)
    assert stuck.ok is False
    assert "lab-sts/data-Pending-5 Pending for 300s" in stuck.evidence
    # a PVC just created, or of another class, says nothing about this one
    fresh = pre.decide_storage(
        nfs, [_claim("Pending", 1), _claim("Pending", 9, "other"), _claim("Bound", 9)], NOW
    )
    assert fresh.ok is True
    assert "1 PVC(s) Bound" in fresh.evidence


def test_cluster_dns():
    assert pre.decide_dns(None, []).absent
    service = {"metadata": _meta("kube-system", "kube-dns")}
    unready = [{"endpoints": [{"addresses": ["10.244.0.2"], "conditions": {"ready": False}}]}]
    assert pre.decide_dns(service, unready).ok is False
    ready = [{"endpoints": [{"addresses": ["10.244.0.2"], "conditions": {}}]}]  # unset ready means ready
    assert pre.decide_dns(service, ready).ok is True


def test_load_balancer_controller():
    assert pre.decide_load_balancer_controller(None).absent
    assert pre.decide_load_balancer_controller({"status": {}}).ok is False
    assert pre.decide_load_balancer_controller({"status": {"availableReplicas": 2}}).ok is True


def test_the_pod_to_try_is_a_running_one_of_the_labs_first():
    pods = [
        _pod("kube-system", "coredns-1"),
        _pod("lab-qos", "starting", running=False),
        _pod("lab-sts", "leaving", deleting=True),
        _pod("lab-tls", "web-1", phase="Pending"),
        _pod("lab-qos", "qos-guaranteed"),
    ]
    assert pre.pick_running_pod(pods) == ("lab-qos", "qos-guaranteed", "app")
    assert pre.pick_running_pod(pods[:1]) == ("kube-system", "coredns-1", "app")
    assert pre.pick_running_pod(pods[1:4]) is None


def test_nodes_that_run_no_containers_are_recognised(recorded):
    pod = ("lab-qos", "qos-guaranteed", "pause")
    hollow = pre.decide_pods(pod, 1, recorded("kubectl-logs-hollow-node.txt"))
    assert (hollow.ok, hollow.absent) == (False, True)
    assert hollow.evidence == (
        "the nodes run no containers: kubectl logs lab-qos/qos-guaranteed -c pause: "
        "dial tcp 192.0.2.2:53797: connect: connection refused (no kubelet answers)"
    )
    assert pre.decide_pods(pod, 0, "").ok is True
    forbidden = pre.decide_pods(pod, 1, 'Error from server (Forbidden): pods "x" is forbidden: User "v"')
    assert forbidden.ok is None  # not decided: nothing is blocked on a guess
    assert pre.decide_pods(None, 0, "").ok is None


# --- which claims are blocked, and by what --------------------------------------------------------------


HOLLOW = pre.Prerequisite(pre.PODS, False, "the nodes run no containers: refused", True)
NO_METRICS = pre.Prerequisite("ADD-1", False, "APIService v1beta1.metrics.k8s.io does not exist", True)
METRICS_DOWN = pre.Prerequisite("ADD-1", False, "APIService not Available", False)
NO_DNS = pre.Prerequisite(pre.DNS, False, "no cluster DNS", True)


def test_an_addon_that_is_not_installed_fails_its_own_claim_at_once():
    gate = pre.gate(BY_ID["ADD-1"], {"ADD-1": NO_METRICS, pre.PODS: HOLLOW})
    assert gate == pre.Gate("fail", f"ADD-1 prerequisite check: {NO_METRICS.evidence}")
    # installed but not Available yet: its own probe decides (it waits for it)
    assert pre.gate(BY_ID["ADD-1"], {"ADD-1": METRICS_DOWN}) is None


def test_dependents_are_blocked_by_the_failed_prerequisite_with_its_evidence():
    assert pre.gate(BY_ID["HPA-2"], {"ADD-1": METRICS_DOWN}) == pre.Gate(
        "skip", "blocked by ADD-1: APIService not Available"
    )
    assert pre.gate(BY_ID["STS-1"], {pre.DNS: NO_DNS}) == pre.Gate("skip", "blocked by dns: no cluster DNS")
    assert pre.gate(BY_ID["HPA-2"], {"ADD-1": pre.Prerequisite("ADD-1", None, "could not check")}) is None


def test_claims_that_need_real_pods_say_so_on_hollow_nodes_and_the_others_run():
    results = {pre.PODS: HOLLOW, "ADD-1": METRICS_DOWN}
    for claim in CLAIMS:
        gate = pre.gate(claim, results)
        if claim.needs_pods:
            assert gate == pre.Gate("skip", "needs real pods: the nodes run no containers: refused"), claim.id
        elif "ADD-1" not in claim.depends_on:
            assert gate is None, claim.id
    assert pre.is_blocked_message("needs real pods: x")
    assert pre.is_blocked_message("blocked by ADD-3: y")
    assert not pre.is_blocked_message("NLB-1 applies to aws only")


def test_only_the_prerequisites_the_chosen_claims_rest_on_are_checked():
    assert pre.needed([BY_ID["ENV-1"], BY_ID["QOS-2"]], "local") == []
    assert pre.needed([BY_ID["HPA-2"]], "local") == ["ADD-1", pre.PODS]
    assert pre.needed([BY_ID["SQL-1"], BY_ID["STS-4"]], "local") == ["ADD-3", pre.DNS, pre.PODS]
    assert pre.needed([BY_ID["NLB-1"]], "local") == []
    assert pre.needed([BY_ID["NLB-1"]], "aws") == ["ADD-4", pre.PODS]


def test_each_addon_runs_alone_and_each_lab_as_one():
    assert pre.concurrency_group("ADD-2") == "ADD-2"
    assert pre.concurrency_group("STS-3") == pre.concurrency_group("STS-5") == "STS"


def test_results_travel_to_the_probes_in_a_file(tmp_path):
    results = {"ADD-1": NO_METRICS, pre.PODS: HOLLOW}
    assert pre.load(pre.dump(results, tmp_path / "p.json")) == results
    (tmp_path / "bad.json").write_text("[{}]")
    with pytest.raises(InfraError, match="cannot read the prerequisite results"):
        pre.load(tmp_path / "bad.json")


def test_a_check_that_cannot_look_blocks_nothing(monkeypatch):
    def refused(target):
        raise InfraError("kubectl get apiservice is forbidden for this user", "use the admin kubeconfig")

    monkeypatch.setitem(pre.CHECKS, "ADD-1", refused)
    (result,) = pre.check_all(object(), ["ADD-1"]).values()
    assert result.ok is None
    assert result.evidence == "could not check: kubectl get apiservice is forbidden for this user"


# --- probe decisions fixed with this work ---------------------------------------------------------------


def test_a_failed_exec_is_the_cause_not_an_empty_answer(recorded):
    with pytest.raises(dns.ExecFailed, match="did not run \\(exit 1\\): error: unable to upgrade connection"):
        dns.lookup_answer(1, "", recorded("kubectl-exec-hollow-node.txt"))
    with pytest.raises(dns.ExecFailed, match="nslookup: not found"):
        dns.lookup_answer(127, "", "sh: nslookup: not found\n")
    # the resolver's own "no such name" stays a lookup failure (retried until the deadline)
    with pytest.raises(dns.LookupFailed):
        dns.lookup_answer(1, recorded("nslookup-nxdomain.txt"), "")
    # busybox with no DNS server answering at all (seen on a real node without cluster DNS): nslookup ran
    with pytest.raises(dns.LookupFailed, match="no servers could be reached"):
        dns.lookup_answer(1, ";; connection timed out; no servers could be reached\n", "")
    # ...while kubectl failing to reach the kubelet is still the exec's failure
    with pytest.raises(dns.ExecFailed):
        dns.lookup_answer(
            1, "", "error: error dialing backend: dial tcp 10.0.0.5:10250: connect: connection timed out"
        )
    assert dns.lookup_answer(0, recorded("nslookup-busybox-clusterip.txt"), "") == ["10.96.143.21"]


def test_hpa_api_version_is_the_manifests_and_the_applied_one(recorded):
    live = recorded("hpa-managed-fields.json")
    assert hpa.applied_api_version(live, "infra") == "autoscaling/v2"
    assert hpa.api_version_issues("autoscaling/v2", "autoscaling/v2", "infra") == []
    # an autoscaling/v1 manifest: read through the v2 API it looks like v2; its Apply entry does not
    as_v1 = copy.deepcopy(live)
    for entry in as_v1["metadata"]["managedFields"]:
        if entry["manager"] == "infra":
            entry["apiVersion"] = "autoscaling/v1"
    assert as_v1["apiVersion"] == "autoscaling/v2"
    assert hpa.api_version_issues("autoscaling/v1", hpa.applied_api_version(as_v1, "infra"), "infra") == [
        "the rendered HPA manifest is autoscaling/v1, expected autoscaling/v2",
        "the live HPA was applied as autoscaling/v1, expected autoscaling/v2",
    ]
    # the controller's Update entry never counts as the manifest's version
    assert hpa.applied_api_version(live, "kube-controller-manager") is None
    assert hpa.api_version_issues("autoscaling/v2", None, "infra") == [
        "field manager infra never applied the live HPA (run `infra reconcile`)"
    ]


def test_service_endpoints_come_from_ready_endpoint_slices():
    slices = [
        {
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [
                {"addresses": ["10.244.1.5"], "conditions": {"ready": True}},
                {"addresses": ["10.244.2.6"], "conditions": {}},  # unset: ready
                {"addresses": ["10.244.2.7"], "conditions": {"ready": False, "terminating": True}},
            ],
        },
        {
            "ports": [{"port": 8080}],
            "endpoints": [{"addresses": ["10.244.1.5"], "conditions": {"ready": True}}],
        },
    ]
    assert endpoints.ready_endpoints(slices) == [("10.244.1.5", 8080), ("10.244.2.6", 8080)]
    assert endpoints.ready_addresses(slices) == ["10.244.1.5", "10.244.2.6"]
    assert endpoints.selector("web") == "kubernetes.io/service-name=web"
