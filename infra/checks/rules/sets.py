"""Checks over the set as a whole: the same object twice, keys written twice, classes the cluster lacks.

None of these is rejected by the API server object by object: ``kubectl apply`` of a set with the same object
twice applies both and the second silently wins; a PVC for a StorageClass no provisioner serves stays
``Pending`` forever; an Ingress of an IngressClass no controller watches is never served. The StorageClasses
and IngressClasses an environment provides are data on :class:`infra.environments.Environment`; StorageClass
and IngressClass objects in the checked set count as provided too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from infra.checks.model import DocSet, Hit, Severity, api_group, as_dict, as_list, dig
from infra.checks.registry import rule
from infra.environments import ENVIRONMENTS
from infra.render import Document, display_path

CLUSTER_SCOPED = {
    "Namespace",
    "Node",
    "PersistentVolume",
    "StorageClass",
    "IngressClass",
    "PriorityClass",
    "RuntimeClass",
    "CSIDriver",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "APIService",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
}
BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"
LEGACY_INGRESS_CLASS = "kubernetes.io/ingress.class"


def _apply_unit(doc: Document) -> Path | None:
    """Objects applied together: one kustomization's output, or all the plain files passed at once."""
    return doc.source if doc.rendered else None


@rule("DUP-OBJECT", Severity.ERROR, "no object (group, kind, namespace, name) appears twice in one set")
def duplicate_objects(docs: DocSet) -> Iterator[Hit]:
    first: dict[tuple, Document] = {}
    for doc in docs.docs:
        if not doc.name:
            continue  # generateName objects are distinct by construction
        namespace = "" if doc.kind in CLUSTER_SCOPED else docs.ns(doc)
        key = (_apply_unit(doc), api_group(doc.api_version), doc.kind, namespace, doc.name)
        earlier = first.setdefault(key, doc)
        if earlier is not doc:
            yield Hit(
                doc,
                f"{doc.kind} {doc.name} is already defined at {earlier.where}: kubectl apply applies both "
                "and the later one silently replaces the earlier",
                "keep one definition (or give them different names or namespaces)",
            )


@rule("DUP-KEY", Severity.ERROR, "no mapping key is written twice in a plain YAML document")
def duplicate_keys(docs: DocSet) -> Iterator[Hit]:
    for doc in docs.docs:
        for key, line, earlier in doc.duplicate_keys:
            yield Hit(
                doc,
                f'{display_path(doc.source)}:{line}: mapping key "{key}" already defined at line {earlier}: '
                "YAML keeps only the later value, kubectl apply rejects the file",
                "remove one of the two keys (merge their contents if both were meant)",
            )


def _provided(docs: DocSet, kind: str, attribute: str) -> tuple[set[str], str]:
    """Class names the target provides (the environment's, or any environment's, plus objects in the set)."""
    in_set = {doc.name for doc in docs.of_kind(kind) if doc.name}
    if docs.env is not None:
        classes = set(getattr(docs.env, attribute))
        where = f"environment {docs.env.name} ({', '.join(getattr(docs.env, attribute)) or 'none'})"
    else:
        classes = {name for env in ENVIRONMENTS.values() for name in getattr(env, attribute)}
        where = (
            "any environment ("
            + "; ".join(
                f"{env.name}: {', '.join(getattr(env, attribute)) or 'none'}" for env in ENVIRONMENTS.values()
            )
            + ")"
        )
    return classes | in_set, where


def _claims(doc: Document) -> Iterator[tuple[str, dict]]:
    """``(what, claim)``: a PVC itself, or each of a StatefulSet's volumeClaimTemplates."""
    if doc.kind == "PersistentVolumeClaim":
        yield "storageClassName", doc.obj
    elif doc.kind == "StatefulSet":
        for i, claim in enumerate(as_list(dig(doc.obj, "spec", "volumeClaimTemplates"))):
            if isinstance(claim, dict):
                yield f"volumeClaimTemplates[{i}] ({dig(claim, 'metadata', 'name')}) storageClassName", claim


@rule(
    "STORAGE-CLASS",
    Severity.ERROR,
    "PVCs and volumeClaimTemplates name a StorageClass the target environment provides",
)
def storage_class(docs: DocSet) -> Iterator[Hit]:
    provided: tuple[set[str], str] | None = None
    for doc in docs.of_kind("PersistentVolumeClaim", "StatefulSet"):
        for what, claim in _claims(doc):
            name = dig(claim, "spec", "storageClassName")
            if name is None:
                name = as_dict(dig(claim, "metadata", "annotations")).get(BETA_STORAGE_CLASS)
            if not isinstance(name, str) or not name:
                continue  # no class: the default StorageClass; "": a pre-provisioned volume, no class
            provided = provided or _provided(docs, "StorageClass", "storage_classes")
            if name not in provided[0]:
                yield Hit(
                    doc,
                    f"{what} {name} is not a StorageClass of {provided[1]} nor in the set: "
                    "no provisioner serves it, the claim stays Pending",
                    "use one of the environment's StorageClasses (nfs-client for shared NFS storage), "
                    "or omit storageClassName for the default class",
                )


@rule("INGRESS-CLASS", Severity.ERROR, "an Ingress names an IngressClass the target environment provides")
def ingress_class(docs: DocSet) -> Iterator[Hit]:
    provided: tuple[set[str], str] | None = None
    for ingress in docs.of_kind("Ingress"):
        name = dig(ingress.obj, "spec", "ingressClassName")
        if name is None:
            name = as_dict(ingress.metadata.get("annotations")).get(LEGACY_INGRESS_CLASS)
        if not isinstance(name, str) or not name:
            continue  # the default IngressClass takes it
        provided = provided or _provided(docs, "IngressClass", "ingress_classes")
        if name not in provided[0]:
            yield Hit(
                ingress,
                f"ingressClassName {name} is not an IngressClass of {provided[1]} nor in the set: "
                "no ingress controller serves this Ingress",
                "use the environment's IngressClass (nginx), or omit ingressClassName for the default class",
            )
