"""CTL-1..10 decisions (infra/probes/ctl.py) on recorded API objects.

The fixtures ``ctl-*.json`` were recorded from a real kube-apiserver, controller manager and scheduler
(v1.36.2) with hollow nodes, running this lab's manifests; managedFields and pod templates are dropped.
Where hollow nodes cannot produce a state (a Job completing), the fixture says so and changes only status.
"""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from infra.probes import ctl


@pytest.fixture
def objects(recorded):
    return recorded("ctl-objects.json")


def _events(raw):
    return [ctl.Event(kind, obj) for kind, obj in raw]


# --- nodes --------------------------------------------------------------------------------------------------


def test_hollow_nodes_run_no_containers(recorded):
    nodes = recorded("ctl-daemonset.json")["nodes"]
    reason = ctl.no_containers_reason(nodes)
    assert reason is not None
    assert reason.startswith("needs real pods")
    assert "fakeRuntime://0.1.0" in reason


def test_one_real_node_is_enough(recorded):
    nodes = copy.deepcopy(recorded("ctl-daemonset.json")["nodes"])
    nodes[1]["status"]["nodeInfo"]["containerRuntimeVersion"] = "containerd://2.1.4"
    assert ctl.no_containers_reason(nodes) is None
    assert ctl.no_containers_reason([]) is None


# --- CTL-1: ReplicaSet ownership ----------------------------------------------------------------------------


def test_replicaset_pods_are_controlled_by_it(recorded):
    data = recorded("ctl-replicaset.json")
    ctl.check_controlled_by(data["pods"], data["replicaset"], "ReplicaSet")


def test_a_pod_of_another_owner_is_named(recorded):
    data = copy.deepcopy(recorded("ctl-replicaset.json"))
    data["pods"][0]["metadata"]["ownerReferences"][0]["name"] = "other"
    with pytest.raises(
        AssertionError, match=r"controlled by ReplicaSet/other, expected ReplicaSet/whoami-web"
    ):
        ctl.check_controlled_by(data["pods"], data["replicaset"], "ReplicaSet")


def test_an_owner_with_another_uid_is_a_different_object(recorded):
    """A ReplicaSet deleted and recreated under the same name: its old pods are not its pods."""
    data = copy.deepcopy(recorded("ctl-replicaset.json"))
    data["replicaset"]["metadata"]["uid"] = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(AssertionError, match="the live one 00000000"):
        ctl.check_controlled_by(data["pods"], data["replicaset"], "ReplicaSet")


def test_orphans_and_nothing_are_reported(recorded):
    data = copy.deepcopy(recorded("ctl-replicaset.json"))
    del data["pods"][0]["metadata"]["ownerReferences"]
    with pytest.raises(AssertionError, match="no controller"):
        ctl.check_controlled_by(data["pods"], data["replicaset"], "ReplicaSet")
    with pytest.raises(AssertionError, match="controls nothing"):
        ctl.check_controlled_by([], data["replicaset"], "ReplicaSet")


# --- CTL-2: Deployment -> ReplicaSet -> Pod, rollout and undo -----------------------------------------------


def test_ownership_chain_after_a_rollout(recorded):
    data = recorded("ctl-rollout.json")
    chain = ctl.check_ownership_chain(data["deployment_after"], data["replicasets_after"], data["pods_after"])
    current = ctl.current_replicaset(data["deployment_after"], data["replicasets_after"])
    assert len(chain[ctl.name_of(current)]) == 2
    assert sum(len(pods) for pods in chain.values()) == 2  # the old ReplicaSet has none


def test_chain_breaks_on_a_foreign_replicaset(recorded):
    data = copy.deepcopy(recorded("ctl-rollout.json"))
    current = ctl.current_replicaset(data["deployment_after"], data["replicasets_after"])
    current["metadata"]["ownerReferences"][0]["uid"] = "someone-else"
    with pytest.raises(AssertionError, match="no ReplicaSet of pi-web"):
        ctl.check_ownership_chain(data["deployment_after"], data["replicasets_after"], data["pods_after"])


