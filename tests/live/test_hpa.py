"""HPA-1..4: an autoscaling/v2 HPA on CPU, under generated load, and the lab's two mistakes."""

from __future__ import annotations

import copy
import dataclasses
import os

import pytest

from infra import series as recorded
from infra.probes import hpa as hpa_probe
from infra.probes.eventually import eventually

NAMESPACE, NAME, KIND = "lab-hpa", "hpa-demo", "HorizontalPodAutoscaler"
# resource-consumer (the image Kubernetes' own HPA e2e tests use) burns CPU on request in the pod that
# receives it; every 5 s one request asks for 250 millicores for 30 s, so ~1.5 cores are in demand.
LOAD_URL = f"http://{NAME}.{NAMESPACE}.svc.cluster.local/ConsumeCPU?millicores=250&durationSec=30"
LOAD_COMMAND = ["sh", "-c", f"while true; do curl -s -o /dev/null -X POST '{LOAD_URL}'; sleep 5; done"]
LOAD_RESIDUE_S = 30  # a request already accepted keeps burning this long after the load stops


def _hpa(kube) -> dict:
    return kube.json(kube.autoscaling.read_namespaced_horizontal_pod_autoscaler(NAME, NAMESPACE))


def _rendered_hpa(env: str) -> dict:
    from infra.render import render_env

    docs = [d.obj for d in render_env(env) if (d.kind, d.namespace, d.name) == (KIND, NAMESPACE, NAME)]
    assert docs, f"manifests/envs/{env} renders no {KIND} {NAMESPACE}/{NAME}"
    return docs[0]


@pytest.mark.live
def test_hpa_1_deployment_and_autoscaler(kube, env, retry_on):
    """Deployment requests 200m CPU; the autoscaling/v2 HPA targets it fully at 50% CPU, min 1, max 10.

    The apiVersion is the manifest's own (rendered) and the one the live object was applied with (its
    ``infra`` managedFields entry): reading through the autoscaling/v2 API would show v2 for a v1 manifest.
    """
    from infra.gitops.apply import FIELD_MANAGER

    manifest = _rendered_hpa(env)

    def probe() -> None:
        deployment = kube.json(kube.apps.read_namespaced_deployment(NAME, NAMESPACE))
        live = _hpa(kube)
        issues = hpa_probe.api_version_issues(
            manifest.get("apiVersion"), hpa_probe.applied_api_version(live, FIELD_MANAGER), FIELD_MANAGER
        )
        issues += hpa_probe.spec_issues({**live, "apiVersion": manifest.get("apiVersion")}, deployment)
        assert not issues, "; ".join(issues)

    eventually(probe, 60, 3, "HPA-1 objects as in the lab", retry_on=retry_on)


@pytest.mark.live
def test_hpa_2_metric_known_in_bounded_time(kube, retry_on):
    """The CPU metric is known (not <unknown>) within the rollout bound (hpa.metric_known_bound_s)."""
    bound = hpa_probe.metric_known_bound_s()
    eventually(
        lambda: hpa_probe.check_metric_known(_hpa(kube)),
        bound,
        5,
        f"HPA metric known within {bound}s",
        retry_on=retry_on,
    )


@pytest.fixture
def at_rest(kube, retry_on) -> dict:
    """Wait until the HPA is back at minReplicas (an earlier load may still be winding down)."""
    hpa = _hpa(kube)
    minimum = hpa["spec"].get("minReplicas") or 1
    bound = hpa_probe.scale_in_bound_s(
        hpa_probe.scale_down_stabilization_s(hpa)
    ) + hpa_probe.scale_down_policy_time_s(hpa, hpa["spec"]["maxReplicas"])

    def resting() -> dict:
        current = _hpa(kube)
        assert current["status"].get("currentReplicas") == minimum, (
            f"HPA at {current['status'].get('currentReplicas')}"
        )
        return current

    return eventually(resting, bound, 10, f"HPA {NAME} back at {minimum} replica(s)", retry_on=retry_on)


@pytest.fixture
def load(kube, token, undo):
    """Start the in-cluster load generator; returns a function that stops it (also run after the test)."""
    name = f"infra-load-{token}"
    stop = lambda: kube.delete_pod(NAMESPACE, name)  # noqa: E731 - the same step is returned and registered
    undo(stop, f"delete load generator {name}")
    kube.run_pod(NAMESPACE, name, LOAD_COMMAND, labels={"app.kubernetes.io/component": "load"})
    return stop


def _scaled_out(kube, before: int, samples: list[dict]) -> dict:
    """Poll once: the HPA's first scale-up decision follows the formula, never above max; ready rose."""
    samples.append(_hpa(kube))
    recorded.record_hpa("HPA-3", samples[-1])  # replicas, CPU vs target and the formula's prediction
    ready = kube.apps.read_namespaced_deployment(NAME, NAMESPACE).status.ready_replicas or 0
    return hpa_probe.check_scale_out(samples, before, ready)


