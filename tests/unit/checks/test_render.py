"""Loading and rendering: files, directories, kustomizations (real `kubectl kustomize`), and bad input."""

from __future__ import annotations

import pytest

from infra import proc
from infra.errors import InfraError
from infra.render import collect, kustomize, load_documents, render_env


def test_documents_keep_index_and_line_skip_empty_and_expand_lists(tmp_path):
    text = (
        "---\n# nothing here\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
        "apiVersion: v1\nkind: List\nitems:\n"
        "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n"
        "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n"
    )
    docs = load_documents(text, tmp_path / "x.yaml")
    assert [(d.name, d.index, d.line) for d in docs] == [("a", 0, 4), ("b", 1, 8), ("c", 2, 8)]


def test_broken_yaml_names_file_and_line(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: broken\ndata:\n  key: value\n")
    with pytest.raises(InfraError, match=r"broken\.yaml:4: unparsable YAML") as caught:
        collect([broken])
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad-input/not-an-object.yaml", r"not-an-object\.yaml:1: not a Kubernetes object"),
        ("does-not-exist.yaml", r"does-not-exist\.yaml does not exist"),
    ],
)
def test_bad_paths_are_user_errors(fixtures, name, message):
    with pytest.raises(InfraError, match=message):
        collect([fixtures / name])


def test_empty_directory_is_an_error(tmp_path):
    with pytest.raises(InfraError, match="holds no YAML files and no kustomization"):
        collect([tmp_path])


def test_directory_is_walked_in_name_order(fixtures):
    docs = collect([fixtures / "sts"])
    assert [d.source.name for d in docs][:3] == [
        "bad-no-service.yaml",
        "bad-no-service.yaml",
        "bad-not-headless.yaml",
    ]
    assert {d.source.parent.name for d in docs} == {"sts"}


def test_kustomization_is_rendered_by_kubectl(fixtures):
    docs = collect([fixtures / "kustomize" / "app"])
    assert [(d.kind, d.namespace, d.index, d.line) for d in docs] == [
        ("Deployment", "lab-hpa", 0, None),
        ("HorizontalPodAutoscaler", "lab-hpa", 1, None),
    ]
    assert docs[0].source == fixtures / "kustomize" / "app"
    assert docs[0].metadata["labels"]["app.kubernetes.io/managed-by"] == "infra"


def test_kustomize_failure_names_the_path_and_kustomize_message(fixtures):
    with pytest.raises(InfraError, match=r"kustomize could not render .*broken: .*missing\.yaml"):
        collect([fixtures / "kustomize" / "broken"])


def test_kustomize_goes_through_the_process_boundary(monkeypatch, tmp_path):
    calls = []

    def fake_run(argv, **kwargs):
        calls.append([str(a) for a in argv])
        return proc.Result(list(argv), 0, "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n", "")

    monkeypatch.setattr(proc, "run", fake_run)
    assert kustomize(tmp_path).startswith("apiVersion: v1")
    assert calls == [["kubectl", "kustomize", str(tmp_path)]]


def test_missing_env_entry_point_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr("infra.environments.MANIFESTS_DIR", tmp_path)
    with pytest.raises(InfraError, match=r"envs/aws is not a kustomization") as caught:
        render_env("aws")
    assert "manifests/envs/aws/kustomization.yaml" in (caught.value.hint or "")


def test_unknown_env_is_a_clear_error():
    with pytest.raises(InfraError, match="unknown environment 'moon'"):
        render_env("moon")


def test_directory_walk_renders_overlays_and_skips_components(fixtures):
    (doc,) = collect([fixtures / "tree"])
    assert doc.source == fixtures / "tree" / "overlay"
    assert doc.obj["data"] == {"level": "info", "feature": "on"}  # the component applied through the overlay