def test_chain_checks_the_template_hash(recorded):
    data = copy.deepcopy(recorded("ctl-rollout.json"))
    data["pods_after"][0]["metadata"]["labels"][ctl.TEMPLATE_HASH] = "abc"
    with pytest.raises(AssertionError, match="has pod-template-hash abc"):
        ctl.check_ownership_chain(data["deployment_after"], data["replicasets_after"], data["pods_after"])


def test_rolled_to_a_new_replicaset_and_kept_the_old(recorded):
    data = recorded("ctl-rollout.json")
    before = ctl.current_replicaset(data["deployment_before"], data["replicasets_before"])
    new = ctl.check_rolled_to_new(data["deployment_after"], before, data["replicasets_after"])
    assert ctl.revision(new) == ctl.revision(before) + 1
    assert new["metadata"]["name"].startswith("pi-web-")
    assert new["metadata"]["uid"] != before["metadata"]["uid"]


def test_not_yet_rolled(recorded):
    data = recorded("ctl-rollout.json")
    before = ctl.current_replicaset(data["deployment_before"], data["replicasets_before"])
    with pytest.raises(AssertionError, match="still at ReplicaSet"):
        ctl.check_rolled_to_new(data["deployment_before"], before, data["replicasets_before"])


def test_old_replicaset_deleted_is_reported(recorded):
    data = recorded("ctl-rollout.json")
    before = ctl.current_replicaset(data["deployment_before"], data["replicasets_before"])
    kept = [rs for rs in data["replicasets_after"] if rs["metadata"]["uid"] != before["metadata"]["uid"]]
    with pytest.raises(AssertionError, match="revisionHistoryLimit should keep it"):
        ctl.check_rolled_to_new(data["deployment_after"], before, kept)


def test_old_replicaset_not_scaled_down_is_reported(recorded):
    data = copy.deepcopy(recorded("ctl-rollout.json"))
    before = ctl.current_replicaset(data["deployment_before"], data["replicasets_before"])
    old = next(rs for rs in data["replicasets_after"] if rs["metadata"]["uid"] == before["metadata"]["uid"])
    old["spec"]["replicas"] = 1
    with pytest.raises(AssertionError, match=r"still has \(replicas, pods\) = \(1, 0\)"):
        ctl.check_rolled_to_new(data["deployment_after"], before, data["replicasets_after"])


def test_undo_returns_to_the_same_old_replicaset(recorded):
    data = recorded("ctl-rollout.json")
    before = ctl.current_replicaset(data["deployment_before"], data["replicasets_before"])
    ctl.check_rolled_back(data["deployment_undone"], before, data["replicasets_undone"])
    undone = ctl.current_replicaset(data["deployment_undone"], data["replicasets_undone"])
    assert ctl.revision(undone) > ctl.revision(before)  # undo gives the old ReplicaSet the next revision


def test_undo_to_a_new_replicaset_is_not_a_return(recorded):
    data = recorded("ctl-rollout.json")
    before = ctl.current_replicaset(data["deployment_before"], data["replicasets_before"])
    with pytest.raises(AssertionError, match="not back to the old ReplicaSet"):
        ctl.check_rolled_back(data["deployment_after"], before, data["replicasets_after"])


def test_current_replicaset_needs_exactly_one_at_the_revision(recorded):
    data = copy.deepcopy(recorded("ctl-rollout.json"))
    wanted = data["deployment_after"]["metadata"]["annotations"][ctl.REVISION]
    for rs in data["replicasets_after"]:
        rs["metadata"]["annotations"][ctl.REVISION] = wanted
    count = len(data["replicasets_after"])
    with pytest.raises(AssertionError, match=f"{count} ReplicaSets at the Deployment's revision {wanted}"):
        ctl.current_replicaset(data["deployment_after"], data["replicasets_after"])


# --- CTL-4 and CTL-6: endpoints -----------------------------------------------------------------------------


def test_endpoint_pods_are_read_by_pod_name(recorded):
    """Hollow nodes give every pod the same IP: endpoints are told apart by their pod."""
    data = recorded("ctl-replicaset.json")
    ready, not_ready = ctl.endpoint_pods(data["slices"])
    assert ready == {p["metadata"]["name"] for p in data["pods"]}
    assert not not_ready
    assert len({a for s in data["slices"] for e in s["endpoints"] for a in e["addresses"]}) == 1


