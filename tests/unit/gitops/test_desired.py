"""What git says: rendering, the stack's Ingress host through a generated overlay, run-time Secrets."""

from __future__ import annotations

import pytest

from infra.errors import ConfigError
from infra.gitops.desired import ingress_hosts, render_desired, runtime_secret_refs
from infra.kube import ObjectRef


def test_the_local_ingress_host_follows_the_stack_outputs(isolated_state):
    default = render_desired("local")
    assert ingress_hosts(default.objects) == ["127-0-0-1.nip.io"]
    moved = render_desired("local", ingress_host="192-168-1-20.nip.io")
    assert ingress_hosts(moved.objects) == ["192-168-1-20.nip.io"]
    [ingress] = [o for o in moved.objects if o["kind"] == "Ingress"]
    assert ingress["spec"]["tls"][0]["hosts"] == ["192-168-1-20.nip.io"]
    assert moved.source == isolated_state / "local" / "overlay"
    assert len(moved.objects) == len(default.objects)
    # the same host as git needs no overlay
    assert render_desired("local", ingress_host="127-0-0-1.nip.io").source == default.source


def test_a_wildcard_host_is_left_alone(isolated_state):
    aws = render_desired("aws", ingress_host="a1b2.elb.amazonaws.com")
    assert ingress_hosts(aws.objects) == ["*.nip.io"]


def test_the_runtime_secrets_are_declared_by_the_manifests(isolated_state):
    refs = runtime_secret_refs(render_desired("local").objects)
    assert ObjectRef("", "Secret", "lab-tls", "web-tls") in refs


def test_a_folder_without_kustomization_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="is not a kustomization"):
        render_desired("local", entry=tmp_path)


def test_dump_keeps_strings_that_look_like_numbers_strings_for_a_yaml_1_2_reader():
    """kubectl reads its input as YAML, where a bare 18e233 is a float: such a token must stay a string."""
    from ruamel.yaml import YAML

    from infra.gitops.desired import dump

    values = {"probe": "18e233", "short": "1e3", "octal": "0o17", "yes": "yes", "null": "null", "n": "7"}
    objects = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": values},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}},
    ]
    read = list(YAML(typ="safe", pure=True).load_all(dump(objects)))
    assert read == objects
    assert dump([]) == ""
