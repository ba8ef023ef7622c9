"""The run-time Secrets (TLS-2, SQL-5): built from .infra/<env>/secrets, valid objects, identical on reuse."""

from __future__ import annotations

import base64
import stat

import kubernetes_validate
import pytest
from cryptography import x509

from infra.certs import generate_self_signed, tls_files
from infra.environments import ENVIRONMENTS
from infra.errors import InfraError
from infra.ownership import is_owned
from infra.secrets import password_file, runtime_secrets

HOST = "127-0-0-1.nip.io"


def by_name(objects: list[dict]) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects}


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_secrets_are_valid_owned_objects_where_the_manifests_expect_them(env: str) -> None:
    secrets = by_name(runtime_secrets(env, HOST))
    assert set(secrets) == {"web-tls", "mysql-credentials", "ctl-secret"}
    tls, mysql = secrets["web-tls"], secrets["mysql-credentials"]
    assert (tls["metadata"]["namespace"], tls["type"]) == ("lab-tls", "kubernetes.io/tls")
    assert (mysql["metadata"]["namespace"], mysql["type"]) == ("lab-mysql", "Opaque")
    assert set(tls["data"]) == {"tls.crt", "tls.key"}
    assert set(mysql["data"]) == {"root-password"}
    for secret in secrets.values():
        assert is_owned(secret)
        kubernetes_validate.validate(secret, f"{ENVIRONMENTS[env].kube_version}.0", strict=True)


def test_tls_secret_holds_the_stored_certificate_for_the_host() -> None:
    tls = by_name(runtime_secrets("local", HOST))["web-tls"]
    cert_pem = base64.b64decode(tls["data"]["tls.crt"])
    assert cert_pem == tls_files("local")[0].read_bytes()
    cert = x509.load_pem_x509_certificate(cert_pem)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [HOST, "*.nip.io"]


def test_sql_5_root_password_is_strong_random_and_stored_0600() -> None:
    mysql = by_name(runtime_secrets("local", HOST))["mysql-credentials"]
    password = base64.b64decode(mysql["data"]["root-password"]).decode()
    assert len(password) >= 32
    assert password_file("local").read_text() == password  # as is: usable with --from-file
    assert stat.S_IMODE(password_file("local").stat().st_mode) == 0o600
    other = base64.b64decode(
        by_name(runtime_secrets("aws", HOST))["mysql-credentials"]["data"]["root-password"]
    )
    assert other.decode() != password  # generated, not a constant


def test_second_call_returns_identical_secrets() -> None:
    assert runtime_secrets("local", HOST) == runtime_secrets("local", HOST)


def test_users_certificate_is_used_and_kept(tmp_path) -> None:
    own = generate_self_signed(HOST, days=10)
    (tmp_path / "c.pem").write_bytes(own.cert_pem)
    (tmp_path / "k.pem").write_bytes(own.key_pem)
    first = by_name(runtime_secrets("local", HOST, tmp_path / "c.pem", tmp_path / "k.pem"))["web-tls"]
    assert base64.b64decode(first["data"]["tls.key"]) == own.key_pem
    assert by_name(runtime_secrets("local", HOST))["web-tls"] == first


@pytest.mark.parametrize("content", ["", "\n", "has space", "quote'injection-attempt-xx"])
def test_bad_stored_password_is_an_error_never_an_empty_secret(content: str) -> None:
    password_file("local").parent.mkdir(parents=True)
    password_file("local").write_text(content)
    with pytest.raises(InfraError, match="stored MySQL root password") as caught:
        runtime_secrets("local", HOST)
    assert "restore" in caught.value.hint
    assert password_file("local").read_text() == content


def test_unknown_environment_is_refused_before_anything_is_written(isolated_state) -> None:
    with pytest.raises(InfraError, match="unknown environment"):
        runtime_secrets("moon", HOST)
    assert not isolated_state.exists()


def test_bad_host_writes_nothing(isolated_state) -> None:
    with pytest.raises(InfraError, match="IP address"):
        runtime_secrets("local", "127.0.0.1")
    assert not isolated_state.exists()
