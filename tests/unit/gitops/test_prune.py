"""GIT-3 prune policy: only what the last apply wrote, in own namespaces, still labelled, of a prune kind."""

from __future__ import annotations

import json

import pytest

from infra.errors import InfraError
from infra.gitops import inventory, prune
from infra.kube import ObjectRef

from .conftest import OWNERSHIP, by_ref, cluster_objects

OLD_WEB = ObjectRef("apps", "Deployment", "lab-tls", "old-web")
STALE_CM = ObjectRef("", "ConfigMap", "lab-mysql", "stale")
COREDNS = ObjectRef("apps", "Deployment", "kube-system", "coredns")
HANDMADE = ObjectRef("apps", "Deployment", "lab-tls", "handmade")
WEB = ObjectRef("apps", "Deployment", "lab-tls", "web")
SECRET = ObjectRef("", "Secret", "lab-tls", "web-tls")
PVC = ObjectRef("", "PersistentVolumeClaim", "lab-mysql", "data-mysql-0")
NS_OLD = ObjectRef("", "Namespace", "", "lab-old")
POD = ObjectRef("", "Pod", "lab-tls", "web-6d4cf56db6-x7k2p")
OWN = {"lab-tls", "lab-mysql", "lab-hpa"}


def live() -> dict[ObjectRef, dict]:
    return by_ref(cluster_objects())


def test_recorded_objects_gone_from_git_are_pruned():
    recorded = {WEB, OLD_WEB, STALE_CM}
    assert prune.select_prunable(live(), recorded, {WEB}, OWN) == [STALE_CM, OLD_WEB]


def test_a_labelled_object_outside_the_own_namespaces_is_never_pruned_even_if_recorded():
    labelled = {**cluster_objects()[0], "kind": "ConfigMap", "apiVersion": "v1"}
    labelled["metadata"] = {"name": "decoy", "namespace": "kube-system", "labels": dict(OWNERSHIP)}
    decoy = ObjectRef("", "ConfigMap", "kube-system", "decoy")
    state = {**live(), decoy: labelled}
    assert prune.select_prunable(state, {decoy}, set(), OWN) == []
    assert prune.candidates({decoy}, set(), OWN) == []


def test_a_labelled_object_the_last_apply_did_not_write_is_never_pruned():
    # every labelled object of the recorded cluster, but the record only holds WEB
    assert prune.select_prunable(live(), {WEB}, set(), OWN | {"kube-system", "lab-qos"}) == [WEB]


@pytest.mark.parametrize("ref", [SECRET, PVC, NS_OLD], ids=["secret", "pvc", "namespace"])
def test_secrets_pvcs_and_namespaces_are_never_pruned(ref):
    assert prune.select_prunable(live(), {ref}, set(), OWN | {""}) == []
    with pytest.raises(InfraError, match="not in the prune allowlist"):
        prune.delete_stub(ref)


def test_unlabelled_controlled_or_deleting_objects_are_kept():
    state = live()
    deleting = json.loads(json.dumps(state[OLD_WEB]))
    deleting["metadata"]["deletionTimestamp"] = "2026-12-03T10:00:00Z"
    state[OLD_WEB] = deleting
    assert prune.select_prunable(state, {HANDMADE, POD, OLD_WEB}, set(), OWN) == []
    assert prune.kept_by_hand(state, {HANDMADE}, set(), OWN) == [HANDMADE]


def test_a_recorded_object_already_gone_is_not_selected():
    missing = ObjectRef("", "Service", "lab-tls", "never-existed")
    assert prune.select_prunable(live(), {missing}, set(), OWN) == []


def test_orphaned_namespaces_are_reported_not_pruned():
    assert prune.orphaned_namespaces({NS_OLD, WEB}, {WEB}) == [NS_OLD]
    assert not prune.prunable_kind(NS_OLD)


def test_the_inventory_round_trips_and_names_its_environment():
    refs = {WEB, STALE_CM, ObjectRef("", "Namespace", "", "lab-tls")}
    namespace, record = inventory.objects("local", refs)
    assert namespace["metadata"]["name"] == record["metadata"]["namespace"] == inventory.NAMESPACE
    # the record is not a lab object: never pruned itself, never counted as owned
    assert "app.kubernetes.io/part-of" not in record["metadata"]["labels"]
    read = inventory.from_object(record, "local")
    assert read is not None
    assert read.refs == frozenset(refs)
    assert read.namespaces == {"lab-tls", "lab-mysql"}
    assert inventory.from_object(None, "local") is None


def test_the_inventory_of_another_environment_stops_the_reconcile():
    _, record = inventory.objects("aws", {WEB})
    with pytest.raises(InfraError, match="holds the lab of the aws environment"):
        inventory.from_object(record, "local")


def test_an_unreadable_inventory_is_an_error_not_an_empty_record():
    _, record = inventory.objects("local", {WEB})
    record["data"][inventory.KEY] = "{not json"
    with pytest.raises(InfraError, match="unreadable"):
        inventory.from_object(record, "local")


def test_stubs_name_objects_for_kubectl():
    assert prune.stub(WEB) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "lab-tls"},
    }
    assert prune.stub(NS_OLD) == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lab-old"}}
