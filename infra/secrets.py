"""The Secrets the labs reference but git never holds, built from run-time state under ``.infra/<env>/``.

* ``Secret/web-tls`` in ``lab-tls`` (``kubernetes.io/tls``): the TLS lab's certificate (:mod:`infra.certs`).
* ``Secret/mysql-credentials`` in ``lab-mysql`` (Opaque, key ``root-password``): MySQL's root password,
  random, made once.
* ``Secret/ctl-secret`` in ``lab-ctl`` (Opaque, key ``motto``): the controller lab's demo value (CTL-8), no
  credential: it is made here only because no Secret object lives in git.

The manifests declare them with ``infra.lab/supplied-at-runtime``; reconcile creates them when missing.
Values are persisted 0600 under ``.infra/<env>/secrets/`` and reused on every later call, so a second call
returns identical objects: MySQL keeps the password it was initialised with, and the served certificate
does not change under a running lab.
"""

from __future__ import annotations

import base64
import re
import secrets
from pathlib import Path
from typing import Any

from infra.certs import CertPair, ensure_certificate
from infra.environments import Environment
from infra.errors import InfraError
from infra.ownership import OWNERSHIP_LABELS
from infra.paths import write_private
from infra.state import EnvState

TLS_NAMESPACE, TLS_SECRET = "lab-tls", "web-tls"
MYSQL_NAMESPACE, MYSQL_SECRET, MYSQL_PASSWORD_KEY = "lab-mysql", "mysql-credentials", "root-password"
MYSQL_PASSWORD_FILE = "mysql-root-password"  # noqa: S105 - a file name, not a password
CTL_NAMESPACE, CTL_SECRET, CTL_KEY = "lab-ctl", "ctl-secret", "motto"
CTL_MOTTO = "hello from a Secret made at run time"

# token_urlsafe's alphabet: safe inside the single-quoted SQL string the MySQL replicas build from it.
_PASSWORD = re.compile(r"[A-Za-z0-9_-]{16,128}")


def runtime_secrets(
    env: Environment | str,
    ingress_host: str,
    cert_file: Path | str | None = None,
    key_file: Path | str | None = None,
) -> list[dict[str, Any]]:
    """``[Secret web-tls, Secret mysql-credentials, Secret ctl-secret]`` for ``env``, made or reused from
    ``.infra/<env>/``.

    ``cert_file``/``key_file``: the user's own certificate for ``ingress_host`` instead of a self-signed
    one (validated, then stored as the environment's pair).
    """
    env = EnvState.of(env).env  # an unknown name fails here, before any file is made
    pair = ensure_certificate(env, ingress_host, cert_file, key_file)
    password = mysql_root_password(env)
    return [tls_secret(pair), mysql_secret(password), ctl_secret()]


def tls_secret(pair: CertPair) -> dict[str, Any]:
    return _secret(
        TLS_NAMESPACE, TLS_SECRET, "kubernetes.io/tls", {"tls.crt": pair.cert_pem, "tls.key": pair.key_pem}
    )


def mysql_secret(password: str) -> dict[str, Any]:
    return _secret(MYSQL_NAMESPACE, MYSQL_SECRET, "Opaque", {MYSQL_PASSWORD_KEY: password.encode()})


def ctl_secret() -> dict[str, Any]:
    """The controller lab's Secret: a fixed demo sentence the probe reads back as env and as a file."""
    return _secret(CTL_NAMESPACE, CTL_SECRET, "Opaque", {CTL_KEY: CTL_MOTTO.encode()})


def password_file(env: Environment | str) -> Path:
    return EnvState.of(env).secrets / MYSQL_PASSWORD_FILE


def mysql_root_password(env: Environment | str) -> str:
    """The stored root password, or a new random one (256 bits) stored 0600. Never empty."""
    path = password_file(env)
    if not path.exists():
        password = secrets.token_urlsafe(32)
        write_private(path, password)  # no newline: `kubectl create secret --from-file` takes it as is
        return password
    try:
        password = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InfraError(f"cannot read the MySQL root password {path}: {exc}", "check the file") from None
    if not _PASSWORD.fullmatch(password):
        raise InfraError(
            f"the stored MySQL root password in {path} is empty or has characters outside [A-Za-z0-9_-]",
            "restore the file (MySQL keeps the password its data was initialised with); on a fresh lab, "
            "delete it to have a new one made",
        )
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return password


def _secret(namespace: str, name: str, kind: str, data: dict[str, bytes]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(OWNERSHIP_LABELS)},
        "type": kind,
        "data": {key: base64.b64encode(value).decode("ascii") for key, value in data.items()},
    }
