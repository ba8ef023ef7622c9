"""Which cluster a command talks to, and the kubectl command lines that talk to it.

Reconcile and drift run ``kubectl`` (through :func:`infra.proc.run`) rather than the Python client:
server-side apply, ``kubectl diff`` and kustomize are kubectl features, and the exact commands stay visible in
logs and tests. Everything here builds argv lists; nothing talks to a cluster except through ``proc.run``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra import proc
from infra.contract import StackOutputs
from infra.environments import Environment
from infra.errors import ClusterAuthError, ClusterUnavailableError, ConfigError, InfraError
from infra.paths import write_private
from infra.state import EnvState

# What kubectl says when there is no API server to talk to (as opposed to an API error).
UNREACHABLE_MARKERS = (
    "connection refused",
    "unable to connect to the server",
    "the connection to the server",
    "no such host",
    "i/o timeout",
    "context deadline exceeded",
    "connect: no route to host",
    "tls handshake timeout",
)

# Every kubectl call runs without the user's kuberc (kubectl >= 1.33; beta and on by default from 1.34): its
# `defaults` change what a command does, and the kubectl docs' own suggested kuberc makes `kubectl delete`
# interactive, which with our empty stdin cancels every prune while kubectl still exits 0. Older kubectl
# ignores the variable. https://kubernetes.io/docs/reference/kubectl/kuberc/#disable-kuberc
KUBECTL_ENV: dict[str, str] = {"KUBERC": "off"}

# Kinds that live outside namespaces; every other kind defaults to "default" when a manifest omits it.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "ClusterRole",
        "ClusterRoleBinding",
        "CSIDriver",
        "CustomResourceDefinition",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "RuntimeClass",
        "StorageClass",
        "ValidatingWebhookConfiguration",
    }
)


@dataclass(frozen=True, order=True)
class ObjectRef:
    """The identity of a Kubernetes object across versions: API group, kind, namespace ("" if none), name."""

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any], *, default_namespace: str = "default") -> ObjectRef:
        """The ref of a manifest or live object; a namespaced kind without a namespace gets the default."""
        api_version = str(obj.get("apiVersion") or "")
        group = api_version.rpartition("/")[0] if "/" in api_version else ""
        kind = str(obj.get("kind") or "")
        meta = obj.get("metadata") or {}
        namespace = str(meta.get("namespace") or "")
        if not namespace and kind not in CLUSTER_SCOPED_KINDS:
            namespace = default_namespace
        if kind in CLUSTER_SCOPED_KINDS:
            namespace = ""
        return cls(group, kind, namespace, str(meta.get("name") or ""))

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class KubeTarget:
    """A kubeconfig (None: kubectl's default chain, ``$KUBECONFIG`` then ``~/.kube/config``) and a context.

    ``source`` says how the cluster was chosen, ``notes`` what a user should know about that choice (a
    ``$KUBECONFIG`` that was ignored or used); commands print both before they change anything.
    """

    kubeconfig: Path | None
    context: str | None
    source: str  # where the kubeconfig came from, for messages
    notes: tuple[str, ...] = ()

    def kubectl(self, *args: str) -> list[str]:
        """``kubectl [--kubeconfig F] [--context C] ARGS...``: every kubectl call goes to this cluster."""
        argv = ["kubectl"]
        if self.kubeconfig is not None:
            argv += ["--kubeconfig", str(self.kubeconfig)]
        if self.context:
            argv += ["--context", self.context]
        return [*argv, *args]

    def view(self) -> tuple[str, str]:
        """(context, server URL) this target talks to, read from the kubeconfig file(s) without kubectl."""
        return kubeconfig_view(self.kubeconfig_files(), self.context)

    def kubeconfig_files(self) -> list[Path]:
        if self.kubeconfig is not None:
            return [self.kubeconfig]
        if os.environ.get("KUBECONFIG"):
            return [Path(p).expanduser() for p in os.environ["KUBECONFIG"].split(os.pathsep) if p]
        return [Path("~/.kube/config").expanduser()]

    def describe(self) -> str:
        context, server = self.view()
        return f"{server} (context {context}, from {self.source})"


def kubeconfig_view(files: Sequence[Path], context: str | None) -> tuple[str, str]:
    """(context, server) of a kubeconfig chain as kubectl merges it: first file wins for each name.

    Unreadable files and unknown names give "unknown" rather than an error: this only labels messages;
    kubectl itself reports a broken kubeconfig when it is used.
    """
    current = ""
    contexts: dict[str, Any] = {}
    clusters: dict[str, Any] = {}
    for path in files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            continue
        if not isinstance(data, dict):
            continue
        current = current or str(data.get("current-context") or "")
        for entry in data.get("contexts") or []:
            if isinstance(entry, dict) and entry.get("name") not in contexts:
                contexts[str(entry.get("name"))] = entry.get("context") or {}
        for entry in data.get("clusters") or []:
            if isinstance(entry, dict) and entry.get("name") not in clusters:
                clusters[str(entry.get("name"))] = entry.get("cluster") or {}
    name = context or current or "unknown"
    cluster_name = (contexts.get(name) or {}).get("cluster")
    server = str((clusters.get(str(cluster_name)) or {}).get("server") or "unknown server")
    return name, server


def public_outputs(env: Environment | str) -> dict[str, Any]:
    """``.infra/<env>/outputs.json`` (stack outputs minus the kubeconfig); {} when ``up`` never ran here."""
    return EnvState.of(env).public_outputs()


def resolve_target(
    env: Environment | str,
    *,
    outputs: StackOutputs | None = None,
    kubeconfig: Path | str | None = None,
    context: str | None = None,
    read_only: bool = False,
) -> KubeTarget:
    """Pick the cluster of an environment: only one the user named for it.

    1. ``--kubeconfig`` (must exist), with ``--context`` or its current context;
    2. ``.infra/<env>/kubeconfig`` (``infra up`` wrote it, or the stack outputs given here), with
       ``--context`` or the stack's context; a ``$KUBECONFIG`` set meanwhile is ignored, and a note says so;
    3. ``--context`` alone: that context of kubectl's own chain (``$KUBECONFIG``, else ``~/.kube/config``);
    4. read-only commands only (drift, check --server, doctor): ``$KUBECONFIG``, with a note.

    ``~/.kube/config`` is never used unless a context in it is named, and a command that changes a cluster
    never acts on ``$KUBECONFIG`` alone: a work cluster in either must not receive the lab by accident.
    Nothing usable is a :class:`ClusterUnavailableError` (exit 2).
    """
    state = EnvState.of(env)  # unknown names fail here, before anything runs
    env = state.name
    if kubeconfig is not None:
        path = Path(kubeconfig).expanduser()
        if not path.is_file():
            raise ConfigError(f"kubeconfig {path} does not exist", "pass an existing file to --kubeconfig")
        return KubeTarget(path.resolve(), context, f"--kubeconfig {path}")
    own = state.kubeconfig
    if not own.is_file() and outputs is not None and outputs.kubeconfig:
        write_private(own, outputs.kubeconfig)
    if own.is_file():
        stack_context = outputs.context if outputs is not None else state.public_outputs().get("context")
        notes: tuple[str, ...] = ()
        if os.environ.get("KUBECONFIG"):
            notes = (
                f"$KUBECONFIG is ignored: the {env} environment's own {own} is used "
                "(pass --kubeconfig to choose another cluster)",
            )
        return KubeTarget(own, context or stack_context or None, str(own), notes)
    if context:
        chain = "$KUBECONFIG" if os.environ.get("KUBECONFIG") else "~/.kube/config"
        return KubeTarget(None, context, f"--context {context} in {chain}")
    if read_only and os.environ.get("KUBECONFIG"):
        note = f"no {own}: reading the cluster of $KUBECONFIG (read-only)"
        return KubeTarget(None, None, "$KUBECONFIG", (note,))
    fallback = (
        ""
        if read_only
        else " (commands that change a cluster never use $KUBECONFIG or ~/.kube/config on their own)"
    )
    raise ClusterUnavailableError(
        f"no cluster named for the {env} environment: no {own}{fallback}",
        f"run `infra up --env {env}`, or name a cluster with --kubeconfig FILE [--context NAME]",
    )


# What kubectl says when the server answers but TLS or the credentials fail: each has its own fix.
TLS_MARKERS = ("x509:", "certificate signed by unknown authority", "tls: failed to verify certificate")
UNAUTHORIZED_MARKERS = ("you must be logged in to the server", "(unauthorized)")
FORBIDDEN_MARKER = "(forbidden)"
CONFLICT_MARKER = "apply failed with"


def unreachable(text: str) -> bool:
    lowered = text.lower()
    if any(marker in lowered for marker in TLS_MARKERS):
        return False
    return any(marker in lowered for marker in UNREACHABLE_MARKERS)


def last_lines(result: proc.Result, count: int = 3) -> str:
    lines = [line for line in (result.stderr or result.stdout).strip().splitlines() if line.strip()]
    return " | ".join(lines[-count:]) if lines else f"exit {result.returncode}"


def failure(target: KubeTarget, result: proc.Result, what: str, hint: str) -> InfraError:
    """The error of a failed kubectl call, told apart by cause: each cause has its own fix.

    No server (refused, timeout), an untrusted server certificate, rejected credentials, a forbidden verb,
    a field-manager conflict, or else what failed and kubectl's last lines.
    """
    detail = last_lines(result)
    text = (result.stderr or result.stdout).lower()
    if any(marker in text for marker in TLS_MARKERS):
        return ClusterAuthError(
            f"the API server's certificate is not trusted ({target.describe()}): {detail}",
            "the kubeconfig's certificate-authority-data belongs to another cluster: re-run `infra up` to "
            "rewrite .infra/<env>/kubeconfig, or pass the right --kubeconfig",
        )
    if unreachable(text):
        return ClusterUnavailableError(
            f"cannot reach the cluster ({target.describe()}): {detail}",
            "start the lab with `infra up`, or name a running cluster with --kubeconfig/--context",
        )
    if any(marker in text for marker in UNAUTHORIZED_MARKERS):
        return ClusterAuthError(
            f"the cluster rejected the credentials ({target.describe()}): {detail}",
            "the kubeconfig's client certificate has expired or its token is invalid: renew it "
            "(kind: `infra up` rewrites it; kOps: `kops export kubeconfig --admin`)",
        )
    if FORBIDDEN_MARKER in text:
        return ClusterAuthError(
            f"{what} is forbidden for this user ({target.describe()}): {detail}",
            "use a kubeconfig whose user RBAC allows it (the lab's admin kubeconfig from `infra up`)",
        )
    if CONFLICT_MARKER in text and "conflict" in text:
        conflicts = [line for line in (result.stderr or result.stdout).splitlines() if "conflict" in line]
        return InfraError(
            f"{what}: {conflicts[0].removeprefix('error: ').strip()}",
            "another field manager owns these fields: `infra reconcile` takes them back (it forces "
            "conflicts unless --no-force-conflicts); with plain kubectl pass --field-manager=infra "
            "--force-conflicts",
        )
    return InfraError(f"{what} failed: {detail}", hint)


def kubectl(
    target: KubeTarget,
    args: Sequence[str],
    *,
    what: str,
    hint: str = "see the kubectl error above",
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    ok_codes: Sequence[int] = (0,),
    timeout: float | None = 600,
) -> proc.Result:
    """Run one kubectl command against ``target``; an exit code outside ``ok_codes`` raises a clear error.

    stdin is always given (empty when there is nothing to send), so a kubeconfig without credentials makes
    kubectl fail at once instead of waiting, invisibly, at a "Please enter Username" prompt. The user's kuberc
    is switched off (:data:`KUBECTL_ENV`), so the commands do exactly what their flags say.
    """
    result = proc.run(
        target.kubectl(*args),
        input=input if input is not None else "",
        env={**KUBECTL_ENV, **(env or {})},
        check=False,
        timeout=timeout,
        hint="kubectl is needed (see README: Prerequisites)",
    )
    if result.returncode not in ok_codes:
        raise failure(target, result, what, hint)
    return result


def ensure_reachable(target: KubeTarget) -> str:
    """The server's git version; a cluster that does not answer is a :class:`ClusterUnavailableError`."""
    result = kubectl(
        target,
        ["version", "--output=json", "--request-timeout=15s"],
        what="kubectl version",
        hint="check the kubeconfig (server, user credentials) with `kubectl version`",
        timeout=45,
    )
    try:
        server = json.loads(result.stdout).get("serverVersion") or {}
    except ValueError:
        server = {}
    if not server:
        raise ClusterUnavailableError(
            f"the cluster ({target.describe()}) did not report a server version",
            "check the kubeconfig and that the API server is up (`kubectl version`)",
        )
    return str(server.get("gitVersion") or "unknown")


def parse_items(stdout: str) -> list[dict[str, Any]]:
    """kubectl's ``-o json``: nothing, one object, or a ``List`` -> a list of objects."""
    if not stdout.strip():
        return []
    try:
        data = json.loads(stdout)
    except ValueError as exc:
        raise InfraError(f"kubectl printed unparsable JSON: {exc}", "check the kubectl version") from None
    if isinstance(data, dict) and data.get("kind", "").endswith("List") and "items" in data:
        return [i for i in data.get("items") or [] if isinstance(i, dict)]
    return [data] if isinstance(data, dict) else []


def as_list(objects: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})


def get_objects(
    target: KubeTarget, objects: Sequence[Mapping[str, Any]], *, what: str, managed_fields: bool = False
) -> dict[ObjectRef, dict[str, Any]]:
    """The live state of the named objects in one ``kubectl get -f -`` (missing ones are simply absent)."""
    if not objects:
        return {}
    args = ["get", "-f", "-", "-o", "json", "--ignore-not-found"]
    if managed_fields:
        args.append("--show-managed-fields")
    result = kubectl(target, args, input=as_list(objects), what=what)
    return {ObjectRef.of(obj, default_namespace=""): obj for obj in parse_items(result.stdout)}
