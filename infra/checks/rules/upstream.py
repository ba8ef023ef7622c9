"""The API server's own validation, ported: its field errors, name and label syntax, the file it mirrors.

Rules that mirror Kubernetes' ``pkg/apis/<group>/validation/validation.go`` word their messages the way the
API server does (``spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas```), so a
user who searches for the message finds the same answers as for the server's rejection. The helpers here
format those messages as ``k8s.io/apimachinery/pkg/util/validation/field`` does (``Error.ErrorBody``): a
string value quoted, a number bare, anything else as JSON.

The syntax checks (DNS-1123 names, label keys and values, port names) are the regular expressions and texts
of ``k8s.io/apimachinery/pkg/util/validation`` and ``pkg/api/validate/content`` at the same version.
"""

from __future__ import annotations

import json
import re
from typing import Any

KUBE_VERSION = "v1.36"  # the Kubernetes release whose validation code these rules were read from


def source(group: str) -> str:
    """``apps`` -> ``mirrors pkg/apis/apps/validation/validation.go (Kubernetes v1.36)``, for --list-rules."""
    return f"mirrors pkg/apis/{group}/validation/validation.go (Kubernetes {KUBE_VERSION})"


def go_value(value: Any) -> str:
    """A bad value as ``field.Error`` prints it: ``"text"`` (Go %q), ``3``, ``true``, or JSON for the rest."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def invalid(path: str, value: Any, detail: str) -> str:
    return f"{path}: Invalid value: {go_value(value)}: {detail}"


def required(path: str, detail: str = "") -> str:
    return f"{path}: Required value{': ' + detail if detail else ''}"


def duplicate(path: str, value: Any) -> str:
    return f"{path}: Duplicate value: {go_value(value)}"


def not_found(path: str, value: Any) -> str:
    return f"{path}: Not found: {go_value(value)}"


def forbidden(path: str, detail: str) -> str:
    return f"{path}: Forbidden: {detail}"


def not_supported(path: str, value: Any, supported: list[str]) -> str:
    allowed = ", ".join(go_value(s) for s in supported)
    return f"{path}: Unsupported value: {go_value(value)}: supported values: {allowed}"


# --- k8s.io/apimachinery/pkg/util/validation ---------------------------------------------------------------

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
_DNS1123_LABEL = re.compile(DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN = re.compile(DNS1123_SUBDOMAIN_FMT)
DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = f"({LABEL_KEY_FMT})?"
_LABEL_KEY = re.compile(LABEL_KEY_FMT)
_LABEL_VALUE = re.compile(LABEL_VALUE_FMT)
LABEL_KEY_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_PORT_NAME_CHARSET = re.compile("[-a-z0-9]+")
_ONE_LETTER = re.compile(".*[a-z].*")


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """``RegexError``: the message, its examples and the regular expression, as the API server prints them."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    listed = " or ".join(f"'{e}'" for e in examples)
    return f"{msg} (e.g. {listed}, regex used for validation is '{fmt}')"


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def dns1123_label(value: str) -> list[str]:
    errors = [max_len_error(63)] if len(value) > 63 else []
    if not _DNS1123_LABEL.fullmatch(value):
        if _DNS1123_SUBDOMAIN.fullmatch(value):
            errors.append("must not contain dots")
        else:
            errors.append(regex_error(DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errors


def dns1123_subdomain(value: str) -> list[str]:
    errors = [max_len_error(253)] if len(value) > 253 else []
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        errors.append(regex_error(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errors


def label_key(value: str) -> list[str]:
    """``IsLabelKey`` (a qualified name): an optional DNS subdomain prefix and ``/``, a name of 63 at most."""
    errors: list[str] = []
    parts = value.split("/")
    if len(parts) > 2:
        return [
            "a valid label key "
            + regex_error(LABEL_KEY_MSG, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors.extend("prefix part " + msg for msg in dns1123_subdomain(prefix))
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part " + max_len_error(63))
    if not _LABEL_KEY.fullmatch(name):
        errors.append(
            "name part " + regex_error(LABEL_KEY_MSG, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
        )
    return errors


def label_value(value: str) -> list[str]:
    errors = [max_len_error(63)] if len(value) > 63 else []
    if not _LABEL_VALUE.fullmatch(value):
        errors.append(regex_error(LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


def port_name(value: str) -> list[str]:
    """``IsValidPortName``: an IANA service name (15 characters, a-z, 0-9 and single inner hyphens)."""
    errors = [max_len_error(15)] if len(value) > 15 else []
    if not _PORT_NAME_CHARSET.fullmatch(value):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _ONE_LETTER.fullmatch(value):
        errors.append("must contain at least one letter (a-z)")
    if "--" in value:
        errors.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        errors.append("must not begin or end with a hyphen")
    return errors


def port_number(value: int) -> list[str]:
    return [] if 1 <= value <= 65535 else ["must be between 1 and 65535, inclusive"]


def is_int(value: Any) -> bool:
    """An integer as JSON has it (``True`` is not one; the schema rule reports wrong types)."""
    return isinstance(value, int) and not isinstance(value, bool)


DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_LABEL = re.compile(DNS1035_LABEL_FMT)
DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character"
)


def dns1035_label(value: str) -> list[str]:
    errors = [max_len_error(63)] if len(value) > 63 else []
    if not _DNS1035_LABEL.fullmatch(value):
        errors.append(regex_error(DNS1035_LABEL_MSG, DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errors
