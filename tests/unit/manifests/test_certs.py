"""The TLS lab's run-time certificate (TLS-2, TLS-3): made or the user's, validated, stored 0600, reused."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from infra import certs
from infra.certs import (
    CertPair,
    ensure_certificate,
    generate_self_signed,
    load_pair,
    tls_files,
    validate_pair,
)
from infra.errors import InfraError

HOST = "127-0-0-1.nip.io"
AWS_HOST = "3-120-45-67.nip.io"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_pair(folder: Path, pair: CertPair, name: str = "user") -> tuple[Path, Path]:
    crt, key = folder / f"{name}.crt", folder / f"{name}.key"
    crt.write_bytes(pair.cert_pem)
    key.write_bytes(pair.key_pem)
    return crt, key


def signed(sans: list[str], key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None) -> CertPair:
    """A self-signed certificate with exactly these DNS SANs (the generator always adds *.nip.io)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, sans[0])])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in sans]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return CertPair(cert.public_bytes(serialization.Encoding.PEM), key_pem)


@pytest.fixture(scope="module")
def pair() -> CertPair:
    return generate_self_signed(HOST)


# ---- generation ----------------------------------------------------------------------------------------


def test_tls_3_self_signed_sans_cover_the_host_and_every_nip_io_name(pair: CertPair) -> None:
    assert pair.sans == [HOST, "*.nip.io"]
    assert certs.covers(pair.sans, HOST)
    assert certs.covers(pair.sans, AWS_HOST)  # the AWS ingress host, known only at run time


def test_self_signed_validity_period(pair: CertPair) -> None:
    now = dt.datetime.now(dt.UTC)
    cert = pair.certificate
    assert cert.not_valid_before_utc <= now < cert.not_valid_after_utc
    length = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert length == dt.timedelta(days=certs.DEFAULT_VALIDITY_DAYS)


@pytest.mark.parametrize("days", [1, 30, 397])
def test_validity_is_chosen_in_days(days: int) -> None:
    cert = generate_self_signed(HOST, days=days).certificate
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=days)


@pytest.mark.parametrize("days", [0, -1, 398])
def test_validity_out_of_range_is_refused(days: int) -> None:
    with pytest.raises(InfraError, match="out of range"):
        generate_self_signed(HOST, days=days)


def test_key_matches_the_certificate_and_is_a_server_certificate(pair: CertPair) -> None:
    key = serialization.load_pem_private_key(pair.key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    assert key.public_key().public_bytes(der, public) == pair.certificate.public_key().public_bytes(
        der, public
    )
    usage = pair.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in usage
    assert validate_pair(pair, HOST) is pair


def test_self_signed_means_subject_is_issuer(pair: CertPair) -> None:
    assert pair.certificate.subject == pair.certificate.issuer
    pair.certificate.verify_directly_issued_by(pair.certificate)


@pytest.mark.parametrize(
    ("names", "host", "covered"),
    [
        (["*.nip.io"], "127-0-0-1.nip.io", True),
        (["*.nip.io"], "a.b.nip.io", False),  # a wildcard covers exactly one label
        (["*.nip.io"], "nip.io", False),
        (["web.example.com"], "WEB.example.com", True),
        (["web.example.com"], "api.example.com", False),
        ([], "127-0-0-1.nip.io", False),
    ],
)
def test_san_matching(names: list[str], host: str, covered: bool) -> None:
    assert certs.covers(names, host) is covered


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("127.0.0.1", "is an IP address"),
        ("https://127-0-0-1.nip.io/", "not a host name"),
        ("", "not a host name"),
        ("localhost", "not a host name"),
        ("bad_label.nip.io", "not a host name"),
        ("-dash.nip.io", "not a host name"),
    ],
)
def test_bad_host_is_a_clear_error(host: str, message: str) -> None:
    with pytest.raises(InfraError, match=message) as caught:
        generate_self_signed(host)
    assert caught.value.hint


# ---- storage and reuse ---------------------------------------------------------------------------------


def test_tls_2_generated_pair_is_stored_0600_outside_git(isolated_state: Path) -> None:
    pair = ensure_certificate("local", HOST)
    crt, key = tls_files("local")
    assert crt.parent == isolated_state / "local" / "secrets"
    assert (crt.read_bytes(), key.read_bytes()) == (pair.cert_pem, pair.key_pem)
    assert mode(crt) == mode(key) == 0o600


def test_stored_pair_is_reused_never_rotated() -> None:
    first = ensure_certificate("local", HOST)
    second = ensure_certificate("local", HOST)
    assert second == first


def test_reused_files_are_tightened_back_to_0600() -> None:
    ensure_certificate("local", HOST)
    key = tls_files("local")[1]
    key.chmod(0o644)
    ensure_certificate("local", HOST)
    assert mode(key) == 0o600


def test_environments_keep_separate_pairs() -> None:
    assert ensure_certificate("local", HOST) != ensure_certificate("aws", AWS_HOST)


