"""Typed stack configuration per environment (shared by the Pulumi programs and `infra plan`).

Each environment module defines a pydantic model of its ``lab:`` keys; this module reads them from a Pulumi
stack file offline and turns validation errors into one :class:`~infra.errors.ConfigError` that names every
bad key, so one fix-and-retry suffices.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel

from infra.errors import ConfigError

NAMESPACE = "lab"
Model = TypeVar("Model", bound=BaseModel)


def read_stack_values(path: Path, *, missing_hint: str, fix_hint: str) -> dict[str, Any]:
    """The ``lab:`` keys of a Pulumi stack file (``config: {lab:workers: 2}``), without the namespace."""
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"stack config {path} does not exist", missing_hint) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"stack config {path} is not valid YAML: {exc}", fix_hint) from None
    raw = (document.get("config") or {}) if isinstance(document, dict) else None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: `config` must be a mapping of `{NAMESPACE}:<key>: value`", fix_hint)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        namespace, _, name = str(key).partition(":")
        if namespace == NAMESPACE and name:
            values[name] = value
    return values


def validate(
    model: type[Model],
    values: Mapping[str, Any],
    *,
    label: str,
    fix_hint: str,
    required_notes: Mapping[str, str] | None = None,
) -> Model:
    """Un-namespaced values (``{"workers": "2"}``) -> ``model``, or one ConfigError naming every bad key.

    ``label`` names the stack in messages ("local", "AWS"); ``required_notes`` explains a required key.
    """
    known = {to_camel(name) for name in model.model_fields}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"unknown {label} stack config key(s): {', '.join(f'{NAMESPACE}:{k}' for k in unknown)}",
            f"known keys: {', '.join(sorted(known))}",
        )
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        problems = describe(exc, required_notes or {})
        raise ConfigError(f"invalid {label} stack config: {problems}", fix_hint) from None


def describe(exc: ValidationError, required_notes: Mapping[str, str]) -> str:
    """``lab:workers must be at least 1 (got 0); lab:sshCidr is required (...)``."""
    lines = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error["loc"])
        ctx = error.get("ctx") or {}
        if error["type"] == "value_error":  # our own validators: the message already names the value
            message = error["msg"].removeprefix("Value error, ")
        elif error["type"] == "missing":
            note = required_notes.get(loc)
            message = f"is required ({note})" if note else "is required"
        elif error["type"] == "greater_than_equal":
            message = f"must be at least {ctx['ge']} (got {error['input']!r})"
        elif error["type"] == "less_than_equal":
            message = f"must be at most {ctx['le']} (got {error['input']!r})"
        else:
            message = f"{error['msg']} (got {error['input']!r})"
        lines.append(f"{NAMESPACE}:{loc} {message}" if loc else message)
    return "; ".join(lines)
