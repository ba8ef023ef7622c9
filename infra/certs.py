"""The TLS lab's certificate: self-signed by the toolkit, or the user's own, and never in git.

The Ingress of the TLS lab serves the ``kubernetes.io/tls`` Secret ``web-tls``. Its certificate must cover
the environment's ingress host (``127-0-0-1.nip.io`` on kind, ``<nlb-ip-with-dashes>.nip.io`` on AWS) and
``*.nip.io`` (the AWS Ingress rule is the wildcard, because the NLB's address is known only at run time).

The pair lives in ``.infra/<env>/secrets/tls.crt`` and ``tls.key`` (0600) and is reused on every later call:
a certificate is never rotated silently. When the stored one no longer fits (expired, or the ingress host
changed), the caller gets an :class:`~infra.errors.InfraError` saying which file to delete.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from infra.environments import Environment
from infra.errors import InfraError
from infra.paths import write_private
from infra.state import EnvState

WILDCARD_HOST = "*.nip.io"
DEFAULT_VALIDITY_DAYS = 90
MAX_VALIDITY_DAYS = 397  # the longest leaf validity browsers accept
CERT_FILE = "tls.crt"
KEY_FILE = "tls.key"

# Key types ingress-nginx (OpenSSL server certificates) serves.
SERVER_KEY_TYPES = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


@dataclass(frozen=True)
class CertPair:
    """A PEM certificate (leaf first, then any chain) and its PEM private key."""

    cert_pem: bytes
    key_pem: bytes

    @cached_property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificates(self.cert_pem)[0]

    @property
    def sans(self) -> list[str]:
        return dns_names(self.certificate)

    @property
    def not_after(self) -> dt.datetime:
        return self.certificate.not_valid_after_utc


def tls_files(env: Environment | str) -> tuple[Path, Path]:
    """Where an environment's certificate and key are kept (gitignored, 0600)."""
    folder = EnvState.of(env).secrets
    return folder / CERT_FILE, folder / KEY_FILE


def check_host(host: str) -> str:
    """A DNS name a certificate can be made for (lower-cased), or an :class:`InfraError`."""
    name = host.strip().lower().rstrip(".") if isinstance(host, str) else ""
    if is_ip(name):
        raise InfraError(
            f"'{host}' is an IP address, not a host name",
            f"use its nip.io name, e.g. {name.replace('.', '-')}.nip.io",
        )
    labels = name.split(".")
    if labels and labels[0] == "*":
        labels = labels[1:]
    if len(labels) < 2 or len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InfraError(
            f"'{host}' is not a host name a certificate can be issued for",
            "pass the ingress host, e.g. 127-0-0-1.nip.io (no scheme, port or path)",
        )
    return name


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def generate_self_signed(
    host: str, *, days: int = DEFAULT_VALIDITY_DAYS, now: dt.datetime | None = None
) -> CertPair:
    """A self-signed ECDSA P-256 server certificate for ``host`` and ``*.nip.io``, valid ``days`` days.

    P-256 rather than RSA: every TLS client and ingress-nginx accept it, and it is made in a millisecond.
    ``now`` exists for tests (an expired certificate is one made in the past).
    """
    name = check_host(host)
    if not 1 <= days <= MAX_VALIDITY_DAYS:
        raise InfraError(
            f"a certificate validity of {days} days is out of range",
            f"choose between 1 and {MAX_VALIDITY_DAYS} days",
        )
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(minutes=5)  # tolerate clock skew
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name if len(name) <= 64 else WILDCARD_HOST),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "k8s-labs (self-signed by infra)"),
        ]
    )
    sans = list(dict.fromkeys([name, WILDCARD_HOST]))
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in sans]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return CertPair(cert.public_bytes(serialization.Encoding.PEM), key_pem)


