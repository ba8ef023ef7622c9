"""Probe paths on real pods: a real kubelet (``realnode-0``, realnode.py) runs the containers.

What hollow nodes cannot decide, decided here with pods of the tests' own: a pod that runs, its logs and exec,
HTTP to its IP, a Service by ClusterIP (kube-proxy in iptables mode) from the node and from a pod, the
kubelet's QoS placement, how a failed exec reads to the DNS probe, a killed container restarted, a stopped
kubelet seen as a NotReady node by ``infra doctor``. Jobs that complete or hit their deadline and a
ConfigMap change reaching a mounted file are the labs' own claims (CTL-7, CTL-8): their probes run on this
node in test_realnode_labs.py.

Every pod here is pinned to the real node (:func:`realnode.pinned`) and uses the images the tier builds
(images.py): ``busybox:1.37.0``, the ``traefik/whoami:v1.11.0`` stand-in and ``registry.k8s.io/pause``.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import images
import pytest
import requests
import yaml
from cli import Cli, junit_cases
from plane import ControlPlane
from realnode import RealNode, pinned

from infra.probes.dns import ExecFailed, LookupFailed, lookup_answer

REPO = Path(__file__).resolve().parents[2]
LOOKUP = ["nslookup", "-type=a", "kubernetes.default.svc.cluster.local."]


# --- helpers ----------------------------------------------------------------------------------------------


def eventually(check: Callable[[], Any], what: str, timeout: float = 60, every: float = 0.5) -> Any:
    """``check()``'s first truthy result; fail naming ``what`` (and the last value seen) at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last seen: {last!r})", pytrace=False)


def apply(plane: ControlPlane, namespace: str, *documents: dict[str, Any]) -> None:
    plane.kubectl("-n", namespace, "apply", "-f", "-", input=yaml.safe_dump_all(documents))


def pod(name: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    body = {"terminationGracePeriodSeconds": 1, "containers": containers, **spec}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": pinned(body)}


def busybox(name: str, command: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": images.BUSYBOX_IMAGE, "command": ["sh", "-c", command], **extra}


def get(plane: ControlPlane, namespace: str, *what: str) -> dict[str, Any]:
    return json.loads(plane.kubectl("-n", namespace, "get", *what, "-o", "json").stdout)


def wait_ready(plane: ControlPlane, namespace: str, *pods: str, timeout: int = 60) -> None:
    plane.kubectl(
        "-n",
        namespace,
        "wait",
        "--for=condition=Ready",
        *[f"pod/{p}" for p in pods],
        f"--timeout={timeout}s",
        timeout=timeout + 10,
    )


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == kind), {})


def http(url: str) -> str:
    with requests.Session() as session:
        session.trust_env = False
        response = session.get(url, timeout=5)
    response.raise_for_status()
    return response.text


def hostname_in(answer: str) -> str:
    """The pod a whoami answer names (its ``Hostname:`` line), or "" when there is none."""
    return next(
        (line.split(":", 1)[1].strip() for line in answer.splitlines() if line.startswith("Hostname:")), ""
    )


WEB = busybox(
    "web",
    "echo started-httpd; echo hello-from-a-real-pod > /tmp/index.html; exec httpd -f -p 8080 -h /tmp",
    ports=[{"containerPort": 8080}],
    readinessProbe={"tcpSocket": {"port": 8080}, "periodSeconds": 1},
)


# --- pods that run --------------------------------------------------------------------------------------


def test_a_pod_runs_and_serves_logs_exec_and_http(plane: ControlPlane, real_node: RealNode, namespace: str):
    started = time.monotonic()
    apply(plane, namespace, pod("web", [WEB]))
    wait_ready(plane, namespace, "web")
    ready_after = time.monotonic() - started
    status = get(plane, namespace, "pod/web")["status"]
    assert status["containerStatuses"][0]["containerID"].startswith("containerd://")
    ip = ipaddress.ip_address(status["podIP"])
    assert real_node.addresses is not None
    assert ip in ipaddress.ip_network(real_node.addresses.pods)
    assert http(f"http://{ip}:8080/").strip() == "hello-from-a-real-pod"  # from the host, over the veth
    assert "started-httpd" in plane.kubectl("-n", namespace, "logs", "web").stdout
    assert plane.kubectl("-n", namespace, "exec", "web", "--", "hostname").stdout.strip() == "web"
    piped = plane.kubectl("-n", namespace, "exec", "-i", "web", "--", "cat", input="through stdin\n")
    assert piped.stdout == "through stdin\n"
    failed = plane.kubectl("-n", namespace, "exec", "web", "--", "sh", "-c", "exit 3", check=False)
    assert failed.returncode == 3, failed.stderr  # the command's exit code comes back through the kubelet
    assert ready_after < 30, f"pod Ready after {ready_after:.1f} s"


