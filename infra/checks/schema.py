"""Strict schema validation against the target Kubernetes version (kubernetes-validate's bundled schemas).

``kubernetes_validate.validate()`` re-reads and re-parses the 1.5 MB ``_definitions.json`` of the version on
every call (about 8 ms per object). Here the definitions registry and one validator per kind are built once
per process (:func:`functools.cache`), from the same bundled files, so a whole environment validates in
milliseconds after the first object.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema
from kubernetes_validate import utils as kv
from packaging.version import InvalidVersion, Version
from referencing import Registry, Resource

from infra.errors import InfraError


def supported_versions() -> list[str]:
    """Kubernetes minors with bundled schemas (``["1.25", ..., "1.37"]``)."""
    return sorted({kv.major_minor(v) for v in kv.all_versions()}, key=Version)


_KUBE_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.\d+)?")


def major_minor(kube_version: str) -> str:
    """``1.35``, ``v1.35`` or ``1.35.2`` -> ``1.35``; anything else (``1.35x``, ``latest``): a usage error."""
    match = _KUBE_VERSION.fullmatch(str(kube_version).strip())
    if not match:
        raise InfraError(
            f"'{kube_version}' is not a Kubernetes version", "pass --kube-version as MAJOR.MINOR, e.g. 1.35"
        )
    return f"{int(match[1])}.{int(match[2])}"


@functools.cache
def schema_dir(kube_version: str) -> str:
    """The bundled strict schema folder for a target version (``1.35`` -> ``v1.35.0-local-strict``)."""
    try:
        target = Version(major_minor(kube_version))
    except InvalidVersion:  # pragma: no cover - major_minor only lets digits through
        raise InfraError(f"'{kube_version}' is not a Kubernetes version", "pass MAJOR.MINOR") from None
    available = [v for v in kv.all_versions() if Version(kv.major_minor(v)) == target]
    if not available:
        known = supported_versions()
        raise InfraError(
            f"no schemas for Kubernetes {kube_version} "
            f"(kubernetes-validate bundles {known[0]} to {known[-1]})",
            "pass a supported --kube-version",
        )
    return f"v{available[-1]}-local-strict"


def has_schema(kube_version: str, api_version: str, kind: str) -> bool:
    return _validator(schema_dir(kube_version), api_version, kind) is not None


def validate(obj: dict[str, Any], kube_version: str) -> list[str] | None:
    """Schema errors (``"spec: Additional properties are not allowed ..."``), or None if no schema exists."""
    validator = _validator(schema_dir(kube_version), str(obj.get("apiVersion")), str(obj.get("kind")))
    if validator is None:
        return None
    errors = sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{_path(error)}: {error.message}" for error in errors]


def _path(error: jsonschema.ValidationError) -> str:
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(document)"


def _schema_file(api_version: str, kind: str) -> str | None:
    """kubernetes-validate's file naming: ``networking.k8s.io/v1`` Ingress -> ``ingress-networking-v1.json``.

    Only built-in groups (core, dot-less names, ``*.k8s.io``) have schemas; a custom group such as
    ``apps.example.com`` must not be mistaken for ``apps``.
    """
    if not re.fullmatch(r"[A-Za-z0-9]+", kind) or not re.fullmatch(r"[a-z0-9.-]+/[a-z0-9]+|v1", api_version):
        return None
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    if "." in group and not group.endswith(".k8s.io"):
        return None
    flat = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{flat}.json"


@functools.cache
def _registry(folder: str) -> Registry:
    definitions = kv.schema_contents(f"kubernetes-json-schema/{folder}/_definitions.json", folder)
    return Resource.from_contents(definitions) @ Registry()


@functools.cache
def _validator(folder: str, api_version: str, kind: str) -> jsonschema.Draft202012Validator | None:
    filename = _schema_file(api_version, kind)
    if filename is None:
        return None
    try:
        schema = kv.schema_contents(f"kubernetes-json-schema/{folder}/{filename}", folder)
    except FileNotFoundError:
        return None
    registry = Resource.from_contents(schema) @ _registry(folder)
    return jsonschema.Draft202012Validator(schema, registry=registry)
