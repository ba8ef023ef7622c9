"""Make the cluster match git: server-side apply of ``manifests/envs/<env>``, then prune what we applied.

One reconcile, in order (each step one kubectl call; steps 3 and 6 only when there is something to do):

1. print the cluster (server URL, context, where it came from) before anything else;
2. render the manifests once (:mod:`~infra.gitops.desired`): those objects are what gets applied;
3. one lookup of the run-time Secrets and of the inventory record (read only: a missing Secret that cannot be
   made stops here, nothing written); missing Secrets are created after their Namespaces exist
   (``kubectl create``: never an update, so never a silent rotation);
4. ``kubectl apply --server-side --field-manager=infra --force-conflicts`` of the record and the manifests
   together, in order (each Namespace before its objects): forcing conflicts is what undoes a hand edit of a
   field git sets (GIT-2);
5. fields a person *added* (a label, an env var: fields git never sets, so a server-side apply leaves them
   to their owner) are taken back: their owners are kubectl's field managers, the fields are read from
   ``managedFields`` and removed with one strategic merge patch per object. ``status`` and ``spec.replicas``
   are never taken back (controllers, git or the HPA decide them, GIT-4);
6. prune (:mod:`~infra.gitops.prune`): objects of the last record gone from git, still labelled, in an own
   namespace; then the record is rewritten without them;
7. wait for the workloads (:mod:`~infra.gitops.rollout`), each within its own budget (optional).

A failure at any step stops the reconcile with one line; nothing is pruned after a failed apply, and the
next reconcile converges from wherever this one stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.contract import StackOutputs
from infra.errors import ConfigError, InfraError
from infra.gitops import inventory, prune, rollout
from infra.gitops.desired import Desired, dump, render_desired, runtime_secret_refs
from infra.gitops.fields import field_paths, hand_entries, merge, owned_by, removal_patch, subtract
from infra.kube import (
    KubeTarget,
    ObjectRef,
    as_list,
    failure,
    get_objects,
    kubectl,
    parse_items,
    public_outputs,
    resolve_target,
)
from infra.render import display_path

FIELD_MANAGER = "infra"
PARALLEL_DRY_RUNS = 3  # concurrent kubectl dry runs when drift compares

Progress = Callable[[str], None]
SecretsProvider = Callable[[str, str], list[dict[str, Any]]]


@dataclass
class ReconcileResult:
    env: str
    dry_run: bool
    cluster: str = ""
    applied: list[str] = field(default_factory=list)  # "Deployment lab-hpa/hpa-demo"
    secrets_created: list[ObjectRef] = field(default_factory=list)
    secrets_kept: list[ObjectRef] = field(default_factory=list)
    taken_back: list[tuple[ObjectRef, str]] = field(default_factory=list)  # (object, path) added by hand
    pruned: list[ObjectRef] = field(default_factory=list)
    rolled_out: list[ObjectRef] = field(default_factory=list)
    not_ready: list[tuple[ObjectRef, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.not_ready


def apply_command(
    *, dry_run: bool, manager: str = FIELD_MANAGER, force: bool = True, validate: bool = True
) -> list[str]:
    """The apply argv. ``validate=False`` skips kubectl's schema work (it costs kubectl about 0.4 s of CPU to
    load the server's OpenAPI documents); only for dry runs that compare, never for a real apply."""
    args = ["apply", "--server-side", f"--field-manager={manager}", "-f", "-", "-o", "json"]
    args += ["--show-managed-fields"]
    if not validate:
        args.append("--validate=false")
    if force:
        args.append("--force-conflicts")
    return [*args, "--dry-run=server"] if dry_run else args


def apply_objects(
    target: KubeTarget, text: str, *, dry_run: bool, what: str, force: bool = True, validate: bool = True
) -> list[dict[str, Any]]:
    """Server-side apply of a YAML/JSON stream; returns the objects as the server stored them."""
    result = kubectl(
        target,
        apply_command(dry_run=dry_run, force=force, validate=validate or not dry_run),
        input=text,
        what=what,
        hint="fix the manifest or the conflict named above, then run `infra reconcile` again",
    )
    return parse_items(result.stdout)


