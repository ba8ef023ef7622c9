"""The served certificate (TLS-2, TLS-3): does its SAN cover the host, does the key match the certificate.

Host matching follows RFC 6125 as browsers and curl apply it: DNS names compare case-insensitively, and a
wildcard stands for exactly one whole left-most label (``*.nip.io`` covers ``a.nip.io``, not ``a.b.nip.io``).
"""

from __future__ import annotations

import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from infra.certs import is_ip


def load_certificate(data: bytes) -> x509.Certificate:
    """PEM or DER bytes -> certificate."""
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def san_names(cert: x509.Certificate) -> list[str]:
    """DNS and IP subjectAltNames (an empty list when the extension is absent)."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [
        *ext.get_values_for_type(x509.DNSName),
        *(str(ip) for ip in ext.get_values_for_type(x509.IPAddress)),
    ]


def name_matches(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if is_ip(pattern) or is_ip(host):
        return is_ip(pattern) and is_ip(host) and ipaddress.ip_address(pattern) == ipaddress.ip_address(host)
    if pattern.startswith("*."):
        first, _, rest = host.partition(".")
        return bool(first) and rest == pattern[2:] and "." in rest
    return pattern == host


def san_covers(cert: x509.Certificate, host: str) -> bool:
    return any(name_matches(name, host) for name in san_names(cert))


def check_san_covers(cert: x509.Certificate, host: str) -> None:
    names = san_names(cert)
    assert names, f"the certificate ({cert.subject.rfc4514_string()}) has no subjectAltName"
    assert san_covers(cert, host), f"SANs {names} do not cover {host}"


def key_matches_certificate(cert_pem: bytes, key_pem: bytes) -> bool:
    """True when the private key is the certificate's (their public keys are equal)."""
    cert = load_certificate(cert_pem)
    key = serialization.load_pem_private_key(key_pem, password=None)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_key().public_bytes(serialization.Encoding.DER, spki) == cert.public_key().public_bytes(
        serialization.Encoding.DER, spki
    )


def key_fingerprint_lines(key_pem: bytes, count: int = 3) -> list[str]:
    """A few full base64 lines from the middle of a PEM key: what a search of git for the key looks for.

    Full 64-character body lines are long and random enough to never match by chance, and searching for
    them does not put the whole key on a command line.
    """
    body = [line for line in key_pem.decode().splitlines() if line and not line.startswith("-----")]
    full = [line for line in body if len(line) == 64]
    middle = len(full) // 2
    return full[max(0, middle - count // 2) : max(0, middle - count // 2) + count]
