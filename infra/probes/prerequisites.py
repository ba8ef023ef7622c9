"""What must hold before a claim can be probed, decided in seconds before the probes run.

A probe waits for its claim up to a deadline because clusters converge. When what the claim rests on is not
there at all (no metrics-server, no ingress controller, no DNS, nodes that run no containers), that wait is
wasted: on a cluster without addons the dependent probes used to wait out their deadlines one after another
for most of an hour. So ``infra verify`` first looks at the prerequisites (:data:`CHECKS`, each one or two
short API reads), and a claim whose prerequisite failed is reported at once as blocked by it, with the
prerequisite's evidence (:func:`gate`). The claims name their prerequisites in the lab registry
(:mod:`infra.labs`: ``depends_on``, ``needs_pods``).

The decisions are plain functions of API objects (tested offline); :func:`check_all` gathers the objects with
kubectl, all checks at once, each call bounded by ``--request-timeout``. A check that cannot decide (an API
error, RBAC) says so and blocks nothing: the probes then find out themselves.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from infra import proc
from infra.errors import InfraError
from infra.kube import KUBECTL_ENV, kubectl, parse_items
from infra.labs import BY_ID, Claim
from infra.probes.endpoints import ready_addresses, selector

PODS = "pods"  # the prerequisite of every claim with needs_pods: containers really run on the nodes
DNS = "dns"
METRICS_APISERVICE = "v1beta1.metrics.k8s.io"
INGRESS_CONTROLLER = "app.kubernetes.io/name=ingress-nginx,app.kubernetes.io/component=controller"
NFS_CLASS = "nfs-client"
LBC_NAMESPACE, LBC_DEPLOYMENT = "kube-system", "aws-load-balancer-controller"
DNS_NAMESPACE, DNS_SERVICE = "kube-system", "kube-dns"
# A PVC of a working provisioner is Bound within seconds; one Pending this long has nobody provisioning it.
PENDING_CLAIM_S = 120
REQUEST_TIMEOUT = "10s"  # each API read of a check (kubectl --request-timeout)
# What the API server says when it cannot reach a node's kubelet (exec, logs): the node runs no containers.
KUBELET_UNREACHABLE = ("connection refused", "dial tcp", "no route to host", "i/o timeout", "error dialing")
# Namespaces whose pods the containers check tries first: the labs' own, then the system's.
PREFERRED_NAMESPACES = ("lab-tls", "lab-sts", "lab-qos", "lab-hpa", "lab-mysql", "kube-system")


@dataclass(frozen=True)
class Prerequisite:
    """One prerequisite's verdict: ``ok`` True/False, or None when it could not be decided."""

    name: str  # "ADD-1", "dns", "pods"
    ok: bool | None
    evidence: str  # what was seen, one line
    absent: bool = False  # not installed at all: the claim of the same name fails at once
    seconds: float = 0.0

    def line(self) -> str:
        verdict = {True: "ok", False: "FAILED", None: "undecided"}[self.ok]
        return f"{self.name}: {verdict} — {self.evidence} ({self.seconds:.1f}s)"


@dataclass(frozen=True)
class Gate:
    """What happens to a claim's tests before they run: ``fail`` at once, or ``skip`` (blocked)."""

    action: str  # "fail" | "skip"
    message: str


NEEDS_REAL_PODS = "needs real pods"
BLOCKED_BY = "blocked by"


def gate(claim: Claim, results: Mapping[str, Prerequisite]) -> Gate | None:
    """Whether ``claim`` can be probed given the prerequisites' results (None: probe it).

    First the claim's own prerequisite (ADD-1 is both a claim and what HPA-2 rests on): when the thing is
    not installed at all the claim fails at once with the evidence. Then a claim that needs running
    containers on a cluster whose nodes run none, then each prerequisite it depends on.
    """
    own = results.get(claim.id)
    if own is not None and own.ok is False and own.absent:
        return Gate("fail", f"{claim.id} prerequisite check: {own.evidence}")
    pods = results.get(PODS)
    if claim.needs_pods and pods is not None and pods.ok is False:
        return Gate("skip", f"{NEEDS_REAL_PODS}: {pods.evidence}")
    for dependency in claim.depends_on:
        result = results.get(dependency)
        if result is not None and result.ok is False:
            return Gate("skip", f"{BLOCKED_BY} {dependency}: {result.evidence}")
    return None