def compare_dry_run(
    target: KubeTarget, objects: Sequence[dict[str, Any]], *, parts: int = PARALLEL_DRY_RUNS
) -> list[dict[str, Any]]:
    """A server-side dry run of ``objects`` to compare with the live ones, in ``parts`` concurrent kubectl
    calls (kubectl sends one request per object, one after another; the API server serves several at once).
    No client-side validation: nothing is written, the result is only compared."""
    what = "server-side dry run of the manifests"
    chunks = [list(objects[i::parts]) for i in range(parts)] if len(objects) >= 2 * parts else [list(objects)]
    with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        done = pool.map(
            lambda c: apply_objects(target, dump(c), dry_run=True, what=what, validate=False), chunks
        )
        return [obj for part in done for obj in part]


def default_secrets_provider(env: str, ingress_host: str) -> list[dict[str, Any]]:
    """``infra.secrets.runtime_secrets``: the run-time Secrets (TLS certificate, MySQL credentials)."""
    from infra import secrets  # lazy: certificate generation is only needed when a Secret is missing

    return secrets.runtime_secrets(env, ingress_host)


def plan_secrets(
    env: str,
    declared: Sequence[ObjectRef],
    present: Mapping[ObjectRef, Any],
    host: str,
    provider: SecretsProvider,
) -> tuple[list[dict[str, Any]], list[ObjectRef]]:
    """(Secrets to create, Secrets kept) of the run-time Secrets the manifests declare.

    The provider (certificate and password generation) is asked only when one is missing, so a reconcile of
    a running lab generates nothing. A missing Secret that cannot be made is an error, before any write.
    """
    kept = [ref for ref in declared if ref in present]
    missing = [ref for ref in declared if ref not in present]
    if not missing:
        return [], kept
    if not host:
        raise ConfigError(
            f"run-time {missing[0]} is missing and no ingress host is known to generate it",
            f"pass --ingress-host, or run `infra up --env {env}` (it writes .infra/{env}/outputs.json)",
        )
    generated = {ObjectRef.of(s): s for s in provider(env, host)}
    for ref in missing:
        if ref not in generated:
            raise InfraError(
                f"run-time {ref} is declared in the manifests but infra.secrets does not produce it",
                "declare only Secrets that infra/secrets.py creates, or add it there",
            )
    return [generated[ref] for ref in missing], kept


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


def dry_runnable(
    objects: Sequence[dict[str, Any]], present: Mapping[ObjectRef, Any]
) -> tuple[list[dict[str, Any]], list[ObjectRef]]:
    """The objects a server-side dry run can take (namespace exists, or a Namespace), and the others."""
    existing = {ref.name for ref in present if ref.kind == "Namespace" and ref.group == ""}
    keep, skipped = [], []
    for obj in objects:
        ref = ObjectRef.of(obj)
        if ref.namespace and ref.namespace not in existing:
            skipped.append(ref)
        else:
            keep.append(obj)
    return keep, skipped


@dataclass(frozen=True)
class HandAdditions:
    """Fields people added to one object that git never declares: their paths and the patch removing them."""

    ref: ObjectRef
    resource: str  # "deployment.apps": what `kubectl patch` takes
    paths: tuple[str, ...]  # "metadata.labels.team (by kubectl-label)"
    patch: dict[str, Any]