def test_endpoints_follow_the_ready_pods(recorded):
    data = recorded("ctl-replicaset.json")
    ctl.check_endpoints_follow("whoami-web", data["slices"], data["pods"], 3)
    with pytest.raises(AssertionError, match="3 ready pods"):
        ctl.check_endpoints_follow("whoami-web", data["slices"], data["pods"], 5)


def test_a_missing_or_unready_endpoint_is_reported(recorded):
    data = copy.deepcopy(recorded("ctl-replicaset.json"))
    endpoint = data["slices"][0]["endpoints"][0]
    endpoint["conditions"]["ready"] = False
    with pytest.raises(AssertionError, match=rf"not-ready endpoints \['{endpoint['targetRef']['name']}'\]"):
        ctl.check_endpoints_follow("whoami-web", data["slices"], data["pods"], 3)


def test_slices_of_another_service_do_not_count(recorded):
    data = copy.deepcopy(recorded("ctl-replicaset.json"))
    data["slices"][0]["metadata"]["labels"][ctl.SERVICE_NAME_LABEL] = "pi-web"
    with pytest.raises(AssertionError, match=r"0 EndpointSlices"):
        ctl.check_endpoints_follow("whoami-web", data["slices"], data["pods"], 3)


def test_ready_condition_left_out_means_ready():
    slices = [{"endpoints": [{"addresses": ["10.0.0.1"], "targetRef": {"name": "a"}, "conditions": {}}]}]
    assert ctl.endpoint_pods(slices) == ({"a"}, set())


def test_rolling_update_kept_two_ready_endpoints(recorded):
    data = recorded("ctl-rolling-update.json")
    slices, pods = _events(data["slice_events"]), _events(data["pod_events"])
    assert ctl.fewest_ready_endpoints(data["initial_slices"], slices) == 2
    assert ctl.most_template_hashes(data["initial_pods"], pods) == 2
    ctl.check_rolling_update(data["initial_slices"], slices, data["initial_pods"], pods, 2, 0)


def test_rolling_update_with_an_endpoint_gap_fails(recorded):
    """Recorded without minReadySeconds: hollow kubelets report Ready a second before the pod has an IP, so
    the old pod went while the Service listed only one endpoint."""
    data = recorded("ctl-rolling-update-endpoint-gap.json")
    slices, pods = _events(data["slice_events"]), _events(data["pod_events"])
    with pytest.raises(AssertionError, match="dropped to 1 ready endpoints"):
        ctl.check_rolling_update(data["initial_slices"], slices, data["initial_pods"], pods, 2, 0)
    ctl.check_rolling_update(data["initial_slices"], slices, data["initial_pods"], pods, 2, 1)


def test_rolling_update_needs_two_replicasets_side_by_side(recorded):
    data = recorded("ctl-rolling-update.json")
    slices = _events(data["slice_events"])
    with pytest.raises(AssertionError, match="never coexisted"):
        ctl.check_rolling_update(data["initial_slices"], slices, data["initial_pods"], [], 2, 0)


def test_recreate_stops_old_pods_before_new_ones(recorded):
    data = recorded("ctl-recreate.json")
    old_hash = data["initial_pods"][0]["metadata"]["labels"][ctl.TEMPLATE_HASH]
    ctl.check_recreate(data["initial_pods"], _events(data["pod_events"]), old_hash)


def test_a_rolling_update_is_not_a_recreate(recorded):
    data = recorded("ctl-rolling-update.json")
    old_hash = data["initial_pods"][0]["metadata"]["labels"][ctl.TEMPLATE_HASH]
    with pytest.raises(AssertionError, match="while old pods"):
        ctl.check_recreate(data["initial_pods"], _events(data["pod_events"]), old_hash)


def test_recreate_without_a_new_pod_or_old_hash(recorded):
    data = recorded("ctl-recreate.json")
    old_hash = data["initial_pods"][0]["metadata"]["labels"][ctl.TEMPLATE_HASH]
    with pytest.raises(AssertionError, match="no pod of the new template"):
        ctl.check_recreate(data["initial_pods"], [], old_hash)
    with pytest.raises(AssertionError, match="no pod of the old template"):
        ctl.check_recreate(data["initial_pods"], _events(data["pod_events"]), "nothing")


