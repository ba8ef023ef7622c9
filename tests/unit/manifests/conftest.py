"""Rendered manifests, once per session: the tests look at what `kubectl apply -k` would send, not at sources.

Every environment is rendered with the real ``kubectl kustomize`` (the kustomize ``kubectl apply -k`` uses),
run from the locked kubectl (``.venv/bin``, version-checked) whatever else is on PATH.
``with_all_components`` renders the base with every optional component switched on, through a throwaway
overlay, so the opt-in pieces are checked too.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import tools
from infra.environments import ENVIRONMENTS
from infra.paths import MANIFESTS_DIR

OPTIONAL_COMPONENTS = ("nlb", "nlb-proxy-protocol", "qos-pending")


@dataclass(frozen=True)
class Rendered:
    """One rendered environment: its objects and the raw YAML stream."""

    name: str
    kube_version: str
    objects: list[dict[str, Any]]
    text: str

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
        for obj in self.objects:
            meta = obj["metadata"]
            if obj["kind"] == kind and meta["name"] == name and meta.get("namespace") == namespace:
                return obj
        raise AssertionError(f"{self.name}: no {kind} {namespace}/{name} in the rendered output")

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def pod_specs(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """``("Kind/ns/name", pod spec)`` for bare Pods and every pod template."""
        for obj in self.objects:
            where = f"{obj['kind']}/{obj['metadata'].get('namespace')}/{obj['metadata']['name']}"
            if obj["kind"] == "Pod":
                yield where, obj["spec"]
            elif obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
                yield where, obj["spec"]["template"]["spec"]

    def containers(self) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
        """``(where, container, pod spec)`` for every container and init container."""
        for where, spec in self.pod_specs():
            for field in ("initContainers", "containers"):
                for container in spec.get(field) or []:
                    yield f"{where}:{container['name']}", container, spec


def kustomize(path: Path) -> str:
    argv = [str(tools.kubectl_path()), "kustomize", str(path)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"kubectl kustomize {path} failed: {done.stderr}"
    return done.stdout


def _render(name: str, path: Path, kube_version: str) -> Rendered:
    text = kustomize(path)
    objects = [doc for doc in yaml.safe_load_all(text) if doc]
    return Rendered(name, kube_version, objects, text)


@pytest.fixture(scope="session")
def rendered() -> dict[str, Rendered]:
    """Every environment's entry point, rendered once."""
    return {name: _render(name, env.manifests, env.kube_version) for name, env in ENVIRONMENTS.items()}


@pytest.fixture(scope="session")
def with_all_components(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """The base plus every optional component (ownership last, as the environments do)."""
    overlay = tmp_path_factory.mktemp("all-components")
    # kustomize refuses absolute paths: point at the repository relative to the throwaway overlay.
    rel = Path(os.path.relpath(MANIFESTS_DIR, overlay))
    components = [rel / "components" / c for c in (*OPTIONAL_COMPONENTS, "ownership")]
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [str(rel / "base")],
                "components": [str(c) for c in components],
            }
        )
    )
    return _render("all-components", overlay, ENVIRONMENTS["aws"].kube_version)


@pytest.fixture(scope="session")
def every_render(rendered: dict[str, Rendered], with_all_components: Rendered) -> list[Rendered]:
    return [*rendered.values(), with_all_components]