def is_blocked_message(message: str) -> bool:
    """A skip reason written by :func:`gate` (reported as "blocked", never as an ordinary skip)."""
    return message.startswith((NEEDS_REAL_PODS + ":", BLOCKED_BY + " "))


def needed(claims: Iterable[Claim], environment: str) -> list[str]:
    """The prerequisites worth checking for these claims: their dependencies, their own, and ``pods``."""
    names: set[str] = set()
    for claim in claims:
        if not claim.applies_to(environment):
            continue
        names |= {d for d in claim.depends_on if d in CHECKS}
        if claim.id in CHECKS:
            names.add(claim.id)
        if claim.needs_pods:
            names.add(PODS)
    return [name for name in CHECKS if name in names]


def concurrency_group(claim_id: str) -> str:
    """Tests of one group run one after another in one worker; groups run side by side.

    One group per lab (its probes share objects: STS-3 scales the StatefulSet STS-5 writes into); the
    addons are independent of each other, so each ADD claim is its own group.
    """
    claim = BY_ID[claim_id]
    return claim.id if claim.area == "ADD" else claim.area


# --- decisions on API objects ------------------------------------------------------------------------


def _conditions(obj: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    return {str(c.get("type")): c for c in ((obj or {}).get("status") or {}).get("conditions") or []}


def _pod_ready(pod: Mapping[str, Any]) -> bool:
    return _conditions(pod).get("Ready", {}).get("status") == "True"


def decide_metrics(apiservice: Mapping[str, Any] | None) -> Prerequisite:
    """ADD-1: the metrics APIService exists and is Available (the HPA and ``kubectl top`` read it)."""
    if apiservice is None:
        return Prerequisite(
            "ADD-1",
            False,
            f"APIService {METRICS_APISERVICE} does not exist (metrics-server not installed)",
            True,
        )
    available = _conditions(apiservice).get("Available") or {}
    detail = f"{available.get('reason', '')} {available.get('message', '')}".strip()
    if available.get("status") == "True":
        return Prerequisite("ADD-1", True, f"APIService {METRICS_APISERVICE} Available")
    return Prerequisite(
        "ADD-1", False, f"APIService {METRICS_APISERVICE} not Available: {detail or 'no Available condition'}"
    )


def decide_ingress(pods: Sequence[Mapping[str, Any]]) -> Prerequisite:
    """ADD-2: ingress-nginx controller pods exist and are Ready (TLS-3 goes through them)."""
    if not pods:
        return Prerequisite(
            "ADD-2", False, f"no ingress-nginx controller pod ({INGRESS_CONTROLLER}) in any namespace", True
        )
    not_ready = [_pod_name(p) for p in pods if not _pod_ready(p)]
    if not_ready:
        return Prerequisite(
            "ADD-2", False, f"ingress-nginx controller pods not Ready: {', '.join(not_ready)}"
        )
    return Prerequisite("ADD-2", True, f"{len(pods)} ingress-nginx controller pod(s) Ready")


def decide_storage(
    storage_class: Mapping[str, Any] | None, claims: Sequence[Mapping[str, Any]], now: dt.datetime
) -> Prerequisite:
    """ADD-3: StorageClass ``nfs-client`` exists and no PVC of it waits unbound for minutes."""
    if storage_class is None:
        return Prerequisite("ADD-3", False, f"StorageClass {NFS_CLASS} does not exist", True)
    provisioner = storage_class.get("provisioner") or "none"
    ours = [c for c in claims if (c.get("spec") or {}).get("storageClassName") == NFS_CLASS]
    stuck = []
    for claim in ours:
        if (claim.get("status") or {}).get("phase") != "Pending":
            continue
        age = (now - _created(claim)).total_seconds()
        if age > PENDING_CLAIM_S:
            stuck.append(f"{_pod_name(claim)} Pending for {int(age)}s")
    if stuck:
        shown = ", ".join(stuck[:3]) + (f" (+{len(stuck) - 3} more)" if len(stuck) > 3 else "")
        return Prerequisite(
            "ADD-3", False, f"StorageClass {NFS_CLASS} (provisioner {provisioner}) binds nothing: {shown}"
        )
    bound = sum(1 for c in ours if (c.get("status") or {}).get("phase") == "Bound")
    return Prerequisite(
        "ADD-3", True, f"StorageClass {NFS_CLASS} (provisioner {provisioner}); {bound} PVC(s) Bound"
    )


def decide_load_balancer_controller(deployment: Mapping[str, Any] | None) -> Prerequisite:
    """ADD-4 (aws): the AWS Load Balancer Controller Deployment exists and has an available replica."""
    where = f"Deployment {LBC_NAMESPACE}/{LBC_DEPLOYMENT}"
    if deployment is None:
        return Prerequisite("ADD-4", False, f"{where} does not exist", True)
    available = int((deployment.get("status") or {}).get("availableReplicas") or 0)
    if available < 1:
        return Prerequisite("ADD-4", False, f"{where} has no available replica")
    return Prerequisite("ADD-4", True, f"{where}: {available} available")


def decide_dns(service: Mapping[str, Any] | None, slices: Sequence[Mapping[str, Any]]) -> Prerequisite:
    """dns: the cluster DNS Service exists and has ready endpoints (pods resolve names through it)."""
    where = f"Service {DNS_NAMESPACE}/{DNS_SERVICE}"
    if service is None:
        return Prerequisite(DNS, False, f"no cluster DNS: {where} does not exist", True)
    ready = ready_addresses(slices)
    if not ready:
        return Prerequisite(DNS, False, f"{where} has no ready endpoint (DNS pods not Ready)")
    return Prerequisite(DNS, True, f"{where}: {len(ready)} ready endpoint(s)")


def pick_running_pod(pods: Sequence[Mapping[str, Any]]) -> tuple[str, str, str] | None:
    """(namespace, pod, container) of a Running pod with a running container, the labs' first; or None."""
    order = {namespace: index for index, namespace in enumerate(PREFERRED_NAMESPACES)}
    candidates = []
    for pod in pods:
        meta, status = pod.get("metadata") or {}, pod.get("status") or {}
        if status.get("phase") != "Running" or meta.get("deletionTimestamp"):
            continue
        running = [
            c["name"] for c in status.get("containerStatuses") or [] if "running" in (c.get("state") or {})
        ]
        if running:
            rank = order.get(str(meta.get("namespace")), len(order))
            candidates.append((rank, str(meta.get("namespace")), str(meta.get("name")), running[0]))
    if not candidates:
        return None
    _, namespace, name, container = min(candidates)
    return namespace, name, container


def decide_pods(pod: tuple[str, str, str] | None, returncode: int, output: str) -> Prerequisite:
    """pods: reading a Running container's log through the API server works (so exec and logs will).

    Nodes that register and report pods Running but run no container (hollow nodes, a kubelet whose
    server is unreachable) fail this with the API server's dial error: then every claim that needs exec,
    logs or HTTP into pods is reported as needing real pods, at once, instead of after its deadline.
    """
    if pod is None:
        return Prerequisite(PODS, None, "no Running pod to try `kubectl logs` on")
    namespace, name, container = pod
    where = f"kubectl logs {namespace}/{name} -c {container}"
    if returncode == 0:
        return Prerequisite(PODS, True, f"{where} answered: containers run")
    text = " ".join(output.split())
    lowered = text.lower()
    if "error from server" in lowered and any(marker in lowered for marker in KUBELET_UNREACHABLE):
        dial = lowered.rfind("dial tcp")  # the API server's dial to the kubelet: the part that says why
        why = text[dial:] if dial >= 0 else text
        return Prerequisite(
            PODS, False, f"the nodes run no containers: {where}: {_clip(why)} (no kubelet answers)", True
        )
    return Prerequisite(PODS, None, f"{where} failed, cause unclear: {_clip(text)}")


def _pod_name(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _created(obj: Mapping[str, Any]) -> dt.datetime:
    stamp = str((obj.get("metadata") or {}).get("creationTimestamp") or "")
    try:
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.now(dt.UTC)


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- gathering, with kubectl --------------------------------------------------------------------------


def _get(target: Any, *args: str) -> list[dict[str, Any]]:
    """``kubectl get ARGS -o json --ignore-not-found`` with a bounded request: the items (none: [])."""
    result = kubectl(
        target,
        ["get", *args, "-o", "json", "--ignore-not-found", f"--request-timeout={REQUEST_TIMEOUT}"],
        what=f"kubectl get {' '.join(args[:2])}",
        timeout=30,
    )
    return parse_items(result.stdout)


def _one(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    return items[0] if items else None


def check_metrics(target: Any) -> Prerequisite:
    return decide_metrics(_one(_get(target, "apiservice", METRICS_APISERVICE)))


def check_ingress(target: Any) -> Prerequisite:
    return decide_ingress(_get(target, "pods", "--all-namespaces", "-l", INGRESS_CONTROLLER))


def check_storage(target: Any) -> Prerequisite:
    storage_class = _one(_get(target, "storageclass", NFS_CLASS))
    claims = _get(target, "pvc", "--all-namespaces") if storage_class is not None else []
    return decide_storage(storage_class, claims, dt.datetime.now(dt.UTC))


def check_load_balancer_controller(target: Any) -> Prerequisite:
    return decide_load_balancer_controller(
        _one(_get(target, "deployment", LBC_DEPLOYMENT, "-n", LBC_NAMESPACE))
    )


def check_dns(target: Any) -> Prerequisite:
    service = _one(_get(target, "service", DNS_SERVICE, "-n", DNS_NAMESPACE))
    slices = (
        _get(
            target,
            "endpointslices.discovery.k8s.io",
            "-n",
            DNS_NAMESPACE,
            "-l",
            selector(DNS_SERVICE),
        )
        if service is not None
        else []
    )
    return decide_dns(service, slices)


def check_pods(target: Any) -> Prerequisite:
    pod = pick_running_pod(_get(target, "pods", "--all-namespaces", "--field-selector=status.phase=Running"))
    if pod is None:
        return decide_pods(None, 0, "")
    namespace, name, container = pod
    result = proc.run(
        target.kubectl(
            "logs", name, "-n", namespace, "-c", container, "--tail=1", f"--request-timeout={REQUEST_TIMEOUT}"
        ),
        input="",
        env=KUBECTL_ENV,
        check=False,
        timeout=30,
    )
    return decide_pods(pod, result.returncode, result.stderr or result.stdout)


CHECKS: dict[str, Callable[[Any], Prerequisite]] = {
    "ADD-1": check_metrics,
    "ADD-2": check_ingress,
    "ADD-3": check_storage,
    "ADD-4": check_load_balancer_controller,
    DNS: check_dns,
    PODS: check_pods,
}


def _timed(name: str, check: Callable[[Any], Prerequisite], target: Any) -> Prerequisite:
    started = time.monotonic()
    try:
        result = check(target)
    except InfraError as error:  # could not look (RBAC, API error): decide nothing, block nothing
        result = Prerequisite(name, None, f"could not check: {error.message}")
    return Prerequisite(result.name, result.ok, result.evidence, result.absent, time.monotonic() - started)


def check_all(target: Any, names: Sequence[str]) -> dict[str, Prerequisite]:
    """Run the named checks side by side against ``target`` (an :class:`infra.kube.KubeTarget`)."""
    if not names:
        return {}
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        futures = {name: pool.submit(_timed, name, CHECKS[name], target) for name in names}
        return {name: future.result() for name, future in futures.items()}


# --- handing the results to the probes (a pytest subprocess) -----------------------------------------


def dump(results: Mapping[str, Prerequisite], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(r) for r in results.values()], indent=1), encoding="utf-8")
    return path


def load(path: Path) -> dict[str, Prerequisite]:
    """Results written by :func:`dump`; an unreadable file is an error (``infra verify`` wrote it)."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        results = [Prerequisite(**entry) for entry in entries]
    except (OSError, ValueError, TypeError) as exc:
        raise InfraError(
            f"cannot read the prerequisite results {path}: {exc}", "re-run `infra verify`"
        ) from None
    return {r.name: r for r in results}
