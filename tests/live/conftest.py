"""Live probes: one test per lab claim, run against a lab (`infra verify`, or `pytest tests/live`).

Which cluster: ``INFRA_ENV`` (local | aws, default local) picks ``.infra/<env>/kubeconfig``;
``INFRA_KUBECONFIG`` / ``INFRA_CONTEXT`` name another one (``infra verify --kubeconfig/--context`` sets
them). ``$KUBECONFIG`` alone and ``~/.kube/config`` are never used: the probes scale and delete things. With
no cluster, or when the API server does not answer, every test here is skipped with the reason (see
:func:`infra.verify.locate_cluster`). Claims that apply to AWS only skip on local.

Prerequisites (:mod:`infra.probes.prerequisites`): ``infra verify`` checks them once and hands the results
over in ``INFRA_PREREQUISITES``; run by hand, this conftest checks them itself. A claim whose prerequisite
failed is skipped as "blocked by ..." or "needs real pods: ..." before any of its fixtures run.

Tools: the Kubernetes Python client for object state, pytest-testinfra's ``kubectl://`` backend to run
commands inside pods, kubectl (through :func:`infra.proc.run`) for what only kubectl does (``top``,
``diff``), boto3 (:mod:`infra.aws`) for NLB targets. Every decision is a function in :mod:`infra.probes`.
"""

from __future__ import annotations

import base64
import os
import secrets
import shlex
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from infra.errors import InfraError
from infra.probes.claims import BY_ID, ORDER, claim_id_of
from infra.probes.eventually import eventually

ENV = os.environ.get("INFRA_ENV", "local")
KUBECONFIG = os.environ.get("INFRA_KUBECONFIG") or None
CONTEXT = os.environ.get("INFRA_CONTEXT") or None
PROBE_IMAGE = "curlimages/curl:8.20.0"  # alpine-based: curl, and busybox nslookup/ls/cat for DNS and NFS
PROBE_LABELS = {"app.kubernetes.io/name": "infra-probe", "app.kubernetes.io/component": "verify"}
_UNAVAILABLE: list[str | None] = []  # computed once per session
_PREREQUISITES: list[dict[str, Any]] = []  # name -> Prerequisite, computed or read once per session


def _cluster_unavailable() -> str | None:
    """Why no probe can run (no cluster configured, kubectl missing, API not answering), or None."""
    if not _UNAVAILABLE:
        from infra.verify import require_cluster

        try:
            require_cluster(ENV, kubeconfig=KUBECONFIG, context=CONTEXT)
            _UNAVAILABLE.append(None)
        except InfraError as error:
            _UNAVAILABLE.append(f"no live cluster: {error}")
    return _UNAVAILABLE[0]


def prerequisite_results(claims: list[Any]) -> dict[str, Any]:
    """The prerequisites' results: from ``infra verify`` (``INFRA_PREREQUISITES``), else checked here."""
    if not _PREREQUISITES:
        from infra.probes import prerequisites
        from infra.verify import PREREQUISITES_VARIABLE, locate_cluster

        shared = os.environ.get(PREREQUISITES_VARIABLE)
        if shared:
            from pathlib import Path

            _PREREQUISITES.append(prerequisites.load(Path(shared)))
        else:
            target = locate_cluster(ENV, kubeconfig=KUBECONFIG, context=CONTEXT)
            _PREREQUISITES.append(prerequisites.check_all(target, prerequisites.needed(claims, ENV)))
    return _PREREQUISITES[0]