@pytest.mark.live
def test_hpa_3_scales_out_under_load(kube, at_rest, load, retry_on):
    """Under CPU load the Deployment gains ready replicas within scale_out_bound_s(), per the HPA formula.

    The formula is checked on the HPA's first scale-up decision from rest (see hpa.check_scale_out).
    """
    before = at_rest["status"]["currentReplicas"]
    bound = hpa_probe.scale_out_bound_s()
    samples: list[dict] = []
    eventually(
        lambda: _scaled_out(kube, before, samples), bound, 5, f"scale-out within {bound}s", retry_on=retry_on
    )


@pytest.mark.live
@pytest.mark.slow
def test_hpa_3_scales_in_after_load(kube, at_rest, load, retry_on):
    """After the load stops, replicas fall back to minReplicas once the stabilization window has passed."""
    before = at_rest["status"]["currentReplicas"]
    samples: list[dict] = []
    bound = hpa_probe.scale_out_bound_s()
    scaled = eventually(lambda: _scaled_out(kube, before, samples), bound, 5, "scale-out", retry_on=retry_on)
    load()
    peak = max(s["status"].get("desiredReplicas") or 0 for s in samples)
    window = hpa_probe.scale_down_stabilization_s(scaled)
    bound = (
        hpa_probe.scale_in_bound_s(window) + hpa_probe.scale_down_policy_time_s(scaled, peak) + LOAD_RESIDUE_S
    )
    minimum = scaled["spec"].get("minReplicas") or 1

    def back() -> None:
        status = kube.apps.read_namespaced_deployment(NAME, NAMESPACE).status
        assert (status.replicas, status.ready_replicas) == (minimum, minimum), (
            f"Deployment at {status.replicas} replicas ({status.ready_replicas} ready), expected {minimum}"
        )

    eventually(
        back, bound, 10, f"scale-in to {minimum} within {bound}s (stabilization {window}s)", retry_on=retry_on
    )


def _mutations():
    def drop_api_version(docs):
        return _mutate(
            docs, "HorizontalPodAutoscaler", lambda o: o["spec"]["scaleTargetRef"].pop("apiVersion")
        )

    def drop_cpu_request(docs):
        def strip(obj):  # no CPU request, and no CPU limit it would default to
            for container in obj["spec"]["template"]["spec"]["containers"]:
                for part in ("requests", "limits"):
                    container.get("resources", {}).get(part, {}).pop("cpu", None)

        return _mutate(docs, "Deployment", strip)

    # (change to the rendered manifests, the lab's broken example file, rule, words of its message)
    return {
        "missing-apiversion": (drop_api_version, "bad-no-apiversion.yaml", "HPA-TARGET", "FailedGetScale"),
        "missing-cpu-request": (
            drop_cpu_request,
            "bad-no-cpu-request.yaml",
            "HPA-REQUEST",
            "missing request for cpu",
        ),
    }


def _mutate(docs, kind, change):
    changed = []
    for doc in docs:
        if doc.kind == kind and doc.name == NAME and doc.namespace == NAMESPACE:
            obj = copy.deepcopy(doc.obj)
            change(obj)
            doc = dataclasses.replace(doc, obj=obj)
        changed.append(doc)
    return changed


@pytest.mark.live
@pytest.mark.parametrize("mistake", ["missing-apiversion", "missing-cpu-request"])
def test_hpa_4_lab_mistakes_caught_before_apply(env, mistake):
    """`infra check` rejects each mistake before anything is applied: the example file with the mistake
    (exit 1, the rule and its message), and the environment's own manifests with the mistake made in them;
    the manifests as they are trip neither rule. Nothing live is asked: the claim is about before apply."""
    import subprocess
    import sys

    from infra.checks import check_documents
    from infra.environments import get_environment
    from infra.paths import REPO_ROOT
    from infra.render import render_env

    mutate, example, rule, words = _mutations()[mistake]
    path = REPO_ROOT / "tests" / "unit" / "checks" / "fixtures" / "hpa" / example
    run = subprocess.run(
        [sys.executable, "-m", "infra", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "400"},
    )
    assert run.returncode == 1, f"infra check {example} exited {run.returncode}: {run.stdout}{run.stderr}"
    flagged = [line for line in run.stdout.splitlines() if f" {rule}: " in line]
    assert flagged, f"infra check {example} does not report {rule}: {run.stdout}"
    assert any(words in line for line in flagged), f"{rule} does not mention {words!r}: {flagged}"

    docs = render_env(env)
    version = get_environment(env).kube_version
    clean = [f for f in check_documents(docs, version) if f.rule == rule]
    assert not clean, f"the repository's own manifests already trip {rule}: {[str(f) for f in clean]}"
    caught = [f for f in check_documents(mutate(docs), version) if f.rule == rule]
    assert caught, f"{mistake} in manifests/envs/{env} is not caught by {rule}"
    assert any(words in f.message for f in caught), f"{rule} does not mention {words!r}: {caught}"
