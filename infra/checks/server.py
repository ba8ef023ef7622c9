"""``infra check --server``: a server-side dry run of the set, for what no offline rule can know.

Admission webhooks, CRD schemas and validation rules, quotas, the server's own version of the validation: a
real API server sees them all. Each object is sent on its own with ``kubectl apply --server-side
--dry-run=server --field-manager=infra``, so every rejection is reported as a finding on the file and object
it came from, with the server's own message. Nothing is changed on the cluster (read-only).

Namespaces go first. A dry run creates nothing, so an object in a namespace this set would create, and which
the cluster does not have yet, cannot be dry-run: the server answers ``namespaces "x" not found``. Those
objects are reported as one ``info`` finding per namespace instead of false rejections; so are custom
resources whose CustomResourceDefinition is in the set but not on the server yet.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable

from infra import kube
from infra.checks.model import DocSet, Finding, Severity, dig, subject
from infra.checks.registry import describe
from infra.kube import CLUSTER_SCOPED_KINDS, KubeTarget
from infra.render import Document

describe(
    "SERVER-DRY-RUN", Severity.ERROR, "the API server accepts each object in a server-side dry run (--server)"
)
RULE = "SERVER-DRY-RUN"
SERVER_PREFIXES = ("Error from server (", "error: ")
NAMESPACE_NOT_FOUND = "namespaces "
NO_MATCHES = "no matches for kind"
RBAC_DENIED = re.compile(r'is forbidden: user ".*" cannot ')


def _apply(target: KubeTarget, doc: Document) -> tuple[bool, str]:
    """Dry-run one object; ``(accepted, the server's message)``. Cluster-level failures raise (exit 2)."""
    result = kube.kubectl(
        target,
        ["apply", "--server-side", "--dry-run=server", "--field-manager=infra", "-f", "-"],
        what=f"server-side dry run of {subject(doc)}",
        input=json.dumps(doc.obj),
        ok_codes=(0, 1),
        timeout=120,
    )
    if result.ok:
        return True, ""
    text = (result.stderr or result.stdout).strip()
    lowered = text.lower()
    if (
        kube.unreachable(lowered)
        or any(marker in lowered for marker in (*kube.TLS_MARKERS, *kube.UNAUTHORIZED_MARKERS))
        or RBAC_DENIED.search(lowered)  # a webhook denial or an exceeded quota is Forbidden too: a finding
    ):
        raise kube.failure(target, result, f"server-side dry run of {subject(doc)}", "fix the cluster access")
    return False, _server_message(text)


def _server_message(text: str) -> str:
    """kubectl's error without its prefix: ``Deployment.apps "web" is invalid: spec...: Invalid value...``."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = next((x for x in lines if x.startswith(SERVER_PREFIXES)), lines[-1] if lines else "rejected")
    if line.startswith("Error from server ("):
        reason, _, rest = line.removeprefix("Error from server (").partition("): ")
        return f"{rest} ({reason})" if rest else line
    return line.removeprefix("error: ")


def existing_namespaces(target: KubeTarget) -> set[str]:
    result = kube.kubectl(
        target,
        ["get", "namespaces", "-o", "jsonpath={.items[*].metadata.name}"],
        what="kubectl get namespaces",
        hint="the dry run needs to read namespaces: use a kubeconfig allowed to list them",
        timeout=60,
    )
    return set(result.stdout.split())


def _crd_kinds(docs: Iterable[Document]) -> set[tuple[str, str]]:
    """``(group, kind)`` of the CustomResourceDefinitions in the set."""
    return {
        (str(dig(d.obj, "spec", "group")), str(dig(d.obj, "spec", "names", "kind")))
        for d in docs
        if d.kind == "CustomResourceDefinition"
    }


def dry_run(docs: list[Document], target: KubeTarget) -> list[Finding]:
    """Findings of a server-side dry run of the set against ``target`` (reachable, or exit 2)."""
    kube.ensure_reachable(target)
    docset = DocSet(docs, "")
    present = existing_namespaces(target)
    set_crds = _crd_kinds(docs)
    findings: list[Finding] = []
    waiting: dict[str, list[Document]] = defaultdict(list)
    ordered = sorted(docs, key=lambda d: (d.kind != "Namespace", d.kind != "CustomResourceDefinition"))
    for doc in ordered:
        namespace = "" if doc.kind in CLUSTER_SCOPED_KINDS else docset.ns(doc)
        if namespace and namespace not in present:
            waiting[namespace].append(doc)
            continue
        accepted, message = _apply(target, doc)
        if accepted:
            continue
        group = doc.api_version.rpartition("/")[0]
        if NO_MATCHES in message and (group, doc.kind) in set_crds:
            waiting[f"CRD {doc.kind}.{group}"].append(doc)
            continue
        findings.append(
            Finding(
                RULE,
                Severity.ERROR,
                f"the API server rejects it: {message}",
                f"fix what the server names (dry run against {target.describe()})",
                doc.where,
                subject(doc),
                docset.order(doc),
            )
        )
    for what, skipped in waiting.items():
        created = what if what.startswith("CRD ") else f"namespace {what}"
        findings.append(
            Finding(
                RULE,
                Severity.INFO,
                f"{len(skipped)} object(s) not dry-run: {created} is created by this set and is not on the "
                "server yet (a dry run creates nothing)",
                "apply the set once (infra reconcile), then --server checks them too",
                skipped[0].where,
                subject(skipped[0]),
                docset.order(skipped[0]),
            )
        )
    findings.sort(key=lambda f: (f.order, -f.severity))
    return findings
