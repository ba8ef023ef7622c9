"""TLS certificates, request spread and NLB facts, on generated certificates and recorded bodies."""

from __future__ import annotations

import datetime
import ipaddress
import json
from collections import Counter

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from infra.probes import nlb, spread, tls

HOST = "127-0-0-1.nip.io"


def _certificate(key, names: list[x509.GeneralName] | None) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if names is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(key, hashes.SHA256())


@pytest.fixture(scope="module")
def keys():
    return ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def served(keys):
    names = [x509.DNSName("*.nip.io"), x509.DNSName(HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    return _certificate(keys[0], names)


def _pem(obj) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.mark.parametrize(
    ("host", "covered"),
    [
        (HOST, True),
        ("10-0-0-7.nip.io", True),
        ("A.NIP.IO.", True),
        ("a.b.nip.io", False),
        ("nip.io", False),
        ("example.com", False),
        ("127.0.0.1", True),
        ("127.0.0.2", False),
    ],
)
def test_san_covers(served, host, covered):
    assert tls.san_covers(served, host) is covered


def test_wildcard_stands_for_one_label_only():
    assert not tls.name_matches("*.io", "nip.io")
    assert not tls.name_matches("*.nip.io", ".nip.io")
    assert tls.name_matches("web.nip.io", "WEB.nip.io")


def test_certificate_loads_from_pem_and_der(served):
    der = served.public_bytes(serialization.Encoding.DER)
    assert tls.load_certificate(der) == tls.load_certificate(_pem(served)) == served


def test_check_san_covers(keys, served):
    tls.check_san_covers(served, HOST)
    with pytest.raises(AssertionError, match=r"do not cover example\.com"):
        tls.check_san_covers(served, "example.com")
    with pytest.raises(AssertionError, match="no subjectAltName"):
        tls.check_san_covers(_certificate(keys[0], None), HOST)


def test_key_matches_certificate(keys, served):
    assert tls.key_matches_certificate(_pem(served), _pem(keys[0]))
    assert not tls.key_matches_certificate(_pem(served), _pem(keys[1]))


def test_key_fingerprint_lines_are_full_body_lines(keys):
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    lines = tls.key_fingerprint_lines(pem)
    assert len(lines) == 3
    assert all(len(line) == 64 and line in pem.decode() and "-" not in line[:5] for line in lines)
    assert tls.key_fingerprint_lines(_pem(keys[0]), count=1)  # a short EC key still has one full line


@pytest.mark.parametrize(
    ("body", "hostname"),
    [
        ("whoami-body.txt", "echo-7d9c6b5f4-x2x7q"),
        (json.dumps({"host": {"hostname": "echo-abc"}, "http": {"method": "GET"}}), "echo-abc"),
        (json.dumps({"hostname": "echo-def"}), "echo-def"),
        (json.dumps({"environment": {"HOSTNAME": "echo-ghi"}}), "echo-ghi"),
        ("echo-jkl\n", "echo-jkl"),
        (json.dumps({"status": "ok"}), None),
        ("<html><body>It works</body></html> <p>x</p>", None),
    ],
)
def test_hostname_of(recorded, body, hostname):
    text = recorded(body) if body.endswith(".txt") else body
    assert spread.hostname_of(text) == hostname


PODS = ["echo-a", "echo-b", "echo-c"]


def test_spread_over_every_pod():
    counts = spread.count_by_hostname(["Hostname: echo-a"] * 40 + ["Hostname: echo-b"] * 31 + ["echo-c"] * 29)
    assert counts == Counter({"echo-a": 40, "echo-b": 31, "echo-c": 29})
    spread.check_spread(counts, PODS, 100)


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        (Counter({"echo-a": 60, "echo-b": 40}), r"pods \['echo-c'\] answered none"),
        (Counter({"echo-a": 50, "echo-b": 25, "echo-c": 24}), "99 of 100"),
        (Counter({"echo-a": 50, "echo-b": 25, "echo-c": 24, "?": 1}), "unknown hosts"),
        (Counter({"echo-a": 50, "echo-b": 25, "echo-c": 24, "old-pod": 1}), "unknown hosts"),
    ],
)
def test_bad_spread(counts, message):
    with pytest.raises(AssertionError, match=message):
        spread.check_spread(counts, PODS, 100)


SERVICE = {
    "metadata": {
        "annotations": {
            nlb.TYPE_ANNOTATION: "external",
            nlb.TARGET_TYPE_ANNOTATION: "ip",
            nlb.SCHEME_ANNOTATION: "internet-facing",
        }
    },
    "spec": {"type": "LoadBalancer", "loadBalancerClass": nlb.NLB_CLASS},
    "status": {
        "loadBalancer": {"ingress": [{"hostname": "k8s-labnlb-echo-0a1b2c3d4e.elb.eu-west-1.amazonaws.com"}]}
    },
}


def test_nlb_service():
    assert nlb.service_issues(SERVICE) == []
    assert nlb.load_balancer_hostname(SERVICE).endswith(".elb.eu-west-1.amazonaws.com")
    assert nlb.load_balancer_hostname({"status": {"loadBalancer": {}}}) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"spec": {"type": "NodePort"}}, "expected LoadBalancer"),
        ({"annotations": {nlb.TARGET_TYPE_ANNOTATION: "instance"}}, "expected 'ip'"),
        ({"annotations": {nlb.SCHEME_ANNOTATION: None}}, "default is internal"),
        (
            {"spec": {"type": "LoadBalancer"}, "annotations": {nlb.TYPE_ANNOTATION: None}},
            "neither loadBalancerClass",
        ),
    ],
)
def test_nlb_service_issues(change, message):
    annotations = {**SERVICE["metadata"]["annotations"], **change.get("annotations", {})}
    service = {
        "metadata": {"annotations": {k: v for k, v in annotations.items() if v is not None}},
        "spec": change.get("spec", SERVICE["spec"]),
    }
    assert any(message in issue for issue in nlb.service_issues(service)), nlb.service_issues(service)


def test_instance_of_provider_id():
    assert nlb.instance_of("aws:///eu-west-1a/i-0123456789abcdef0") == ("eu-west-1", "i-0123456789abcdef0")
    assert nlb.instance_of("aws:///us-gov-west-1b/i-0abc") == ("us-gov-west-1", "i-0abc")
    with pytest.raises(ValueError, match="not an AWS providerID"):
        nlb.instance_of("kind://docker/lab/lab-worker")


def test_policy_attached():
    attached = [
        {"PolicyName": "lab-AWSLoadBalancerControllerIAMPolicy", "PolicyArn": "arn:aws:iam::1:policy/x"}
    ]
    assert nlb.policy_attached(attached, "LoadBalancerController")
    assert not nlb.policy_attached([{"PolicyName": "nodes.lab.k8s.local"}], "LoadBalancerController")
