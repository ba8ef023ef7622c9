"""GIT-2 at field level: what differs, and what a person added (from recorded managedFields)."""

from __future__ import annotations

import copy

from infra.gitops.apply import hand_additions
from infra.gitops.drift import ADDED, CHANGED, compare
from infra.gitops.fields import changed_paths, comparable, field_paths, removal_patch, subtract
from infra.kube import ObjectRef

WEB = ObjectRef("apps", "Deployment", "lab-tls", "web")

# A Deployment as the API server returns it after `infra reconcile`, then `kubectl label deployment web
# team=hand`, `kubectl set env deployment/web EXTRA=1` and `kubectl scale --replicas=5` (recorded shapes).
LIVE = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "web",
        "namespace": "lab-tls",
        "generation": 4,
        "resourceVersion": "1234",
        "labels": {"app.kubernetes.io/name": "web", "team": "hand"},
        "annotations": {"deployment.kubernetes.io/revision": "2"},
        "managedFields": [
            {
                "manager": "infra",
                "operation": "Apply",
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:metadata": {"f:labels": {"f:app.kubernetes.io/name": {}}},
                    "f:spec": {
                        "f:replicas": {},
                        "f:template": {
                            "f:spec": {
                                "f:containers": {'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}}}
                            }
                        },
                    },
                },
            },
            {
                "manager": "kubectl-label",
                "operation": "Update",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:labels": {"f:team": {}, "f:app.kubernetes.io/name": {}}}},
            },
            {
                "manager": "kubectl-set",
                "operation": "Update",
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:spec": {
                        "f:template": {
                            "f:spec": {
                                "f:containers": {
                                    'k:{"name":"web"}': {
                                        "f:env": {
                                            ".": {},
                                            'k:{"name":"EXTRA"}': {".": {}, "f:name": {}, "f:value": {}},
                                        }
                                    }
                                }
                            }
                        }
                    }
                },
            },
            {
                "manager": "kubectl-scale",
                "operation": "Update",
                "subresource": "scale",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:replicas": {}}},
            },
            {
                "manager": "kube-controller-manager",
                "operation": "Update",
                "subresource": "status",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:status": {"f:replicas": {}}},
            },
        ],
    },
    "spec": {
        "replicas": 5,
        "template": {
            "spec": {
                "containers": [
                    {"name": "web", "image": "whoami:v1", "env": [{"name": "EXTRA", "value": "1"}]}
                ]
            }
        },
    },
    "status": {"replicas": 5},
}


def test_changed_paths_name_list_items_by_name():
    old = {"spec": {"containers": [{"name": "web", "image": "a"}, {"name": "side", "image": "b"}]}}
    new = {"spec": {"containers": [{"name": "web", "image": "c"}, {"name": "side", "image": "b"}]}}
    assert list(changed_paths(old, new)) == ["spec.containers[name=web].image"]
    assert list(changed_paths({"a": 1}, {"a": 1, "b": 2})) == ["b"]
    assert list(changed_paths({"a": [1, 2]}, {"a": [1]})) == ["a"]


def test_comparable_drops_status_and_server_metadata():
    view = comparable(LIVE)
    assert "status" not in view
    assert set(view["metadata"]) == {"name", "namespace", "labels", "annotations"}


def test_field_paths_render_keys_and_stop_at_items_a_manager_created():
    fields = LIVE["metadata"]["managedFields"][2]["fieldsV1"]
    assert list(field_paths(fields)) == ["spec.template.spec.containers[name=web].env"]


def test_a_field_both_own_is_not_added_by_hand():
    hand = LIVE["metadata"]["managedFields"][1]["fieldsV1"]
    ours = LIVE["metadata"]["managedFields"][0]["fieldsV1"]
    assert subtract(hand, ours) == {"f:metadata": {"f:labels": {"f:team": {}}}}


def test_hand_additions_and_the_patch_that_removes_them():
    [added] = hand_additions([LIVE])
    assert added.ref == WEB
    assert added.resource == "deployment.apps"
    assert added.paths == (
        "metadata.labels.team (by kubectl-label)",
        "spec.template.spec.containers[name=web].env (by kubectl-set)",
    )
    # replicas (scale subresource) and status (controller) are never taken back
    assert added.patch == {
        "metadata": {"labels": {"team": None}},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "env": None}]}}},
    }


def test_an_env_entry_added_to_an_existing_list_is_deleted_by_key():
    fields = {
        "f:spec": {
            "f:containers": {'k:{"name":"web"}': {"f:env": {'k:{"name":"EXTRA"}': {".": {}, "f:value": {}}}}}
        }
    }
    assert removal_patch(fields) == {
        "spec": {"containers": [{"name": "web", "env": [{"name": "EXTRA", "$patch": "delete"}]}]}
    }


def test_edits_by_hand_of_a_field_git_sets_are_changes_not_additions():
    after = copy.deepcopy(LIVE)
    after["spec"]["replicas"] = 3  # what the dry run of the reconcile leaves
    after["metadata"]["generation"] = 5
    items = compare(WEB, LIVE, after)
    assert [(i.status, i.fields) for i in items] == [
        (CHANGED, ("spec.replicas",)),
        (
            ADDED,
            (
                "metadata.labels.team (by kubectl-label)",
                "spec.template.spec.containers[name=web].env (by kubectl-set)",
            ),
        ),
    ]
    assert items[0].excerpt == ("spec.replicas: 5 -> 3",)


def test_a_clean_object_has_no_drift():
    clean = copy.deepcopy(LIVE)
    clean["metadata"]["managedFields"] = LIVE["metadata"]["managedFields"][:1]
    clean["metadata"]["labels"].pop("team")
    clean["spec"]["template"]["spec"]["containers"][0].pop("env")
    assert compare(WEB, clean, copy.deepcopy(clean)) == []
