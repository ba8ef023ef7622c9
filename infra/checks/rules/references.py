"""Secrets and ConfigMaps a pod template uses exist in the set, or are declared as supplied at run time.

A Secret that holds credentials is never committed: the manifest that uses it declares it with the annotation
``infra.lab/supplied-at-runtime: "Secret/<name>"`` (docs/architecture.md), and the toolkit creates it at run
time. Anything else missing would leave the pod stuck in ``CreateContainerConfigError``/``ContainerCreating``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from infra.checks.model import (
    SUPPLIED_AT_RUNTIME,
    DocSet,
    Hit,
    PodTemplate,
    Severity,
    as_dict,
    as_list,
    dig,
    supplied_at_runtime,
)
from infra.checks.registry import rule


@dataclass(frozen=True)
class Ref:
    kind: str  # "Secret" | "ConfigMap"
    name: str
    key: str | None  # a single key (secretKeyRef/configMapKeyRef), else None
    via: str  # where the reference is, for the message


def references(template: PodTemplate) -> Iterator[Ref]:
    """Every non-optional Secret and ConfigMap reference of a pod spec."""
    spec = template.spec
    for _field, container in template.containers():
        cname = container.get("name")
        for env in as_list(container.get("env")):
            for kind, ref_field in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                ref = dig(env, "valueFrom", ref_field)
                if isinstance(ref, dict) and ref.get("name") and not ref.get("optional"):
                    via = f"container {cname} env {dig(env, 'name')} ({ref_field})"
                    yield Ref(kind, str(ref["name"]), str(ref["key"]) if ref.get("key") else None, via)
        for env_from in as_list(container.get("envFrom")):
            for kind, ref_field in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
                ref = dig(env_from, ref_field)
                if isinstance(ref, dict) and ref.get("name") and not ref.get("optional"):
                    yield Ref(kind, str(ref["name"]), None, f"container {cname} envFrom")
    for volume in as_list(spec.get("volumes")):
        vname = dig(volume, "name")
        secret, config_map = dig(volume, "secret"), dig(volume, "configMap")
        if isinstance(secret, dict) and secret.get("secretName") and not secret.get("optional"):
            yield Ref("Secret", str(secret["secretName"]), None, f"volume {vname}")
        if isinstance(config_map, dict) and config_map.get("name") and not config_map.get("optional"):
            yield Ref("ConfigMap", str(config_map["name"]), None, f"volume {vname}")
        for source in as_list(dig(volume, "projected", "sources")):
            for kind, key in (("Secret", "secret"), ("ConfigMap", "configMap")):
                ref = dig(source, key)
                if isinstance(ref, dict) and ref.get("name") and not ref.get("optional"):
                    yield Ref(kind, str(ref["name"]), None, f"projected volume {vname}")
    for pull in as_list(spec.get("imagePullSecrets")):
        if dig(pull, "name"):
            yield Ref("Secret", str(pull["name"]), None, "imagePullSecrets")


def _missing(docs: DocSet, template: PodTemplate, kind: str) -> Iterator[Hit]:
    doc = template.doc
    template_meta = {"metadata": dig(doc.obj, "spec", "template", "metadata")}
    declared, _bad = supplied_at_runtime(doc.obj, template_meta)
    for ref in references(template):
        if ref.kind != kind:
            continue
        target = docs.get(kind, docs.ns(doc), ref.name)
        if target is None:
            if (kind, ref.name) in declared:
                continue
            yield Hit(
                doc,
                f"{ref.via} uses {kind} {ref.name}, which is not in the set "
                "and not declared supplied at run time",
                f"add {kind} {ref.name}, or annotate this {doc.kind} "
                f'{SUPPLIED_AT_RUNTIME}: "{kind}/{ref.name}" if the toolkit creates it at run time',
            )
        elif ref.key:
            keys = set(as_dict(target.obj.get("data"))) | set(as_dict(target.obj.get("stringData")))
            keys |= set(as_dict(target.obj.get("binaryData")))
            if ref.key not in keys:
                yield Hit(
                    doc,
                    f"{ref.via} uses key {ref.key} of {kind} {ref.name}, which has no such key "
                    f"(keys: {', '.join(sorted(keys)) or 'none'})",
                    "fix the key name or add the key",
                )


@rule("SECRET-REF", Severity.ERROR, "Secrets a pod uses are in the set or declared supplied at run time")
def secret_refs(docs: DocSet) -> Iterator[Hit]:
    for template in docs.templates:
        yield from _missing(docs, template, "Secret")


@rule(
    "CONFIGMAP-REF", Severity.ERROR, "ConfigMaps a pod uses are in the set or declared supplied at run time"
)
def config_map_refs(docs: DocSet) -> Iterator[Hit]:
    for template in docs.templates:
        yield from _missing(docs, template, "ConfigMap")


@rule("SUPPLIED-DECL", Severity.ERROR, f"{SUPPLIED_AT_RUNTIME} lists Kind/name entries")
def supplied_declarations(docs: DocSet) -> Iterator[Hit]:
    for doc in docs.docs:
        _declared, bad = supplied_at_runtime(
            doc.obj, {"metadata": dig(doc.obj, "spec", "template", "metadata")}
        )
        for entry in bad:
            yield Hit(
                doc,
                f"{SUPPLIED_AT_RUNTIME} entry {entry!r} is not Kind/name",
                'write a comma-separated list such as "Secret/web-tls, Secret/mysql-credentials"',
            )