def test_stored_pair_for_another_host_is_an_error_not_a_silent_rotation() -> None:
    stored = ensure_certificate("aws", "ec2-host.example.com")
    with pytest.raises(InfraError, match="does not cover") as caught:
        ensure_certificate("aws", "other.example.com")
    assert "delete the stored" in caught.value.hint
    assert tls_files("aws")[0].read_bytes() == stored.cert_pem  # nothing changed


def test_stored_expired_pair_is_an_error(tmp_path: Path) -> None:
    old = generate_self_signed(HOST, days=1, now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    crt, key = tls_files("local")
    crt.parent.mkdir(parents=True)
    crt.write_bytes(old.cert_pem)
    key.write_bytes(old.key_pem)
    with pytest.raises(InfraError, match="expired on 2020-01-0"):
        ensure_certificate("local", HOST)


def test_half_a_stored_pair_is_an_error() -> None:
    ensure_certificate("local", HOST)
    tls_files("local")[1].unlink()
    with pytest.raises(InfraError, match="is missing"):
        ensure_certificate("local", HOST)


# ---- the user's own certificate ------------------------------------------------------------------------


def test_users_pair_is_validated_stored_and_then_reused(tmp_path: Path) -> None:
    own = generate_self_signed(HOST, days=30)
    crt_file, key_file = write_pair(tmp_path, own)
    assert ensure_certificate("local", HOST, crt_file, key_file) == own
    assert mode(tls_files("local")[1]) == 0o600
    assert ensure_certificate("local", HOST) == own  # later calls without the files: the same pair


def test_users_rsa_pair_with_a_chain_is_accepted(tmp_path: Path) -> None:
    own = signed([HOST], rsa.generate_private_key(public_exponent=65537, key_size=2048))
    chain = own.cert_pem + generate_self_signed("ca.example.com").cert_pem  # leaf first, then the chain
    loaded = load_pair(*write_pair(tmp_path, CertPair(chain, own.key_pem)), HOST)
    assert loaded.cert_pem == chain
    assert loaded.certificate.public_bytes(serialization.Encoding.PEM) == own.cert_pem


def test_cert_and_key_that_do_not_match_are_refused(tmp_path: Path) -> None:
    one, other = generate_self_signed(HOST), generate_self_signed(HOST)
    crt_file, key_file = write_pair(tmp_path, CertPair(one.cert_pem, other.key_pem))
    with pytest.raises(InfraError, match="does not match the certificate") as caught:
        ensure_certificate("local", HOST, crt_file, key_file)
    assert "openssl" in caught.value.hint
    assert not tls_files("local")[0].exists()  # bad input changes nothing


def test_expired_certificate_is_refused(tmp_path: Path) -> None:
    old = generate_self_signed(HOST, days=30, now=dt.datetime(2021, 6, 1, tzinfo=dt.UTC))
    crt_file, key_file = write_pair(tmp_path, old)
    with pytest.raises(InfraError, match="expired on 2021-06-30") as caught:
        ensure_certificate("local", HOST, crt_file, key_file)
    assert "renew" in caught.value.hint
    assert not tls_files("local")[0].exists()


def test_not_yet_valid_certificate_is_refused(tmp_path: Path) -> None:
    future = generate_self_signed(HOST, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=10))
    with pytest.raises(InfraError, match="not valid before"):
        load_pair(*write_pair(tmp_path, future), HOST)


def test_certificate_that_does_not_cover_the_host_is_refused(tmp_path: Path) -> None:
    other = signed(["web.example.com", "*.example.com"])
    crt_file, key_file = write_pair(tmp_path, other)
    with pytest.raises(InfraError, match=r"does not cover 127-0-0-1\.nip\.io") as caught:
        ensure_certificate("local", HOST, crt_file, key_file)
    assert "web.example.com" in caught.value.message  # says what the certificate does cover
    assert not tls_files("local")[0].exists()


def test_encrypted_key_is_refused_with_a_fix(tmp_path: Path, pair: CertPair) -> None:
    key = serialization.load_pem_private_key(pair.key_pem, password=None)
    locked = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )
    crt_file, key_file = write_pair(tmp_path, CertPair(pair.cert_pem, locked))
    with pytest.raises(InfraError, match="encrypted") as caught:
        load_pair(crt_file, key_file, HOST)
    assert "openssl pkey" in caught.value.hint


@pytest.mark.parametrize("which", ["cert", "key"])
def test_garbage_files_are_refused(tmp_path: Path, pair: CertPair, which: str) -> None:
    junk = b"not PEM at all\n"
    bad = CertPair(junk, pair.key_pem) if which == "cert" else CertPair(pair.cert_pem, junk)
    with pytest.raises(InfraError, match="no PEM"):
        load_pair(*write_pair(tmp_path, bad), HOST)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InfraError, match="does not exist"):
        load_pair(tmp_path / "nope.crt", tmp_path / "nope.key", HOST)


def test_one_file_without_the_other_is_refused(tmp_path: Path, pair: CertPair) -> None:
    crt_file, _ = write_pair(tmp_path, pair)
    with pytest.raises(InfraError, match="both"):
        ensure_certificate("local", HOST, crt_file, None)
