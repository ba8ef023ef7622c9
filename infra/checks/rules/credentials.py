"""No credentials in git (TLS-2, SQL-5): key material, passwords, empty-password switches.

Heuristics, tuned to what the labs got wrong: a committed TLS key, ``MYSQL_ALLOW_EMPTY_PASSWORD``, a root
password written into the manifest. Credentials belong in Secrets created at run time (``infra/secrets.py``,
``infra/certs.py``) and declared with ``infra.lab/supplied-at-runtime``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Any

from infra.checks.model import DocSet, Hit, Severity, as_dict, as_list
from infra.checks.registry import rule
from infra.render import Document

PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
KUBECONFIG_SECRET = re.compile(r"(?m)^\s*(client-key-data|token|password):\s*['\"]?(?!\$)[^\s'\"]{8,}")
AWS_ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")
SECRET_WORDS = {"PASSWORD", "PASSWD", "PASS", "PWD", "SECRET", "TOKEN", "APIKEY", "CREDENTIALS", "PRIVATEKEY"}
NOT_A_VALUE = ("_FILE", "_PATH", "_DIR", "_NAME", "_USER", "_USERNAME", "_LENGTH", "_TTL")
SENSITIVE_KEYS = {"tls.key", "ssh-privatekey", ".dockerconfigjson", ".dockercfg", "client-key-data"}
EMPTY_PASSWORD_ENV = re.compile(r"ALLOW_EMPTY(_ROOT)?_PASSWORD$")
PASSWORD_FLAG = re.compile(r"(?i)--?(password|passwd)[= ](?!\$)\S+")
# A value that only names another variable: $(VAR) (Kubernetes env expansion), ${VAR} or $VAR (templating),
# or an environment variable's name (MYSQL_ROOT_PASSWORD): it points at a credential, it is not one.
NOT_A_CREDENTIAL = re.compile(
    r"\$\([A-Za-z_][A-Za-z0-9_.-]*\)|\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Z_][A-Z0-9_]*|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+"
)
# base64 of "-----BEGIN": PEM (a private key, or a certificate) encoded once more, as in Secret data
BASE64_PEM = re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/=\s]*")

ADVICE = (
    "never commit credentials: create the Secret at run time (infra/secrets.py, infra/certs.py) and "
    'declare it with infra.lab/supplied-at-runtime: "Secret/<name>"'
)


def is_secret_name(name: str) -> bool:
    """``MYSQL_ROOT_PASSWORD``, ``api-key``, ``db.password``: True; ``MYSQL_ROOT_PASSWORD_FILE``: False."""
    upper = name.upper().replace("-", "_").replace(".", "_")
    if upper.endswith(NOT_A_VALUE):
        return False
    words = set(upper.split("_"))
    return bool(words & SECRET_WORDS) or upper.replace("_", "") in SECRET_WORDS or upper.endswith("PASSWORD")


def _decoded(value: Any) -> str:
    """Secret ``data`` decoded; line-wrapped base64 is valid there (the API server ignores the newlines)."""
    try:
        return base64.b64decode("".join(str(value).split()), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return str(value)


def is_reference(value: str) -> bool:
    """``$(MYSQL_ROOT_PASSWORD)``, ``${DB_PASSWORD}``, ``MYSQL_ROOT_PASSWORD``: pointers, not credentials."""
    return NOT_A_CREDENTIAL.fullmatch(value.strip()) is not None


def has_key_material(value: str) -> bool:
    """PEM private key material, as text or base64-encoded (ConfigMap ``binaryData``, annotations)."""
    if PRIVATE_KEY.search(value):
        return True
    for match in BASE64_PEM.finditer(value):
        # the run may be line-wrapped base64, or one token followed by other words ("LS0t... token: x")
        for candidate in (match.group(), match.group().split()[0]):
            if PRIVATE_KEY.search(_decoded(candidate)):
                return True
    return False


def _strings(value: Any, path: str = "", key: str = "") -> Iterator[tuple[str, str, str]]:
    """``(path, key, value)`` of every string; ``key`` is the last mapping key (``tls.key`` keeps its dot)."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _strings(item, f"{path}.{name}" if path else str(name), str(name))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]", key)
    elif isinstance(value, str):
        yield path, key, value


def _secret_data(doc: Document) -> Iterator[Hit]:
    values = {k: _decoded(v) for k, v in as_dict(doc.obj.get("data")).items()}
    values.update({k: str(v) for k, v in as_dict(doc.obj.get("stringData")).items()})
    for key, value in values.items():
        if not value.strip():
            continue
        if has_key_material(value):
            yield Hit(doc, f"Secret key {key} holds private key material", ADVICE)
        elif key in SENSITIVE_KEYS or (is_secret_name(key) and not is_reference(value)):
            yield Hit(doc, f"Secret key {key} holds a credential value in git", ADVICE)


def _anywhere(doc: Document) -> Iterator[Hit]:
    """Key material and tokens in any other object (ConfigMap data, annotations, args)."""
    for path, key, value in _strings(doc.obj):
        if has_key_material(value):
            yield Hit(doc, f"{path} holds private key material", ADVICE)
        elif match := KUBECONFIG_SECRET.search(value):
            yield Hit(doc, f"{path} holds a kubeconfig {match.group(1)}", ADVICE)
        elif AWS_ACCESS_KEY.search(value):
            yield Hit(doc, f"{path} holds an AWS access key ID", ADVICE)
        elif key in SENSITIVE_KEYS and value.strip():
            yield Hit(doc, f"{path} holds a credential value", ADVICE)


def _containers(docs: DocSet, doc: Document) -> Iterator[Hit]:
    template = docs.template_of(doc)
    if template is None:
        return
    for _field, container in template.containers():
        cname = container.get("name")
        for env in as_list(container.get("env")):
            if not isinstance(env, dict) or not env.get("name"):
                continue
            name, value = str(env["name"]), env.get("value")
            if EMPTY_PASSWORD_ENV.search(name.upper()):
                if str(value).lower() not in ("none", "", "no", "false", "0"):
                    yield Hit(
                        doc,
                        f"container {cname} sets {name}={value}: the database accepts an empty root password",
                        "remove it; take the root password from a Secret (secretKeyRef) created at run time",
                    )
            elif name.upper() == "POSTGRES_HOST_AUTH_METHOD" and str(value) == "trust":
                yield Hit(doc, f"container {cname} sets {name}=trust: no password at all", "remove it")
            elif is_secret_name(name) and value not in (None, "") and not is_reference(str(value)):
                yield Hit(
                    doc,
                    f"container {cname} env {name} has a literal value: a credential in git",
                    "use valueFrom.secretKeyRef to a Secret created at run time",
                )
        for arg in [*as_list(container.get("command")), *as_list(container.get("args"))]:
            if isinstance(arg, str) and PASSWORD_FLAG.search(arg):
                yield Hit(
                    doc,
                    f"container {cname} passes a literal password on its command line",
                    "pass it through an environment variable from a Secret ($(VAR) or $VAR)",
                )


@rule(
    "CRED-IN-GIT", Severity.ERROR, "no credentials in git: keys, passwords, tokens, empty-password switches"
)
def credentials(docs: DocSet) -> Iterator[Hit]:
    for doc in docs.docs:
        if doc.kind == "Secret":
            yield from _secret_data(doc)
        else:
            yield from _anywhere(doc)
        yield from _containers(docs, doc)
