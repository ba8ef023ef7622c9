"""Field-level views of Kubernetes objects: what differs between two, and who set what (managedFields).

Server-side apply records, per field manager, the set of fields it owns (``metadata.managedFields``,
``fieldsType: FieldsV1``): ``f:<name>`` is a field, ``k:{"name":"x"}`` a list item by its key, ``v:<json>`` a
set item by value, ``i:<n>`` a list item by position and ``.`` the item itself. Drift reads those sets to tell
a hand edit (``kubectl edit``, ``label``, ``set env``...) from a controller's work, and reconcile uses them to
take back a field somebody added by hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

# metadata the API server maintains: never drift, never compared.
VOLATILE_METADATA = frozenset(
    {"resourceVersion", "generation", "managedFields", "creationTimestamp", "uid", "selfLink"}
)
# Managers that are people at a terminal: kubectl's own manager names ("kubectl-edit", "kubectl-label",
# "kubectl-annotate", "kubectl-patch", "kubectl-set", "kubectl-client-side-apply", "kubectl" for a plain
# server-side apply, ...). Controllers and the toolkit's own manager are never "by hand".
HAND_PREFIX = "kubectl"


def comparable(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object without status and server-maintained metadata: what git and a person decide."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in VOLATILE_METADATA}
    out["metadata"] = meta
    return out


def _label(item: Any, index: int) -> str:
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        return f"[name={item['name']}]"
    return f"[{index}]"


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    """A list of objects with unique names, by name (containers, env, ports...); else None."""
    if not items or not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        return None
    keyed = {i["name"]: i for i in items}
    return keyed if len(keyed) == len(items) else None


def changed_paths(old: Any, new: Any, path: str = "") -> Iterator[str]:
    """Paths (``spec.template.spec.containers[name=web].image``) whose values differ between two objects."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                yield sub
            else:
                yield from changed_paths(old[key], new[key], sub)
        return
    if isinstance(old, list) and isinstance(new, list):
        old_keyed, new_keyed = _keyed(old), _keyed(new)
        if old_keyed is not None and new_keyed is not None:
            for name in sorted(set(old_keyed) | set(new_keyed)):
                sub = f"{path}[name={name}]"
                if name not in old_keyed or name not in new_keyed:
                    yield sub
                else:
                    yield from changed_paths(old_keyed[name], new_keyed[name], sub)
            return
        if len(old) != len(new):
            yield path
            return
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from changed_paths(a, b, f"{path}{_label(b, index)}")
        return
    if old != new:
        yield path


def field_paths(fields: Mapping[str, Any], path: str = "") -> Iterator[str]:
    """FieldsV1 leaf paths: ``{"f:metadata": {"f:labels": {"f:x": {}}}}`` -> ``metadata.labels.x``"""
    for key, sub in fields.items():
        if key == ".":
            continue
        if key.startswith("f:"):
            here = f"{path}.{key[2:]}" if path else key[2:]
        elif key.startswith("k:"):
            try:
                item_key = json.loads(key[2:])
            except ValueError:
                item_key = key[2:]
            if isinstance(item_key, dict):
                label = ",".join(f"{k}={v}" for k, v in item_key.items())
            else:
                label = str(item_key)
            here = f"{path}[{label}]"
        elif key.startswith("v:"):
            here = f"{path}[={key[2:]}]"
        elif key.startswith("i:"):
            here = f"{path}[{key[2:]}]"
        else:
            here = f"{path}.{key}"
        if isinstance(sub, Mapping) and "." not in sub and sub:
            yield from field_paths(sub, here)
        else:
            yield here


def subtract(fields: Mapping[str, Any], owned: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a FieldsV1 set that ``owned`` does not hold (a field both own is not "added by hand")."""
    out: dict[str, Any] = {}
    for key, sub in fields.items():
        if key not in owned:
            out[key] = sub
            continue
        other = owned[key]
        if not sub or not other:  # a leaf owned by both
            continue
        rest = subtract(sub, other)
        if rest and set(rest) != {"."}:
            out[key] = rest
    return out


def removal_patch(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A strategic merge patch that deletes exactly the fields of a FieldsV1 set.

    A field set whole (a leaf, or a map/list the set created: ``.``) becomes ``null``; a list item by key
    becomes ``{key..., "$patch": "delete"}`` or, when only some of its fields are in the set, the key with
    those fields' removals. Set items (``v:``) and positions (``i:``) have no safe strategic form: skipped.
    """
    patch: dict[str, Any] = {}
    for key, sub in fields.items():
        if not key.startswith("f:"):
            continue
        name = key[2:]
        if not sub or "." in sub:
            patch[name] = None
            continue
        items = [k for k in sub if k.startswith("k:")]
        if items:
            entries = []
            for item in items:
                try:
                    item_key = json.loads(item[2:])
                except ValueError:
                    continue
                if not isinstance(item_key, dict):
                    continue
                inner = sub[item]
                if not inner or "." in inner:
                    entries.append({**item_key, "$patch": "delete"})
                else:
                    entries.append({**item_key, **removal_patch(inner)})
            if entries:
                patch[name] = entries
        else:
            nested = removal_patch(sub)
            if nested:
                patch[name] = nested
    return patch


def hand_entries(obj: Mapping[str, Any], own_manager: str) -> list[dict[str, Any]]:
    """The managedFields entries of people (kubectl's managers), not of controllers, subresources or us."""
    entries = []
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        manager = str(entry.get("manager") or "")
        if manager == own_manager or not manager.startswith(HAND_PREFIX):
            continue
        if entry.get("subresource"):  # status, scale: a controller's or an autoscaler's business
            continue
        if entry.get("fieldsType") == "FieldsV1" and isinstance(entry.get("fieldsV1"), dict):
            entries.append(entry)
    return entries


def owned_by(obj: Mapping[str, Any], manager: str) -> dict[str, Any]:
    """The FieldsV1 set ``manager`` holds on ``obj`` (its Apply entries, merged)."""
    owned: dict[str, Any] = {}
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and isinstance(entry.get("fieldsV1"), dict):
            owned = merge(owned, entry["fieldsV1"])
    return owned


def merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge of two mappings (FieldsV1 sets, patches): ``b`` wins where both hold a non-mapping."""
    out = dict(a)
    for key, value in b.items():
        both = isinstance(out.get(key), Mapping) and isinstance(value, Mapping)
        out[key] = merge(out[key], value) if both else value
    return out