def test_replay_applies_events_in_order():
    a1, a2, b = ({"metadata": {"name": n, "v": v}} for n, v in (("a", 1), ("a", 2), ("b", 1)))
    states = ctl.replay([a1], [ctl.Event("ADDED", b), ctl.Event("MODIFIED", a2), ctl.Event("DELETED", b)])
    assert [sorted(s) for s in states] == [["a"], ["a", "b"], ["a", "b"], ["a"]]
    assert states[-1]["a"] is a2


# --- CTL-5: DaemonSet placement -----------------------------------------------------------------------------


@pytest.fixture
def daemon(recorded):
    return recorded("ctl-daemonset.json")


def test_daemonset_runs_on_the_labelled_node_only(daemon):
    spec = daemon["daemonset"]["spec"]["template"]["spec"]
    eligible = ctl.eligible_nodes(daemon["nodes"], spec)
    assert eligible == {"lab-worker"}
    ctl.check_one_per_node(daemon["pods"], eligible)


def test_nodes_to_label_leaves_out_tainted_and_labelled_nodes(daemon):
    spec = daemon["daemonset"]["spec"]["template"]["spec"]
    assert ctl.nodes_to_label(daemon["nodes"], spec) == ["lab-control-plane", "lab-worker2"]
    nodes = copy.deepcopy(daemon["nodes"])
    control_plane = next(n for n in nodes if n["metadata"]["name"] == "lab-control-plane")
    control_plane["spec"]["taints"] = [
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
    ]
    assert ctl.nodes_to_label(nodes, spec) == ["lab-worker2"]  # kind's tainted control plane