def hand_additions(objects: Sequence[Mapping[str, Any]]) -> list[HandAdditions]:
    """For each object as the server holds it after our apply: what people added that we do not own.

    ``status`` and ``spec.replicas`` are left out: controllers and the HPA (or git) decide those (GIT-4).
    """
    found = []
    for obj in objects:
        ours = owned_by(obj, FIELD_MANAGER)
        paths: list[str] = []
        patch: dict[str, Any] = {}
        for entry in hand_entries(obj, FIELD_MANAGER):
            fields = subtract(entry["fieldsV1"], ours)
            fields.pop("f:status", None)
            spec = fields.get("f:spec")
            if isinstance(spec, dict) and "f:replicas" in spec:
                fields["f:spec"] = {k: v for k, v in spec.items() if k != "f:replicas"} or None
                if fields["f:spec"] is None:
                    del fields["f:spec"]
            here = list(field_paths(fields))
            if here:
                paths += [f"{p} (by {entry['manager']})" for p in here]
                patch = merge(patch, removal_patch(fields))
        if paths and patch:
            ref = ObjectRef.of(obj, default_namespace="")
            resource = f"{ref.kind.lower()}.{ref.group}" if ref.group else ref.kind.lower()
            found.append(HandAdditions(ref, resource, tuple(sorted(set(paths))), patch))
    return found


def take_back(target: KubeTarget, additions: Sequence[HandAdditions]) -> None:
    """Remove the hand-added fields: one strategic merge patch each (lists of named items by key)."""
    for added in additions:
        args = [
            "patch",
            added.resource,
            added.ref.name,
            "--type=strategic",
            f"--field-manager={FIELD_MANAGER}",
        ]
        if added.ref.namespace:
            args += ["--namespace", added.ref.namespace]
        kubectl(
            target, [*args, "--patch", json.dumps(added.patch)], what=f"taking back fields of {added.ref}"
        )


def _ingress_host(env: str, outputs: StackOutputs | None, ingress_host: str | None) -> str:
    if ingress_host:
        return ingress_host
    if outputs is not None:
        return outputs.ingress_host
    return str(public_outputs(env).get("ingress_host") or "")


def describe_target(target: KubeTarget, say: Progress) -> str:
    """Say which cluster this is (before anything changes) and any note about how it was chosen."""
    context, server = target.view()
    cluster = f"{server} (context {context}, from {target.source})"
    say(f"cluster {cluster}")
    for note in target.notes:
        say(f"note: {note}")
    return cluster


