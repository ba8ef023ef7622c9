"""Typed stack configuration per environment (shared by the Pulumi programs and `infra plan`).

Each environment module defines a pydantic model of its ``lab:`` keys; this module reads them offline the way
the Pulumi CLI hands them to the program, and turns validation errors into one
:class:`~infra.errors.ConfigError` that names every bad key, so one fix-and-retry suffices.

Where the values live: the committed defaults are declared in the project file ``stacks/<env>/Pulumi.yaml``
(project-level config, ``config: {workers: {type: integer, default: 2}}``); the user's own values go to the
stack file ``stacks/<env>/Pulumi.<env>.yaml`` (``pulumi config set``), which is gitignored because Pulumi also
writes the passphrase's ``encryptionsalt`` into it. A stack value replaces the project's default, key by key,
as the CLI merges them; a missing stack file means the defaults only.
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


def read_config(project_file: Path, stack_file: Path, *, fix_hint: str) -> dict[str, Any]:
    """The ``lab:`` values the program sees: the project's declared defaults, the user's stack file on top."""
    return {
        **project_defaults(project_file, fix_hint=fix_hint),
        **read_stack_values(stack_file, fix_hint=fix_hint),
    }


def project_defaults(project_file: Path, *, fix_hint: str) -> dict[str, Any]:
    """The ``lab:`` defaults a project file declares, without the namespace, as the Pulumi CLI applies them.

    An entry is a plain value (``key: 3``) or a declaration: ``default`` (typed keys) or ``value`` (untyped,
    e.g. objects) is used when the stack does not set the key; a declaration without either is required and
    left to the model. Keys without ``:`` belong to the project's namespace (its ``name``); keys of other
    namespaces (``aws:region``) are not ours.
    """
    document = _load_yaml(project_file, fix_hint=fix_hint)
    if document is None:
        raise ConfigError(f"project file {project_file} does not exist", "restore it from git")
    project = str(document.get("name", "")) if isinstance(document, dict) else ""
    values: dict[str, Any] = {}
    for key, entry in _config_mapping(document, project_file, fix_hint).items():
        namespace, _, name = str(key).rpartition(":")
        if (namespace or project) != NAMESPACE or not name:
            continue
        if not isinstance(entry, dict):
            values[name] = entry
        elif entry.get("default") is not None:
            values[name] = entry["default"]
        elif entry.get("value") is not None:
            values[name] = entry["value"]
    return values


def read_stack_values(path: Path, *, fix_hint: str) -> dict[str, Any]:
    """The ``lab:`` keys of a user's stack file (``config: {lab:workers: 2}``), without the namespace.

    A missing file is no setting at all (a fresh checkout). Everything but ``config``'s ``lab:`` keys is
    ignored: ``encryptionsalt``, ``secretsprovider``, other namespaces such as ``aws:region``.
    """
    document = _load_yaml(path, fix_hint=fix_hint)
    if document is None:
        return {}
    values: dict[str, Any] = {}
    for key, value in _config_mapping(document, path, fix_hint).items():
        namespace, _, name = str(key).partition(":")
        if namespace == NAMESPACE and name:
            values[name] = value
    return values


def _load_yaml(path: Path, *, fix_hint: str) -> Any:
    """The parsed file, ``{}`` when empty, None when it does not exist."""
    try:
        return yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read ({exc.strerror})", fix_hint) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}", fix_hint) from None


def _config_mapping(document: Any, path: Path, fix_hint: str) -> dict[Any, Any]:
    raw = (document.get("config") or {}) if isinstance(document, dict) else None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: `config` must be a mapping of `{NAMESPACE}:<key>: value`", fix_hint)
    return raw


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