def test_a_service_routes_by_cluster_ip_from_the_node_and_from_a_pod(
    plane: ControlPlane, real_node: RealNode, namespace: str
):
    labels = {"app": "whoami"}
    whoami = {"name": "whoami", "image": images.WHOAMI_IMAGE, "args": ["--port=8080"]}
    whoami["readinessProbe"] = {"httpGet": {"path": "/health", "port": 8080}, "periodSeconds": 1}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "whoami"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": pinned({"terminationGracePeriodSeconds": 1, "containers": [whoami]}),
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "whoami"},
        "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    apply(plane, namespace, deployment, service, pod("client", [busybox("c", "exec sleep 3600")]))
    plane.kubectl("-n", namespace, "rollout", "status", "deployment/whoami", "--timeout=60s", timeout=70)
    wait_ready(plane, namespace, "client")
    backends = {p["metadata"]["name"] for p in get(plane, namespace, "pods", "-l", "app=whoami")["items"]}
    cluster_ip = get(plane, namespace, "service/whoami")["spec"]["clusterIP"]

    def from_node() -> str:
        return real_node.http_from_node(f"http://{cluster_ip}/")

    answer = eventually(lambda: "Hostname:" in from_node() and from_node(), "the ClusterIP from the node")
    assert hostname_in(answer) in backends
    # busybox nc, not wget: Debian's static busybox wget crashes (SIGSEGV) in these pods
    request = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {cluster_ip} 80"
    fetch = ["-n", namespace, "exec", "client", "--", "sh", "-c", request]
    seen = {hostname_in(plane.kubectl(*fetch).stdout) for _ in range(8)}
    assert seen, "no answer through the ClusterIP from the pod"
    assert seen <= backends, seen  # every answer came from one of the Service's pods


# --- QoS ----------------------------------------------------------------------------------------------------


def test_the_kubelet_places_each_qos_class_in_its_own_cgroup(
    plane: ControlPlane, real_node: RealNode, namespace: str
):
    """QOS-1's three pods (manifests/base/qos/pods.yaml), pinned here: the kubelet admits each into the cgroup
    of its class (Guaranteed directly under kubepods, the others under their class's own parent)."""
    documents = list(yaml.safe_load_all((REPO / "manifests/base/qos/pods.yaml").read_text()))
    for document in documents:
        document["spec"] = pinned({**document["spec"], "terminationGracePeriodSeconds": 1})
    apply(plane, namespace, *documents)
    names = [d["metadata"]["name"] for d in documents]
    wait_ready(plane, namespace, *names)
    memory = Path("/sys/fs/cgroup/memory") / real_node.cgroup_name / "kubepods"
    parents = {"Guaranteed": memory, "Burstable": memory / "burstable", "BestEffort": memory / "besteffort"}
    for document in documents:
        current = get(plane, namespace, f"pod/{document['metadata']['name']}")
        expected = document["metadata"]["annotations"]["infra.lab/expected-qos"]
        assert current["status"]["qosClass"] == expected
        assert (parents[expected] / f"pod{current['metadata']['uid']}").is_dir(), expected
    guaranteed = get(plane, namespace, "pod/qos-guaranteed")["metadata"]["uid"]
    limit = (memory / f"pod{guaranteed}" / "memory.limit_in_bytes").read_text().strip()
    assert int(limit) == 32 * 1024 * 1024  # the kubelet enforces the pod's memory limit in its cgroup


# --- how failures read --------------------------------------------------------------------------------------