def _claim_of(item: pytest.Item) -> Any:
    return BY_ID.get(claim_id_of(getattr(item, "originalname", item.name)) or "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the live probes in claim order; skip them all, with the reason, when there is no cluster;
    skip a claim blocked by a failed prerequisite."""
    from infra.probes import prerequisites

    live = [item for item in items if item.get_closest_marker("live")]
    if not live:
        return
    position = {id(item): index for index, item in enumerate(items)}

    def order(item: pytest.Item) -> tuple[int, int, int]:
        if not item.get_closest_marker("live"):
            return (0, 0, position[id(item)])
        claim = claim_id_of(getattr(item, "originalname", item.name))
        return (1, ORDER.get(claim or "", len(ORDER)), position[id(item)])

    items.sort(key=order)
    reason = _cluster_unavailable()
    claims = list({c.id: c for c in (_claim_of(item) for item in live) if c is not None}.values())
    results = prerequisite_results(claims) if not reason else {}
    for item in live:
        claim = _claim_of(item)
        # JUnit <properties> of each case: which claim, and whether it is slow (read by the report's tests)
        item.user_properties.append(("claim", claim.id if claim else ""))
        item.user_properties.append(("slow", str(item.get_closest_marker("slow") is not None).lower()))
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
        elif claim is not None and not claim.applies_to(ENV):
            item.add_marker(
                pytest.mark.skip(reason=f"{claim.id} applies to {'/'.join(claim.environments)} only")
            )
        elif claim is not None:
            gate = prerequisites.gate(claim, results)
            if gate is not None and gate.action == "skip":
                item.add_marker(pytest.mark.skip(reason=gate.message))


# --- the cluster ----------------------------------------------------------------------------------------


def is_ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class Kube:
    """The cluster under test: API clients, kubectl, and shells inside pods. Objects come back as API JSON."""

    def __init__(self, target: Any) -> None:
        from kubernetes import client, config

        self.target = target
        kubeconfig = str(target.kubeconfig) if target.kubeconfig is not None else None
        self.api = config.new_client_from_config(config_file=kubeconfig, context=target.context)
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.autoscaling = client.AutoscalingV2Api(self.api)
        self.networking = client.NetworkingV1Api(self.api)
        self.discovery = client.DiscoveryV1Api(self.api)
        self.storage = client.StorageV1Api(self.api)
        self.apiregistration = client.ApiregistrationV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)

    is_ready = staticmethod(is_ready)

    def json(self, obj: Any) -> Any:
        """A client model -> the API's JSON shape (camelCase), what :mod:`infra.probes` takes."""
        return self.api.sanitize_for_serialization(obj)

    def pod(self, namespace: str, name: str) -> dict[str, Any]:
        return self.json(self.core.read_namespaced_pod(name, namespace))

    def pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        return self.json(self.core.list_namespaced_pod(namespace, label_selector=selector).items)

    def ready_pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        return [
            p
            for p in self.pods(namespace, selector)
            if is_ready(p) and not p["metadata"].get("deletionTimestamp")
        ]

    def kubectl(
        self, *args: str, ok_codes: tuple[int, ...] = (0,), input: str | None = None, timeout: float = 120
    ):
        from infra.kube import kubectl

        return kubectl(
            self.target,
            list(args),
            what=f"kubectl {' '.join(args[:3])}",
            ok_codes=ok_codes,
            input=input,
            timeout=timeout,
        )

    def host(self, pod: str, namespace: str, container: str | None = None) -> Any:
        """A testinfra host whose ``run`` executes inside the pod (``kubectl exec``)."""
        import testinfra

        query = {"namespace": namespace}
        if container:
            query["container"] = container
        if self.target.kubeconfig is not None:
            query["kubeconfig"] = str(self.target.kubeconfig)
        if self.target.context:
            query["context"] = self.target.context
        return testinfra.get_host(f"kubectl://{pod}?{urlencode(query)}")

    def sh(self, pod: str, namespace: str, command: str, container: str | None = None) -> Any:
        """Run a shell command in the pod; returns testinfra's CommandResult (rc, stdout, stderr)."""
        return self.host(pod, namespace, container).run(command)

    def run_pod(
        self,
        namespace: str,
        name: str,
        command: list[str],
        *,
        labels: dict[str, str] | None = None,
        volumes: list[dict[str, Any]] | None = None,
        mounts: list[dict[str, Any]] | None = None,
        resources: dict[str, Any] | None = None,
        timeout: float = 180,
    ) -> dict[str, Any]:
        """Create a pod from :data:`PROBE_IMAGE` and wait until it is Ready; returns it."""
        limits = {"cpu": "200m", "memory": "64Mi"}
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": {**PROBE_LABELS, **(labels or {})}},
            "spec": {
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 0,
                "containers": [
                    {
                        "name": "probe",
                        "image": PROBE_IMAGE,
                        "command": command,
                        "volumeMounts": mounts or [],
                        "resources": resources
                        or {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": limits},
                    }
                ],
                "volumes": volumes or [],
            },
        }
        self.core.create_namespaced_pod(namespace, pod)

        def ready() -> dict[str, Any]:
            current = self.pod(namespace, name)
            assert is_ready(current), f"pod {namespace}/{name} is {current['status'].get('phase')}"
            return current

        return eventually(ready, timeout, 2, f"pod {namespace}/{name} Ready", retry_on=RETRY_ON)

    def delete_pod(self, namespace: str, name: str, *, grace: int | None = 0) -> None:
        """Delete a pod; one that is already gone is fine."""
        from kubernetes.client.exceptions import ApiException

        try:
            self.core.delete_namespaced_pod(name, namespace, grace_period_seconds=grace)
        except ApiException as error:
            if error.status != 404:
                raise

    def scale(self, kind: str, namespace: str, name: str, replicas: int) -> None:
        body = {"spec": {"replicas": replicas}}
        if kind == "StatefulSet":
            self.apps.patch_namespaced_stateful_set_scale(name, namespace, body)
        else:
            self.apps.patch_namespaced_deployment_scale(name, namespace, body)

    def replicas(self, kind: str, namespace: str, name: str) -> int:
        read = (
            self.apps.read_namespaced_stateful_set
            if kind == "StatefulSet"
            else self.apps.read_namespaced_deployment
        )
        return int(read(name, namespace).spec.replicas or 0)

    def wait_ready_replicas(self, kind: str, namespace: str, name: str, count: int, timeout: float) -> None:
        """Wait until the workload has exactly ``count`` Ready replicas and no others left."""
        read = (
            self.apps.read_namespaced_stateful_set
            if kind == "StatefulSet"
            else self.apps.read_namespaced_deployment
        )

        def settled() -> None:
            status = read(name, namespace).status
            seen = (status.replicas or 0, status.ready_replicas or 0)
            assert seen == (count, count), f"{kind} {namespace}/{name} has (replicas, ready) = {seen}"

        eventually(
            settled, timeout, 3, f"{kind} {namespace}/{name} at {count} ready replicas", retry_on=RETRY_ON
        )

    def restore_replicas(
        self, kind: str, namespace: str, name: str, count: int, timeout: float = 600
    ) -> None:
        self.scale(kind, namespace, name, count)
        self.wait_ready_replicas(kind, namespace, name, count, timeout)

    def claim_exists(self, namespace: str, name: str) -> bool:
        return any(
            p.metadata.name == name
            for p in self.core.list_namespaced_persistent_volume_claim(namespace).items
        )

    def restore_statefulset(
        self, namespace: str, name: str, count: int, claims: list[str], timeout: float = 600
    ) -> None:
        """Back to ``count`` ready pods, then delete ``claims``, the PVCs a probe caused (scale-down keeps
        them)."""
        self.restore_replicas("StatefulSet", namespace, name, count, timeout)
        for claim in claims:
            if self.claim_exists(namespace, claim):
                self.core.delete_namespaced_persistent_volume_claim(claim, namespace)

    def watch_pods(
        self,
        namespace: str,
        selector: str,
        action: Callable[[], None],
        done: Callable[[list[Any]], bool],
        timeout: float,
    ) -> list[Any]:
        """Run ``action`` (e.g. a scale) and record pod watch events from just before it until ``done``.

        Watching from the resourceVersion of a list taken before the action replays every change after it,
        so nothing between the action and the first watch call is missed. Returns the
        :class:`infra.probes.sts.Observation` list (also on timeout, for the failure message).
        """
        import time

        from kubernetes import watch

        from infra.probes.sts import observe

        version = self.core.list_namespaced_pod(namespace, label_selector=selector).metadata.resource_version
        action()
        seen: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done(seen):
            stream = watch.Watch()
            for event in stream.stream(
                self.core.list_namespaced_pod,
                namespace,
                label_selector=selector,
                resource_version=version,
                timeout_seconds=max(1, int(deadline - time.monotonic())),
            ):
                raw = event["raw_object"]
                if event["type"] == "ERROR":  # e.g. 410 Gone: the recorded sequence would have a hole
                    raise AssertionError(f"pod watch failed: {raw.get('message', raw)}")
                version = raw["metadata"]["resourceVersion"]
                seen.append(observe(event["type"], raw))
                if done(seen):
                    stream.stop()
                    break
        return seen

    def secret_value(self, namespace: str, name: str, key: str) -> bytes:
        data = self.core.read_namespaced_secret(name, namespace).data or {}
        assert key in data, f"Secret {namespace}/{name} has no key {key} (keys: {sorted(data)})"
        return base64.b64decode(data[key])


def _retry_on() -> tuple[type[BaseException], ...]:
    """What a probe retries on besides a failed assertion: API hiccups and objects still being created."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    return (AssertionError, ApiException, HTTPError)


RETRY_ON = _retry_on()


@pytest.fixture(scope="session")
def retry_on() -> tuple[type[BaseException], ...]:
    return RETRY_ON


@pytest.fixture(scope="session")
def env() -> str:
    return ENV


@pytest.fixture(scope="session")
def kube() -> Kube:
    from infra.verify import locate_cluster

    return Kube(locate_cluster(ENV, kubeconfig=KUBECONFIG, context=CONTEXT))


@pytest.fixture
def prerequisite_installed(request: pytest.FixtureRequest) -> Callable[[], None]:
    """For an addon's own claim (ADD-1..4): fail at once, with the evidence, when the prerequisite check
    found the addon not installed at all (waiting out the deadline would only repeat that).

    Called first thing in the test body, so the claim is reported as failed, not as a fixture error."""
    from infra.probes import prerequisites

    def check() -> None:
        claim = _claim_of(request.node)
        gate = prerequisites.gate(claim, _PREREQUISITES[0] if _PREREQUISITES else {})
        if gate is not None and gate.action == "fail":
            pytest.fail(gate.message, pytrace=False)

    return check


@pytest.fixture(scope="session")
def outputs() -> dict[str, Any]:
    """The stack outputs without the kubeconfig (``.infra/<env>/outputs.json``); {} when not written here."""
    from infra.kube import public_outputs

    return public_outputs(ENV)


@pytest.fixture(scope="session")
def token() -> str:
    """A per-run suffix for everything the probes create, so runs never collide and leftovers are findable."""
    return secrets.token_hex(3)


@pytest.fixture
def undo() -> Iterator[Callable[[Callable[[], None], str], None]]:
    """Register how to put the environment back; runs in reverse order after the test, also when it fails.

    A failing undo step fails the test's teardown (reported as an error) but never stops the other steps.
    """
    steps: list[tuple[Callable[[], None], str]] = []
    yield lambda step, describe: steps.append((step, describe))
    problems = []
    for step, describe in reversed(steps):
        try:
            step()
        except Exception as error:
            problems.append(f"{describe}: {error}")
    assert not problems, "could not put the environment back: " + "; ".join(problems)


@pytest.fixture(scope="session")
def probe_pod(kube: Kube, token: str) -> Iterator[str]:
    """A pod in ``default`` with curl and busybox (nslookup): where in-cluster DNS lookups run."""
    name = f"infra-probe-{token}"
    try:  # also when it never becomes Ready: the pod exists from its create call on
        kube.run_pod("default", name, ["sleep", "86400"])
        yield name
    finally:
        kube.delete_pod("default", name)


@pytest.fixture(scope="session")
def lookup(kube: Kube, probe_pod: str) -> Callable[[str], list[str]]:
    """Resolve a name from inside the cluster (busybox nslookup in the probe pod) -> its addresses.

    A failed ``kubectl exec`` (no container runtime, pod gone) raises :class:`infra.probes.dns.ExecFailed`
    with kubectl's words: reported as the cause at once, never read as "no answer" and retried.
    """
    from infra.probes.dns import lookup_answer

    def resolve(name: str) -> list[str]:
        fqdn = name if name.endswith(".") else f"{name}."
        result = kube.sh(probe_pod, "default", f"nslookup -type=a {shlex.quote(fqdn)}")
        return lookup_answer(result.rc, result.stdout, result.stderr)

    return resolve


@pytest.fixture(scope="session")
def curl() -> Callable[..., str]:
    """curl from this machine (the ingress is reached from outside the cluster, as a user would)."""
    from infra import proc

    def run(*args: str) -> str:
        result = proc.run(
            ["curl", "--silent", "--show-error", "--max-time", "15", *args], check=False, timeout=30
        )
        return result.stdout

    return run


@pytest.fixture(scope="session")
def ingress_address(outputs: dict[str, Any]) -> str:
    address = outputs.get("ingress_address")
    assert address, (
        f"no ingress_address in .infra/{ENV}/outputs.json: run `infra up --env {ENV}` on this machine"
    )
    return str(address)


@pytest.fixture(scope="session")
def ingress_ports(outputs: dict[str, Any]) -> dict[str, int]:
    """Scheme -> port the ingress address answers on (``ingress_http_port``/``ingress_https_port``).

    kind maps the host ports ``lab:httpPort``/``lab:httpsPort`` to the node's 80/443, so they need not be
    80/443. An outputs.json written before the ports were in the contract has neither: 80/443 then.
    """
    from infra.probes.http import DEFAULT_PORTS

    return {
        scheme: int(outputs.get(f"ingress_{scheme}_port") or port) for scheme, port in DEFAULT_PORTS.items()
    }


@pytest.fixture(scope="session")
def ingress_ip(ingress_address: str, ingress_ports: dict[str, int]) -> str:
    """The ingress address as an IP (AWS: the NLB's DNS name, resolved here)."""
    import socket

    from infra.probes.dns import ipv4_only

    addresses = eventually(
        lambda: ipv4_only(
            [info[4][0] for info in socket.getaddrinfo(ingress_address, ingress_ports["https"])]
        ),
        300,
        10,
        f"resolve {ingress_address}",
        retry_on=(AssertionError, OSError),
    )
    return addresses[0]


@pytest.fixture(scope="session")
def git_files_containing() -> Callable[[str], list[str]]:
    """Files in git (tracked, and every commit of history) that contain a fixed string."""
    from infra import proc
    from infra.paths import REPO_ROOT

    def search(needle: str) -> list[str]:
        found: list[str] = []
        tracked = proc.run(["git", "grep", "--fixed-strings", "-l", "-e", needle], cwd=REPO_ROOT, check=False)
        assert tracked.returncode in (0, 1), f"git grep failed: {tracked.stderr.strip()}"
        found += tracked.stdout.split()
        history = proc.run(["git", "log", "--all", "--format=%h", "-S", needle], cwd=REPO_ROOT, check=False)
        assert history.returncode == 0, f"git log -S failed: {history.stderr.strip()}"
        found += [f"commit {sha}" for sha in history.stdout.split()]
        return found

    return search