def dns_names(cert: x509.Certificate) -> list[str]:
    """The certificate's DNS subject alternative names (what TLS clients check; the CN is not)."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [name.lower() for name in ext.value.get_values_for_type(x509.DNSName)]


def covers(names: list[str], host: str) -> bool:
    """RFC 6125 matching: an exact name, or ``*.<rest>`` for exactly one more label than ``<rest>``."""
    host = host.lower().rstrip(".")
    for name in names:
        if name == host:
            return True
        if name.startswith("*.") and host.count(".") >= 2:
            first, _, rest = host.partition(".")
            if first and first != "*" and rest == name[2:]:
                return True
    return False


def validate_pair(pair: CertPair, host: str, *, now: dt.datetime | None = None, source: str = "") -> CertPair:
    """Check that the key matches the certificate, the certificate is valid now and covers ``host``.

    ``source`` names where the pair came from, for the error messages.
    """
    where = f" ({source})" if source else ""
    name = check_host(host)
    cert = _load_certificate(pair.cert_pem, source)
    key = _load_key(pair.key_pem, source)
    if not isinstance(key, SERVER_KEY_TYPES):
        raise InfraError(f"the private key{where} is not an RSA or ECDSA key", "use an RSA or ECDSA key")
    if _public_der(key.public_key()) != _public_der(cert.public_key()):
        raise InfraError(
            f"the private key does not match the certificate{where}",
            "pass the key the certificate was issued for "
            "(compare `openssl x509 -noout -pubkey` with `openssl pkey -pubout`)",
        )
    moment = now or dt.datetime.now(dt.UTC)
    if cert.not_valid_after_utc <= moment:
        raise InfraError(
            f"the certificate{where} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC",
            "renew it, or delete the stored tls.crt and tls.key to have a new self-signed one made",
        )
    if cert.not_valid_before_utc > moment:
        raise InfraError(
            f"the certificate{where} is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC",
            "check this machine's clock, or use a certificate that is valid now",
        )
    names = dns_names(cert)
    if not covers(names, name):
        shown = ", ".join(names) or "no DNS names"
        raise InfraError(
            f"the certificate{where} does not cover {name} (its subject alternative names: {shown})",
            f"use a certificate with {name} or {WILDCARD_HOST} among its SANs, or delete the stored "
            "tls.crt and tls.key to have a new self-signed one made",
        )
    return pair


def load_pair(cert_file: Path | str, key_file: Path | str, host: str) -> CertPair:
    """The user's certificate and key files, validated for ``host``."""
    cert_path, key_path = Path(cert_file), Path(key_file)
    pair = CertPair(_read(cert_path, "certificate"), _read(key_path, "private key"))
    return validate_pair(pair, host, source=f"{cert_path} + {key_path}")


def ensure_certificate(
    env: Environment | str, host: str, cert_file: Path | str | None = None, key_file: Path | str | None = None
) -> CertPair:
    """The environment's certificate pair: the user's, the stored one, or a new self-signed one.

    * ``cert_file`` and ``key_file``: validated, then stored as the environment's pair (an explicit choice).
    * else a stored pair: reused as is if it is still valid for ``host`` (an error otherwise, never a
      silent rotation).
    * else a new self-signed pair, stored.
    Nothing is written when validation fails.
    """
    if (cert_file is None) != (key_file is None):
        raise InfraError("a certificate needs both files", "pass both the certificate and the key file")
    crt_path, key_path = tls_files(env)
    if cert_file is not None and key_file is not None:
        pair = load_pair(cert_file, key_file, host)
        _store(pair, crt_path, key_path)
        return pair
    if crt_path.exists() or key_path.exists():
        if not (crt_path.exists() and key_path.exists()):
            missing = key_path if crt_path.exists() else crt_path
            raise InfraError(
                f"{missing} is missing but its partner file is stored",
                f"delete {crt_path.parent}/tls.* to have a new pair made, or restore the file",
            )
        pair = CertPair(_read(crt_path, "certificate"), _read(key_path, "private key"))
        validate_pair(pair, host, source=f"stored in {crt_path.parent}")
        for path in (crt_path, key_path):
            _tighten(path)
        return pair
    pair = generate_self_signed(host)
    _store(pair, crt_path, key_path)
    return pair


def _store(pair: CertPair, crt_path: Path, key_path: Path) -> None:
    write_private(key_path, pair.key_pem)
    write_private(crt_path, pair.cert_pem)


def _tighten(path: Path) -> None:
    """A reused credentials file is made 0600 again if someone widened it."""
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InfraError(f"the {what} file {path} does not exist", "check the path") from None
    except OSError as exc:
        raise InfraError(
            f"cannot read the {what} file {path}: {exc.strerror}", "check its permissions"
        ) from None


def _load_certificate(pem: bytes, source: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificates(pem)[0]
    except ValueError:
        where = f" ({source})" if source else ""
        raise InfraError(
            f"no PEM certificate could be read{where}",
            "pass a PEM file that starts with -----BEGIN CERTIFICATE-----",
        ) from None


def _load_key(pem: bytes, source: str) -> object:
    where = f" ({source})" if source else ""
    try:
        return serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise InfraError(
            f"the private key{where} is encrypted",
            "pass an unencrypted key (e.g. `openssl pkey -in key.pem -out plain.pem`); it is stored 0600",
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise InfraError(
            f"no PEM private key could be read{where}",
            "pass the private key as a PEM file (PKCS#8, or traditional RSA/EC)",
        ) from None


def _public_der(public_key: object) -> bytes:
    return public_key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