@pytest.mark.parametrize(
    ("taint", "runs"),
    [
        ({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}, True),  # cordoned: still runs
        ({"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}, True),
        ({"key": "dedicated", "value": "db", "effect": "NoSchedule"}, False),
        ({"key": "dedicated", "value": "db", "effect": "PreferNoSchedule"}, True),  # only a preference
    ],
)
def test_daemonset_tolerations(daemon, taint, runs):
    spec = daemon["daemonset"]["spec"]["template"]["spec"]
    node = copy.deepcopy(next(n for n in daemon["nodes"] if n["metadata"]["name"] == "lab-worker"))
    node["spec"]["taints"] = [taint]
    assert ctl.runs_daemon(node, spec) is runs


def test_template_tolerations_count(daemon):
    spec = copy.deepcopy(daemon["daemonset"]["spec"]["template"]["spec"])
    node = copy.deepcopy(next(n for n in daemon["nodes"] if n["metadata"]["name"] == "lab-worker"))
    node["spec"]["taints"] = [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]
    spec["tolerations"] = [{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}]
    assert ctl.runs_daemon(node, spec)
    spec["tolerations"] = [{"key": "dedicated", "operator": "Equal", "value": "web"}]
    assert not ctl.runs_daemon(node, spec)
    spec["tolerations"] = [{"operator": "Exists"}]
    assert ctl.runs_daemon(node, spec)


def test_a_missing_or_extra_daemon_pod_is_reported(daemon):
    with pytest.raises(AssertionError, match=r"no pod on eligible nodes \['lab-worker2'\]"):
        ctl.check_one_per_node(daemon["pods"], {"lab-worker", "lab-worker2"})
    with pytest.raises(AssertionError, match=r"not eligible \['lab-worker'\]"):
        ctl.check_one_per_node(daemon["pods"], set())
    doubled = [*daemon["pods"], copy.deepcopy(daemon["pods"][0])]
    doubled[-1]["metadata"]["name"] = "pi-proxy-extra"
    with pytest.raises(AssertionError, match="more than one pod on a node"):
        ctl.check_one_per_node(doubled, {"lab-worker"})


def test_a_terminating_daemon_pod_no_longer_counts(daemon):
    pods = copy.deepcopy(daemon["pods"])
    pods[0]["metadata"]["deletionTimestamp"] = "2026-12-03T12:21:30Z"
    ctl.check_one_per_node(pods, set())


def test_pod_node_before_scheduling(daemon):
    pod = copy.deepcopy(daemon["pods"][0])
    assert ctl.pod_node(pod) == "lab-worker"
    del pod["spec"]["nodeName"]  # a DaemonSet pod names its node in a node-name affinity until it is bound
    assert ctl.pod_node(pod) == "lab-worker"
    del pod["spec"]["affinity"]
    assert ctl.pod_node(pod) is None


# --- CTL-7: Jobs and CronJobs -------------------------------------------------------------------------------


def _job(objects, name):
    return next(j for j in objects["jobs"] if j["metadata"]["name"] == name)


def test_job_complete(objects):
    ctl.check_job_complete(objects["pi_job_complete"])


def test_running_job_is_not_complete(objects):
    with pytest.raises(AssertionError, match=r"not Complete: 0/3 succeeded, 2 active"):
        ctl.check_job_complete(_job(objects, "pi-job"))


def test_failed_job_is_not_complete(objects):
    with pytest.raises(AssertionError, match="failed: DeadlineExceeded"):
        ctl.check_job_complete(_job(objects, "sleepy-job"))


def test_job_over_its_backoff_limit(objects):
    job = copy.deepcopy(objects["pi_job_complete"])
    job["status"]["failed"] = 5
    with pytest.raises(AssertionError, match="backoffLimit 4"):
        ctl.check_job_complete(job)


def test_deadline_exceeded(objects):
    ctl.check_deadline_exceeded(_job(objects, "sleepy-job"))
    with pytest.raises(AssertionError, match="has not failed yet"):
        ctl.check_deadline_exceeded({**_job(objects, "pi-job"), "spec": {"activeDeadlineSeconds": 15}})
    with pytest.raises(AssertionError, match="no activeDeadlineSeconds"):
        ctl.check_deadline_exceeded(_job(objects, "pi-job"))


def test_failed_for_another_reason_is_not_a_deadline(objects):
    job = copy.deepcopy(_job(objects, "sleepy-job"))
    failed = ctl.condition(job, "Failed")
    failed["reason"], failed["message"] = (
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
    )
    with pytest.raises(AssertionError, match="BackoffLimitExceeded"):
        ctl.check_deadline_exceeded(job)


def test_cron_history(objects):
    names = ctl.check_cron_history(objects["cronjob"], objects["jobs"])
    assert names == ["pi-cron-29938340", "pi-cron-29938341"]


def test_scheduled_time_from_the_annotation_or_the_name(objects):
    job = copy.deepcopy(_job(objects, "pi-cron-29938341"))
    assert ctl.scheduled_time(job, "pi-cron") == dt.datetime(2026, 12, 3, 12, 21, tzinfo=dt.UTC)
    del job["metadata"]["annotations"]
    assert ctl.scheduled_time(job, "pi-cron") == dt.datetime.fromtimestamp(29938341 * 60, dt.UTC)
    assert ctl.scheduled_time(_job(objects, "pi-job"), "pi-cron") is None


def test_a_job_off_schedule_is_reported(objects):
    cronjob = copy.deepcopy(objects["cronjob"])
    cronjob["spec"]["schedule"] = "*/5 * * * *"
    with pytest.raises(AssertionError, match=r"pi-cron-29938341 was scheduled at 2026-12-03T12:21:00\+00:00"):
        ctl.check_cron_history(cronjob, objects["jobs"])


def test_history_limit_exceeded(objects):
    cronjob = copy.deepcopy(objects["cronjob"])
    cronjob["spec"]["failedJobsHistoryLimit"] = 0
    with pytest.raises(AssertionError, match=r"keeps 1 failed Jobs \['pi-cron-29938340'\] > 0"):
        ctl.check_cron_history(cronjob, objects["jobs"])


def test_jobs_of_another_cronjob_do_not_count(objects):
    cronjob = copy.deepcopy(objects["cronjob"])
    cronjob["metadata"]["uid"] = "other"
    assert ctl.check_cron_history(cronjob, objects["jobs"]) == []


# --- CTL-8: config ------------------------------------------------------------------------------------------


def test_parse_env():
    text = "PATH=/usr/bin\nGREETING=hello from a ConfigMap\nMOTTO=a=b\n continuation\nHOME=/root\n"
    env = ctl.parse_env(text)
    assert env["GREETING"] == "hello from a ConfigMap"
    assert env["MOTTO"] == "a=b"
    assert " continuation" not in env


def test_check_values():
    ctl.check_values("env", {"A": "1", "B": "2"}, {"A": "1"})
    with pytest.raises(AssertionError, match=r"env: \(seen, expected\) \{'A': \(None, '1'\)\}"):
        ctl.check_values("env", {}, {"A": "1"})


# --- CTL-9: quota and LimitRange ----------------------------------------------------------------------------


def test_parse_the_recorded_quota_refusal(objects):
    parsed = ctl.parse_quota_rejection(objects["quota_refusal"])
    assert parsed == {
        "quota": "ctl-quota",
        "requested": {"requests.cpu": "2"},
        "used": {"requests.cpu": "100m"},
        "limited": {"requests.cpu": "1"},
    }
    ctl.check_quota_rejection(objects["quota_refusal"], "ctl-quota", "requests.cpu", "2000m")


def test_several_resources_in_one_refusal():
    message = (
        'pods "x" is forbidden: exceeded quota: compute, requested: pods=1,requests.memory=2Gi, '
        "used: pods=4,requests.memory=1Gi, limited: pods=4,requests.memory=2Gi"
    )
    parsed = ctl.parse_quota_rejection(message)
    assert parsed is not None
    assert parsed["limited"] == {"pods": "4", "requests.memory": "2Gi"}


@pytest.mark.parametrize(
    ("message", "match"),
    [
        ('pods "x" is forbidden: unable to validate against any security policy', "not by a quota"),
        (
            'pods "x" is forbidden: exceeded quota: other, requested: requests.cpu=2, used: '
            "requests.cpu=0, limited: requests.cpu=1",
            "refused by quota other",
        ),
        (
            'pods "x" is forbidden: exceeded quota: ctl-quota, requested: pods=1, used: pods=40, '
            "limited: pods=40",
            "limited {'pods': '40'}, not requests.cpu",
        ),
        (
            'pods "x" is forbidden: exceeded quota: ctl-quota, requested: requests.cpu=3, used: '
            "requests.cpu=0, limited: requests.cpu=1",
            "names requests.cpu=3, the pod asked 2",
        ),
    ],
)
def test_other_refusals_are_reported(message, match):
    with pytest.raises(AssertionError, match=match):
        ctl.check_quota_rejection(message, "ctl-quota", "requests.cpu", "2")


def test_over_quota_request(objects):
    assert ctl.over_quota_request(objects["quota"]) == "2000m"
    assert ctl.over_quota_request(objects["quota"], "requests.memory") == str(2 * 2**30)
    with pytest.raises(AssertionError, match=r"sets no limits\.cpu"):
        ctl.over_quota_request(objects["quota"], "limits.cpu")


def test_limitrange_defaults_applied(objects):
    ctl.check_defaults_applied(objects["defaulted_pod"], objects["limitrange"])


def test_a_pod_the_limitranger_did_not_touch(objects):
    pod = copy.deepcopy(objects["defaulted_pod"])
    del pod["metadata"]["annotations"]
    with pytest.raises(AssertionError, match="the LimitRanger did not act"):
        ctl.check_defaults_applied(pod, objects["limitrange"])
    pod = copy.deepcopy(objects["defaulted_pod"])
    pod["spec"]["containers"][0]["resources"]["limits"]["memory"] = "64Mi"
    with pytest.raises(AssertionError, match="limits"):
        ctl.check_defaults_applied(pod, objects["limitrange"])


def test_quantities_compare_by_value(objects):
    pod = copy.deepcopy(objects["defaulted_pod"])
    pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "0.02"
    ctl.check_defaults_applied(pod, objects["limitrange"])


def test_limitrange_without_container_defaults():
    with pytest.raises(AssertionError, match="no Container defaults"):
        ctl.container_defaults({"metadata": {"name": "x"}, "spec": {"limits": [{"type": "Pod"}]}})


# --- CTL-10: network policy ---------------------------------------------------------------------------------


def _daemonset(name, containers):
    return {"metadata": {"name": name}, "spec": {"template": {"spec": {"containers": containers}}}}


def test_the_lab_policy_denies_all_ingress(objects):
    ctl.check_denies_all_ingress(objects["policy"])
    allowing = copy.deepcopy(objects["policy"])
    allowing["spec"]["ingress"] = [{}]
    with pytest.raises(AssertionError, match="allows ingress"):
        ctl.check_denies_all_ingress(allowing)
    narrow = copy.deepcopy(objects["policy"])
    narrow["spec"]["podSelector"] = {"matchLabels": {"app": "x"}}
    with pytest.raises(AssertionError, match="selects only"):
        ctl.check_denies_all_ingress(narrow)


def test_kind_enforces_with_kindnet():
    assert (
        ctl.policy_enforcement_gap("local", [_daemonset("kindnet", []), _daemonset("kube-proxy", [])]) is None
    )
    gap = ctl.policy_enforcement_gap("local", [_daemonset("calico-node", [])])
    assert gap is not None
    assert "no kindnet DaemonSet" in gap


NODE_AGENT_ARGS = [
    "--enable-ipv6=false",
    "--enable-network-policy=false",
    "--enable-cloudwatch-logs=false",
    "--enable-policy-event-logs=false",
    "--metrics-bind-addr=:8162",
    "--health-probe-bind-addr=:8163",
]


def test_vpc_cni_enforces_only_with_its_agent_on():
    agent = {"name": "aws-eks-nodeagent", "args": NODE_AGENT_ARGS}
    off = ctl.policy_enforcement_gap("aws", [_daemonset("aws-node", [{"name": "aws-node"}, agent])])
    assert off is not None
    assert "network policy agent is off" in off
    on = {**agent, "args": [a.replace("policy=false", "policy=true") for a in NODE_AGENT_ARGS]}
    assert ctl.policy_enforcement_gap("aws", [_daemonset("aws-node", [{"name": "aws-node"}, on])]) is None
    missing = ctl.policy_enforcement_gap("aws", [_daemonset("kindnet", [])])
    assert missing is not None
    assert "no aws-node DaemonSet" in missing


def test_whoami_answer():
    body = "Hostname: whoami-web-5x9pw\nIP: 127.0.0.1\nIP: 10.244.1.5\nRemoteAddr: 10.244.2.3:51234\n"
    ctl.check_whoami_answer(body, "whoami-web-5x9pw")
    with pytest.raises(AssertionError, match="answered by whoami-web-5x9pw, expected other"):
        ctl.check_whoami_answer(body, "other")
    with pytest.raises(AssertionError, match="no whoami answer"):
        ctl.check_whoami_answer("", "other")


def test_no_answer():
    ctl.check_no_answer(1, "", "peer", "lab-ctl -> peer")
    with pytest.raises(AssertionError, match="answered 'peer'"):
        ctl.check_no_answer(0, "peer\n", "peer", "lab-ctl -> peer")
    with pytest.raises(AssertionError, match="the call succeeded"):
        ctl.check_no_answer(0, "", "peer", "lab-ctl -> peer")


# --- the lab's rendered objects -----------------------------------------------------------------------------


def test_lab_objects_and_pick():
    rendered = [
        {"kind": "Namespace", "metadata": {"name": "lab-ctl"}},
        {"kind": "Namespace", "metadata": {"name": "lab-sts"}},
        {"kind": "Deployment", "metadata": {"name": "pi-web", "namespace": "lab-ctl"}},
        {"kind": "Deployment", "metadata": {"name": "web", "namespace": "lab-tls"}},
    ]
    ours = ctl.lab_objects(rendered, ["lab-ctl"])
    assert [o["metadata"]["name"] for o in ours] == ["lab-ctl", "pi-web"]
    assert ctl.pick(rendered, "Deployment", "lab-ctl", "pi-web") is rendered[2]
    with pytest.raises(AssertionError, match="0 rendered Deployment lab-ctl/web"):
        ctl.pick(rendered, "Deployment", "lab-ctl", "web")