def reconcile(
    env: str,
    outputs: StackOutputs | None = None,
    *,
    target: KubeTarget | None = None,
    prune_owned: bool = True,
    dry_run: bool = False,
    wait: bool = True,
    force_conflicts: bool = True,
    ingress_host: str | None = None,
    entry: Path | None = None,
    secrets_provider: SecretsProvider = default_secrets_provider,
    progress: Progress | None = None,
) -> ReconcileResult:
    """Make the ``env`` cluster match its manifests (the steps are in the module docstring).

    ``infra up`` calls ``reconcile(env, outputs)``; standalone, the target comes from
    :func:`infra.kube.resolve_target` (never a cluster the user did not name). With ``dry_run`` every write
    is a server-side dry run and no Secret is created.
    """
    say = progress or (lambda _line: None)
    target = target or resolve_target(env, outputs=outputs)
    result = ReconcileResult(env, dry_run, cluster=describe_target(target, say))
    host = _ingress_host(env, outputs, ingress_host)
    desired = render_desired(env, ingress_host=host or None, entry=entry)
    say(f"rendered {display_path(desired.source)}: {len(desired.objects)} objects")
    for ref in desired.unowned:
        say(f"warning: {ref} lacks the ownership labels; it is applied but never pruned")

    secret_refs = runtime_secret_refs(desired.objects)
    namespaces = [
        ObjectRef("", "Namespace", "", n) for n in sorted(desired.namespace_names | {inventory.NAMESPACE})
    ]
    lookup = get_objects(
        target,
        [prune.stub(r) for r in [*secret_refs, inventory.ref(), *namespaces]],
        what="looking up the run-time Secrets, the inventory and the namespaces",
    )
    previous = inventory.from_object(lookup.get(inventory.ref()), env)
    to_create, result.secrets_kept = plan_secrets(env, secret_refs, lookup, host, secrets_provider)
    for ref in result.secrets_kept:
        say(f"secret {ref.namespace}/{ref.name}: exists, kept as is")

    if to_create:
        apply_objects(target, dump(desired.namespaces), dry_run=dry_run, what="applying the namespaces")
    for secret in to_create:
        ref = ObjectRef.of(secret)
        if dry_run:
            result.secrets_created.append(ref)
            say(f"secret {ref.namespace}/{ref.name}: missing, would be created")
        elif create_secret(target, secret):
            result.secrets_created.append(ref)
            say(f"secret {ref.namespace}/{ref.name}: created")
        else:
            result.secrets_kept.append(ref)
            say(f"secret {ref.namespace}/{ref.name}: appeared meanwhile, kept as is")

    own = desired.namespace_names | (previous.namespaces if previous else frozenset())
    stale = prune.candidates(previous.refs, desired.refs, own) if previous and prune_owned else []
    record = inventory.objects(env, desired.refs | set(stale))  # stale ones stay recorded until gone
    objects = [*record, *desired.objects]
    placeable, skipped = dry_runnable(objects, lookup)
    if dry_run:  # a server-side dry run cannot place objects in namespaces that do not exist yet
        for ref in skipped:
            say(f"{ref}: its namespace does not exist yet; it would be created with it")
        objects = placeable
    applied = apply_objects(
        target, dump(objects), dry_run=dry_run, force=force_conflicts, what="kubectl apply --server-side"
    )
    lab = [obj for obj in applied if ObjectRef.of(obj, default_namespace="") in desired.refs]
    result.applied = [str(ObjectRef.of(obj, default_namespace="")) for obj in lab]
    say(
        f"applied {len(lab)} objects{' (server dry run)' if dry_run else ''} as field manager {FIELD_MANAGER}"
    )

    additions = hand_additions(lab)
    for added in additions:
        for path in added.paths:
            result.taken_back.append((added.ref, path))
            say(f"{'would take back' if dry_run else 'took back'} {added.ref}: {path}")
    if additions and not dry_run:
        take_back(target, additions)

    if prune_owned:
        _prune(target, env, desired, previous, stale, own, dry_run=dry_run, result=result, say=say)
    if wait and not dry_run:
        for waited in rollout.wait_all(target, rollout.plan(desired.objects), progress=say):
            if waited.ok:
                result.rolled_out.append(waited.rollout.ref)
            else:
                result.not_ready.append((waited.rollout.ref, waited.detail))
    return result


def _prune(
    target: KubeTarget,
    env: str,
    desired: Desired,
    previous: inventory.Inventory | None,
    stale: Sequence[ObjectRef],
    own: frozenset[str],
    *,
    dry_run: bool,
    result: ReconcileResult,
    say: Progress,
) -> None:
    if previous is None:
        say("no inventory yet: nothing is pruned on a first reconcile (the record starts now)")
        return
    for ref in prune.orphaned_namespaces(previous.refs, desired.refs):
        say(f"warning: {ref} is no longer in git; namespaces are never pruned: delete it by hand")
    if not stale:
        return
    live = get_objects(target, [prune.stub(r) for r in stale], what="looking up objects to prune")
    for ref in prune.kept_by_hand(live, previous.refs, desired.refs, own):
        say(f"kept {ref}: no longer in git, but its ownership labels were removed by hand")
    doomed = prune.select_prunable(live, previous.refs, desired.refs, own)
    if doomed:
        args = ["delete", "-f", "-", "--ignore-not-found", "--wait=false"]
        kubectl(
            target,
            [*args, "--dry-run=server"] if dry_run else args,
            input=as_list([prune.delete_stub(r) for r in doomed]),
            what="pruning",
        )
    for ref in doomed:
        result.pruned.append(ref)
        say(f"{'would prune' if dry_run else 'pruned'} {ref} (applied before, no longer in git)")
    if not dry_run:
        apply_objects(
            target, dump(inventory.objects(env, desired.refs)), dry_run=False, what="updating the inventory"
        )
