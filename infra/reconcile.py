"""Make the cluster match git: server-side apply of ``manifests/envs/<env>``, then prune what we own.

Order of one reconcile (each step a kubectl command through :func:`infra.proc.run`):

1. render ``manifests/envs/<env>`` once with ``kubectl kustomize``; that exact text is what gets applied;
2. look up the run-time Secrets (read only: a missing one that cannot be made stops here, nothing written);
3. apply the Namespace objects, then create the missing Secrets there (``kubectl create``: never an update,
   never a rotation), so workloads never start without them;
4. ``kubectl apply --server-side --field-manager=infra --force-conflicts -f -`` of everything (forcing
   conflicts is what undoes a hand edit, GIT-2);
5. prune: delete owned objects (ownership labels, see :mod:`infra.ownership`) that are no longer in git;
6. wait for Deployments, StatefulSets and DaemonSets to roll out (optional).

Why the toolkit prunes by itself instead of ``kubectl apply --prune``: kubectl 1.32 refuses ``--prune`` with
``--server-side`` unless an ApplySet is used ("--prune is in alpha and doesn't currently work on objects
created by server-side apply"), and an ApplySet spanning several namespaces needs a cluster-scoped custom
parent resource (KEP-3659: a namespaced parent requires ``--namespace``, which rejects objects in other
namespaces). So the prune set is computed here from a label-selected listing, by one function
(:func:`select_prunable`) that drift reports with and tests prove: an object without the ownership labels is
never selected, and neither are Secrets (run-time credentials), PersistentVolumeClaims (data), Namespaces
(deleting one deletes everything inside it, owned or not) or objects a controller owns (pods of a
Deployment, PVCs of a StatefulSet).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from infra import render
from infra.contract import StackOutputs
from infra.environments import get_environment
from infra.errors import ConfigError, InfraError
from infra.kube import (
    KubeTarget,
    ObjectRef,
    ensure_reachable,
    failure,
    kubectl,
    last_lines,
    public_outputs,
    resolve_target,
)
from infra.ownership import OWNERSHIP_SELECTOR, is_owned

FIELD_MANAGER = "infra"
SUPPLIED_AT_RUNTIME = "infra.lab/supplied-at-runtime"
DEFAULT_TIMEOUT = 300

Progress = Callable[[str], None]
SecretsProvider = Callable[[str, str], list[dict[str, Any]]]


@dataclass(frozen=True)
class PruneKind:
    group: str
    kind: str
    resource: str  # what kubectl get/delete take: "deployments.apps"


# The prune allowlist: kinds the labs manage in git. Deliberately absent: Secret (run-time credentials),
# PersistentVolumeClaim (lab data), Namespace (reported, never deleted automatically), and everything else.
PRUNE_KINDS: tuple[PruneKind, ...] = (
    PruneKind("", "ConfigMap", "configmaps"),
    PruneKind("", "Service", "services"),
    PruneKind("", "ServiceAccount", "serviceaccounts"),
    PruneKind("", "Pod", "pods"),
    PruneKind("apps", "Deployment", "deployments.apps"),
    PruneKind("apps", "StatefulSet", "statefulsets.apps"),
    PruneKind("apps", "DaemonSet", "daemonsets.apps"),
    PruneKind("batch", "Job", "jobs.batch"),
    PruneKind("batch", "CronJob", "cronjobs.batch"),
    PruneKind("networking.k8s.io", "Ingress", "ingresses.networking.k8s.io"),
    PruneKind("networking.k8s.io", "NetworkPolicy", "networkpolicies.networking.k8s.io"),
    PruneKind("autoscaling", "HorizontalPodAutoscaler", "horizontalpodautoscalers.autoscaling"),
    PruneKind("policy", "PodDisruptionBudget", "poddisruptionbudgets.policy"),
    PruneKind("rbac.authorization.k8s.io", "Role", "roles.rbac.authorization.k8s.io"),
    PruneKind("rbac.authorization.k8s.io", "RoleBinding", "rolebindings.rbac.authorization.k8s.io"),
)
PRUNE_RESOURCES: dict[tuple[str, str], str] = {(k.group, k.kind): k.resource for k in PRUNE_KINDS}
# Listed with the ownership selector: the prune kinds plus namespaces (an owned namespace gone from git is
# reported as drift and left for a person to delete).
LISTED_RESOURCES: tuple[str, ...] = ("namespaces", *(k.resource for k in PRUNE_KINDS))
ROLLOUT_RESOURCES: dict[tuple[str, str], str] = {
    ("apps", "Deployment"): "deployment.apps",
    ("apps", "StatefulSet"): "statefulset.apps",
    ("apps", "DaemonSet"): "daemonset.apps",
}


@dataclass(frozen=True)
class Desired:
    """What git says: the rendered YAML text (applied as is) and its objects."""

    env: str
    text: str
    objects: tuple[dict[str, Any], ...]

    @property
    def refs(self) -> frozenset[ObjectRef]:
        return frozenset(ObjectRef.of(o) for o in self.objects)

    @property
    def namespaces(self) -> tuple[dict[str, Any], ...]:
        return tuple(o for o in self.objects if o.get("kind") == "Namespace")

    @property
    def unowned(self) -> tuple[ObjectRef, ...]:
        """Rendered objects without the ownership labels: applied, but never listed for prune or drift."""
        return tuple(sorted(ObjectRef.of(o) for o in self.objects if not is_owned(o)))


@dataclass
class ReconcileResult:
    env: str
    dry_run: bool
    applied: list[str] = field(default_factory=list)  # "deployment.apps/web serverside-applied"
    secrets_created: list[ObjectRef] = field(default_factory=list)
    secrets_kept: list[ObjectRef] = field(default_factory=list)
    pruned: list[ObjectRef] = field(default_factory=list)
    rolled_out: list[ObjectRef] = field(default_factory=list)
    not_ready: list[tuple[ObjectRef, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.not_ready


def render_desired(env: str) -> Desired:
    """Render ``manifests/envs/<env>`` with ``kubectl kustomize`` (the kustomize ``apply -k`` would use)."""
    environment = get_environment(env)
    entry = environment.manifests
    if not render.is_kustomization_dir(entry):
        raise ConfigError(
            f"{render.display_path(entry)} is not a kustomization (no kustomization.yaml)",
            f"create the entry point manifests/envs/{env}/kustomization.yaml",
        )
    text = render.kustomize(entry)
    docs = render.load_documents(text, entry, rendered=True)
    objects = tuple(d.obj for d in docs)
    if not objects:
        raise ConfigError(
            f"manifests/envs/{env} rendered no objects; refusing to reconcile (a prune would delete every "
            "object the toolkit owns)",
            f"check manifests/envs/{env}/kustomization.yaml (`kubectl kustomize manifests/envs/{env}`)",
        )
    return Desired(env, text, objects)


def dump(objects: Iterable[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(list(objects), sort_keys=False)


def list_owned(target: KubeTarget) -> list[dict[str, Any]]:
    """Live objects carrying the ownership labels, of the listed kinds, in every namespace."""
    result = kubectl(
        target,
        ["get", ",".join(LISTED_RESOURCES), "--all-namespaces", "-l", OWNERSHIP_SELECTOR, "-o", "json"],
        what="listing the toolkit's objects",
    )
    try:
        items = json.loads(result.stdout or "{}").get("items") or []
    except ValueError as exc:
        raise InfraError(f"kubectl get printed unparsable JSON: {exc}", "check the kubectl version") from None
    return [item for item in items if isinstance(item, dict)]


def _controlled(obj: dict[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("ownerReferences"))


def _deleting(obj: dict[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def select_prunable(live: Iterable[dict[str, Any]], desired: Iterable[ObjectRef]) -> list[ObjectRef]:
    """Live objects reconcile deletes: owned (both labels), of a prune kind, not controlled, not in git.

    ``live`` may be any listing, labelled or not: ownership is checked here again, so an object without the
    toolkit's labels is never selected whatever the listing returned.
    """
    wanted = set(desired)
    selected = set()
    for obj in live:
        ref = ObjectRef.of(obj, default_namespace="")
        if (
            is_owned(obj)
            and (ref.group, ref.kind) in PRUNE_RESOURCES
            and not _controlled(obj)
            and not _deleting(obj)
            and ref not in wanted
        ):
            selected.add(ref)
    return sorted(selected)


def orphaned_namespaces(live: Iterable[dict[str, Any]], desired: Iterable[ObjectRef]) -> list[ObjectRef]:
    """Owned Namespaces no longer in git: drift to report, never deleted automatically."""
    wanted = set(desired)
    found = set()
    for obj in live:
        ref = ObjectRef.of(obj, default_namespace="")
        owned_ns = ref.kind == "Namespace" and ref.group == "" and is_owned(obj) and not _deleting(obj)
        if owned_ns and ref not in wanted:
            found.add(ref)
    return sorted(found)


def runtime_secret_refs(objects: Iterable[dict[str, Any]]) -> list[ObjectRef]:
    """Secrets the manifests declare as supplied at run time (``infra.lab/supplied-at-runtime``)."""
    refs = set()
    for obj in objects:
        meta = obj.get("metadata") or {}
        value = (meta.get("annotations") or {}).get(SUPPLIED_AT_RUNTIME)
        if not value:
            continue
        namespace = ObjectRef.of(obj).namespace
        for entry in str(value).split(","):
            kind, _, name = entry.strip().partition("/")
            if kind == "Secret" and name:
                refs.add(ObjectRef("", "Secret", namespace, name))
    return sorted(refs)


def apply_command(*, dry_run: bool) -> list[str]:
    args = ["apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "--force-conflicts", "-f", "-"]
    return [*args, "--dry-run=server"] if dry_run else args


def delete_command(ref: ObjectRef, *, dry_run: bool) -> list[str]:
    """Delete exactly one object by resource and name; refs outside the prune allowlist cannot be built."""
    resource = PRUNE_RESOURCES.get((ref.group, ref.kind))
    if resource is None:
        raise InfraError(f"refusing to delete {ref}: {ref.kind} is not in the prune allowlist", "a bug")
    args = ["delete", resource, ref.name, "--ignore-not-found", "--wait=false"]
    if ref.namespace:
        args += ["--namespace", ref.namespace]
    return [*args, "--dry-run=server"] if dry_run else args


def _apply(target: KubeTarget, text: str, *, dry_run: bool, what: str) -> list[str]:
    result = kubectl(
        target,
        apply_command(dry_run=dry_run),
        input=text,
        what=what,
        hint="fix the manifest or the conflict named above, then run `infra reconcile` again",
    )
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def secret_exists(target: KubeTarget, ref: ObjectRef) -> bool:
    result = kubectl(
        target,
        ["get", "secret", ref.name, "--namespace", ref.namespace, "--ignore-not-found", "-o", "name"],
        what=f"looking up {ref}",
    )
    return bool(result.stdout.strip())


def create_secret(target: KubeTarget, secret: dict[str, Any]) -> bool:
    """``kubectl create``: True when created, False when it appeared meanwhile (never overwritten)."""
    result = kubectl(
        target,
        ["create", "-f", "-", "-o", "name"],
        input=json.dumps(secret),
        what=f"creating {ObjectRef.of(secret)}",
        ok_codes=(0, 1),
    )
    if result.ok:
        return True
    if "AlreadyExists" in result.stderr or "already exists" in result.stderr:
        return False
    raise failure(target, result, f"creating {ObjectRef.of(secret)}", "check what infra.secrets produced")


def default_secrets_provider(env: str, ingress_host: str) -> list[dict[str, Any]]:
    """``infra.secrets.runtime_secrets``: the run-time Secrets (TLS certificate, MySQL credentials)."""
    from infra import secrets  # lazy: certificate generation is only needed when a Secret is missing

    return secrets.runtime_secrets(env, ingress_host)


def missing_runtime_secrets(
    target: KubeTarget,
    desired: Desired,
    *,
    ingress_host: str | None,
    provider: SecretsProvider,
    result: ReconcileResult,
    progress: Progress,
) -> list[dict[str, Any]]:
    """The run-time Secrets to create: those missing from the cluster. Reads only; errors before any write.

    The Secrets to check are those the manifests declare (annotations) plus, when the ingress host is known,
    those ``infra.secrets`` produces (the provider is asked only then). An existing Secret is kept as it is,
    whatever it holds: rotation is never silent. A declared Secret that is missing with no way to make it is
    an error, not a skip.
    """
    generated: dict[ObjectRef, dict[str, Any]] = {}
    if ingress_host:
        for secret in provider(desired.env, ingress_host):
            generated[ObjectRef.of(secret)] = secret
    missing: list[dict[str, Any]] = []
    for ref in sorted(set(runtime_secret_refs(desired.objects)) | set(generated)):
        if secret_exists(target, ref):
            result.secrets_kept.append(ref)
            progress(f"secret {ref.namespace}/{ref.name}: exists, kept as is")
            continue
        secret = generated.get(ref)
        if secret is None and not ingress_host:
            raise ConfigError(
                f"run-time {ref} is missing and no ingress host is known to generate it",
                f"pass --ingress-host, or run `infra up --env {desired.env}` (it writes "
                f".infra/{desired.env}/outputs.json)",
            )
        if secret is None:
            raise InfraError(
                f"run-time {ref} is declared in the manifests but infra.secrets does not produce it",
                "declare only Secrets that infra/secrets.py creates, or add it there",
            )
        missing.append(secret)
    return missing


def create_runtime_secrets(
    target: KubeTarget,
    secrets: Sequence[dict[str, Any]],
    *,
    dry_run: bool,
    result: ReconcileResult,
    progress: Progress,
) -> None:
    """``kubectl create`` each one (a dry run creates nothing); one that appeared meanwhile is kept."""
    for secret in secrets:
        ref = ObjectRef.of(secret)
        if dry_run:
            result.secrets_created.append(ref)
            progress(f"secret {ref.namespace}/{ref.name}: missing, would be created")
        elif create_secret(target, secret):
            result.secrets_created.append(ref)
            progress(f"secret {ref.namespace}/{ref.name}: created")
        else:
            result.secrets_kept.append(ref)
            progress(f"secret {ref.namespace}/{ref.name}: appeared meanwhile, kept as is")


def prune(
    target: KubeTarget, desired: Desired, *, dry_run: bool, result: ReconcileResult, progress: Progress
) -> None:
    live = list_owned(target)
    for ref in select_prunable(live, desired.refs):
        kubectl(target, delete_command(ref, dry_run=dry_run), what=f"pruning {ref}")
        result.pruned.append(ref)
        progress(f"{'would prune' if dry_run else 'pruned'} {ref} (owned, no longer in git)")
    for ref in orphaned_namespaces(live, desired.refs):
        progress(f"warning: {ref} is owned but no longer in git; delete it by hand (not pruned)")


def rollout_targets(objects: Sequence[dict[str, Any]]) -> list[tuple[ObjectRef, str]]:
    found = []
    for obj in objects:
        ref = ObjectRef.of(obj)
        resource = ROLLOUT_RESOURCES.get((ref.group, ref.kind))
        if resource:
            found.append((ref, resource))
    return sorted(found)


def wait_for_rollouts(
    target: KubeTarget, desired: Desired, *, timeout: int, result: ReconcileResult, progress: Progress
) -> None:
    for ref, resource in rollout_targets(desired.objects):
        args = ["rollout", "status", f"{resource}/{ref.name}", "--namespace", ref.namespace]
        args.append(f"--timeout={timeout}s")
        outcome = kubectl(target, args, what=f"waiting for {ref}", ok_codes=(0, 1), timeout=timeout + 60)
        if outcome.ok:
            result.rolled_out.append(ref)
            progress(f"{ref}: rolled out")
        else:
            reason = last_lines(outcome, 1)
            result.not_ready.append((ref, reason))
            progress(f"{ref}: not ready: {reason}")


def _ingress_host(env: str, outputs: StackOutputs | None, ingress_host: str | None) -> str | None:
    if ingress_host:
        return ingress_host
    if outputs is not None:
        return outputs.ingress_host
    return public_outputs(env).get("ingress_host") or None


def reconcile(
    env: str,
    outputs: StackOutputs | None = None,
    *,
    target: KubeTarget | None = None,
    prune_owned: bool = True,
    dry_run: bool = False,
    wait: bool = True,
    timeout: int = DEFAULT_TIMEOUT,
    ingress_host: str | None = None,
    secrets_provider: SecretsProvider = default_secrets_provider,
    progress: Progress | None = None,
) -> ReconcileResult:
    """Make the ``env`` cluster match ``manifests/envs/<env>`` (see the module docstring for the steps).

    ``infra up`` calls ``reconcile(env, outputs)``; standalone, the target comes from
    :func:`infra.kube.resolve_target`. Progress lines go to ``progress``. With ``dry_run`` every write is a
    server-side dry run and no Secret is created.
    """
    say = progress or (lambda _line: None)
    target = target or resolve_target(env, outputs=outputs)
    result = ReconcileResult(env, dry_run)
    version = ensure_reachable(target)
    say(f"cluster {target.describe()} answers (Kubernetes {version})")
    desired = render_desired(env)
    say(f"rendered manifests/envs/{env}: {len(desired.objects)} objects")
    for ref in desired.unowned:
        say(f"warning: {ref} lacks the ownership labels; it is applied but never pruned or listed")
    to_create = missing_runtime_secrets(
        target,
        desired,
        ingress_host=_ingress_host(env, outputs, ingress_host),
        provider=secrets_provider,
        result=result,
        progress=say,
    )
    if desired.namespaces:
        _apply(target, dump(desired.namespaces), dry_run=dry_run, what="applying the namespaces")
    create_runtime_secrets(target, to_create, dry_run=dry_run, result=result, progress=say)
    result.applied = _apply(target, desired.text, dry_run=dry_run, what="kubectl apply --server-side")
    for line in result.applied:
        say(line)
    if prune_owned:
        prune(target, desired, dry_run=dry_run, result=result, progress=say)
    if wait and not dry_run:
        wait_for_rollouts(target, desired, timeout=timeout, result=result, progress=say)
    return result
