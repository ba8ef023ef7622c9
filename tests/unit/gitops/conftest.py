"""A fake kubectl at the process boundary (``infra.proc.run``) and the recorded fixtures it answers with.

The fake records every call (argv, stdin, extra environment) so tests assert the exact commands and their
order; answers are the recorded outputs in ``fixtures/``. Nothing here runs kubectl or needs a cluster.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from infra import environments, proc
from infra.kube import KubeTarget

FIXTURES = Path(__file__).parent / "fixtures"
OWNERSHIP = {"app.kubernetes.io/managed-by": "infra", "app.kubernetes.io/part-of": "k8s-labs"}
SERVER_VERSION = json.dumps(
    {
        "clientVersion": {"gitVersion": "v1.32.4"},
        "kustomizeVersion": "v5.5.0",
        "serverVersion": {"gitVersion": "v1.35.1", "major": "1", "minor": "35"},
    }
)


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def cluster_objects() -> list[dict[str, Any]]:
    """Every object of the recorded cluster, labelled or not (``kubectl get ... -A -o json`` without -l)."""
    return json.loads(fixture_text("cluster-objects.json"))["items"]


def selector_matches(obj: dict[str, Any], selector: str) -> bool:
    """What the API server does with ``-l k=v,k2=v2`` (written here independently of infra.ownership)."""
    labels = obj["metadata"].get("labels") or {}
    pairs = [term.split("=", 1) for term in selector.split(",")]
    return all(labels.get(key) == value for key, value in pairs)


@dataclass
class Call:
    argv: list[str]
    input: str | None
    env: dict[str, str]

    @property
    def args(self) -> list[str]:
        """argv without ``kubectl`` and the target flags (``--kubeconfig F``, ``--context C``)."""
        out, skip = [], False
        for word in self.argv[1:]:
            if skip:
                skip = False
                continue
            if word in ("--kubeconfig", "--context"):
                skip = True
                continue
            out.append(word)
        return out


Answer = proc.Result | Callable[[Call], proc.Result]


@dataclass
class FakeKubectl:
    """Answers kubectl by the leading words of its arguments; the longest matching prefix wins."""

    calls: list[Call] = field(default_factory=list)
    live: list[dict[str, Any]] = field(default_factory=cluster_objects)  # what the cluster holds
    answers: dict[tuple[str, ...], Answer] = field(default_factory=dict)

    def on(self, *prefix: str, returncode: int = 0, stdout: str = "", stderr: str = "") -> None:
        self.answers[prefix] = proc.Result([], returncode, stdout, stderr)

    def on_call(self, *prefix: str, answer: Callable[[Call], proc.Result]) -> None:
        self.answers[prefix] = answer

    def __call__(
        self, argv, *, cwd=None, env=None, input=None, check=True, capture=True, timeout=None, hint=None
    ):
        call = Call([str(a) for a in argv], input, dict(env or {}))
        self.calls.append(call)
        matches = [p for p in self.answers if tuple(call.args[: len(p)]) == p]
        if not matches:
            raise AssertionError(f"unexpected command: {call.argv}")
        answer = self.answers[max(matches, key=len)]
        result = answer(call) if callable(answer) else answer
        result = proc.Result(call.argv, result.returncode, result.stdout, result.stderr)
        if check and not result.ok:
            raise proc.CommandFailed(result, hint)
        return result

    def commands(self) -> list[list[str]]:
        return [c.args for c in self.calls]

    def find(self, *prefix: str) -> list[Call]:
        return [c for c in self.calls if tuple(c.args[: len(prefix)]) == prefix]


# kind -> the resource name kubectl get takes, as the API server's discovery would map them
RESOURCES = {
    "Namespace": "namespaces",
    "Deployment": "deployments.apps",
    "StatefulSet": "statefulsets.apps",
    "Service": "services",
    "Ingress": "ingresses.networking.k8s.io",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers.autoscaling",
    "ConfigMap": "configmaps",
    "Pod": "pods",
    "Secret": "secrets",
    "PersistentVolumeClaim": "persistentvolumeclaims",
}


def answer_listing(live: list[dict[str, Any]], call: Call) -> proc.Result:
    """``kubectl get <resources> -A -l SELECTOR -o json`` over ``live`` (the recorded cluster by default)."""
    args = call.args
    requested = set(args[1].split(","))
    selector = args[args.index("-l") + 1]
    items = [o for o in live if RESOURCES[o["kind"]] in requested and selector_matches(o, selector)]
    return proc.Result([], 0, json.dumps({"apiVersion": "v1", "kind": "List", "items": items}), "")


@pytest.fixture(autouse=True)
def isolated_state(tmp_path, monkeypatch):
    """Run-time state in a temporary folder; no kubeconfig from the machine running the tests."""
    monkeypatch.setenv("INFRA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBECTL_EXTERNAL_DIFF", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.fixture
def manifests(tmp_path, monkeypatch) -> Path:
    """A manifests/ tree whose envs/local is a kustomization (its rendering is the recorded fixture)."""
    root = tmp_path / "manifests"
    entry = root / "envs" / "local"
    entry.mkdir(parents=True)
    (entry / "kustomization.yaml").write_text("resources: []\n")
    monkeypatch.setattr(environments, "MANIFESTS_DIR", root)
    return entry


@pytest.fixture
def target(tmp_path) -> KubeTarget:
    config = tmp_path / "kubeconfig"
    config.write_text("apiVersion: v1\nkind: Config\n")
    return KubeTarget(config, "kind-lab", str(config))


@pytest.fixture
def kube(monkeypatch, manifests) -> FakeKubectl:
    """A healthy cluster in the recorded state: everything answers, no diff, no Secret exists yet."""
    fake = FakeKubectl()
    fake.on("version", stdout=SERVER_VERSION)
    fake.on("kustomize", stdout=fixture_text("rendered-local.yaml"))
    fake.on("apply", stdout="namespace/lab-hpa serverside-applied\ndeployment.apps/web serverside-applied\n")
    fake.on(
        "get",
        "namespaces",
        "-o",
        "name",
        stdout="namespace/lab-tls\nnamespace/lab-hpa\nnamespace/lab-mysql\n",
    )
    fake.on_call("get", answer=lambda call: answer_listing(fake.live, call))
    fake.on("get", "secret", stdout="")
    fake.on("create", stdout="secret/created\n")
    fake.on("delete", stdout="")
    fake.on("rollout", stdout="successfully rolled out\n")
    fake.on("diff", returncode=0)
    monkeypatch.setattr(proc, "run", fake)
    return fake