def test_a_failed_exec_reads_as_exec_failed(plane: ControlPlane, real_node: RealNode, namespace: str):
    """The DNS probe's reading of ``kubectl exec ... nslookup`` in a pod without nslookup (pause): an exec
    failure, reported with kubectl's words, not a resolver's "no answer" to retry."""
    apply(plane, namespace, pod("bare", [{"name": "pause", "image": images.PAUSE_IMAGE}]))
    wait_ready(plane, namespace, "bare")
    bare = plane.kubectl("-n", namespace, "exec", "bare", "--", *LOOKUP, check=False)
    assert bare.returncode != 0
    assert "executable file not found" in bare.stderr, bare.stderr
    with pytest.raises(ExecFailed, match="executable file not found"):
        lookup_answer(bare.returncode, bare.stdout, bare.stderr)


def test_a_resolver_timeout_is_not_an_exec_failure(plane: ControlPlane, real_node: RealNode, namespace: str):
    """busybox nslookup with no cluster DNS: the command ran and the resolver said no (LookupFailed)."""
    apply(plane, namespace, pod("shell", [busybox("sh", "exec sleep 3600")]))
    wait_ready(plane, namespace, "shell")
    shell = plane.kubectl("-n", namespace, "exec", "shell", "--", *LOOKUP, check=False, timeout=90)
    assert shell.returncode != 0  # nothing answers: there is no cluster DNS on the tier
    with pytest.raises(LookupFailed):
        lookup_answer(shell.returncode, shell.stdout, shell.stderr)


# --- faults -------------------------------------------------------------------------------------------------


def test_a_killed_container_is_restarted_and_counted(
    plane: ControlPlane, real_node: RealNode, namespace: str
):
    apply(plane, namespace, pod("victim", [busybox("main", "trap 'exit 1' TERM; sleep 3600 & wait")]))
    wait_ready(plane, namespace, "victim")
    plane.kubectl("-n", namespace, "exec", "victim", "--", "kill", "1", check=False)
    status = eventually(
        lambda: next(
            (
                s
                for s in get(plane, namespace, "pod/victim")["status"]["containerStatuses"]
                if s["restartCount"] >= 1 and s.get("ready")
            ),
            None,
        ),
        "the container restarted and Ready",
    )
    assert status["restartCount"] == 1
    assert status["lastState"]["terminated"]["exitCode"] == 1


@pytest.mark.node_fault
def test_a_stopped_kubelet_makes_the_node_not_ready_and_doctor_and_verify_name_it(
    plane: ControlPlane, real_node: RealNode, tmp_path: Path
):
    """Runs last in the tier (``node_fault``): the node is Ready again afterwards, but it takes the
    controller's grace period to notice a silent kubelet. ``infra doctor`` and ``infra verify --only ENV-1``
    then run side by side; both name the node, and verify says so at once, not after ENV-1's deadline."""
    real_node.stop_kubelet()
    try:
        eventually(
            lambda: condition(plane.get(f"/api/v1/nodes/{real_node.name}"), "Ready").get("status") != "True",
            "the node to go NotReady",
            timeout=120,
            every=2,
        )
        cli = Cli.for_env(plane, tmp_path)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            doctor = pool.submit(cli.infra, "doctor", "--kubeconfig", str(plane.kubeconfig), "-o", "json")
            verify = pool.submit(cli.infra, "verify", "--env", "local", "--only", "ENV-1")
            doctored, verified = doctor.result(), verify.result()
    finally:
        real_node.start_kubelet()
    assert doctored.returncode == 1, doctored.stderr
    named = [f for f in json.loads(doctored.stdout)["findings"] if f["id"] == "NODE-NOT-READY"]
    assert any(real_node.name in f["object"] for f in named), named
    assert verified.returncode == 1, verified.stdout[-3000:]
    result, detail = cli.report()["ENV-1"]
    assert result == "failed", (result, detail)
    assert f"{real_node.name} (NodeStatusUnknown" in detail, detail
    (seconds,) = [t for _, t, _ in junit_cases(cli.state / "reports" / "verify-local.xml").values()]
    assert seconds < 20, f"ENV-1 took {seconds:.0f} s to name a node whose kubelet is silent"
