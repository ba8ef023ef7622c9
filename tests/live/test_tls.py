"""TLS-1..3: a web app behind an Ingress that terminates TLS with a run-time certificate."""

from __future__ import annotations

import socket
import ssl
import warnings

import pytest

from infra.probes import endpoints, http, tls
from infra.probes.eventually import eventually

NAMESPACE, NAME, SECRET, PORT = "lab-tls", "web", "web-tls", 8080


@pytest.fixture(scope="module")
def host(kube, outputs) -> str:
    """The environment's `<ip-with-dashes>.nip.io` host: stack outputs, else the Ingress's first TLS host."""
    if outputs.get("ingress_host"):
        return str(outputs["ingress_host"])
    ingress = kube.json(kube.networking.read_namespaced_ingress(NAME, NAMESPACE))
    hosts = [h for entry in ingress["spec"].get("tls") or [] for h in entry.get("hosts") or []]
    concrete = [h for h in hosts if not h.startswith("*")]
    assert concrete, f"no ingress_host output and no concrete TLS host on the Ingress ({hosts})"
    return concrete[0]


@pytest.mark.live
def test_tls_1_web_app_behind_tls_ingress(kube, host, retry_on):
    """3 Ready replicas on 8080; EndpointSlices: 3 ready pods on 8080; spec.tls covers the host."""

    def probe() -> None:
        deployment = kube.json(kube.apps.read_namespaced_deployment(NAME, NAMESPACE))
        assert deployment["spec"]["replicas"] == 3, f"spec.replicas is {deployment['spec']['replicas']}"
        assert deployment["status"].get("readyReplicas") == 3, (
            f"ready: {deployment['status'].get('readyReplicas')}"
        )
        ports = [
            p["containerPort"]
            for c in deployment["spec"]["template"]["spec"]["containers"]
            for p in c["ports"]
        ]
        assert PORT in ports, f"container ports {ports} do not include {PORT}"
        slices = kube.json(
            kube.discovery.list_namespaced_endpoint_slice(
                NAMESPACE, label_selector=endpoints.selector(NAME)
            ).items
        )
        ready = endpoints.ready_endpoints(slices)
        assert len({ip for ip, _ in ready}) == 3, (
            f"Service {NAME} has ready endpoints {ready}, expected 3 pods"
        )
        assert {port for _, port in ready} == {PORT}, (
            f"Service {NAME} targets ports {sorted({p for _, p in ready})}"
        )
        ingress = kube.json(kube.networking.read_namespaced_ingress(NAME, NAMESPACE))
        entries = ingress["spec"].get("tls") or []
        assert entries, f"Ingress {NAME} has no spec.tls"
        covering = [e for e in entries if any(tls.name_matches(h, host) for h in e.get("hosts") or [])]
        assert covering, f"no spec.tls entry covers {host}: {entries}"
        assert covering[0].get("secretName") == SECRET, (
            f"spec.tls uses Secret {covering[0].get('secretName')}"
        )

    eventually(probe, 180, 5, f"{NAMESPACE}/{NAME} served behind a TLS Ingress", retry_on=retry_on)


@pytest.mark.live
def test_tls_2_certificate_secret_not_in_git(kube, env, git_files_containing):
    """web-tls is a kubernetes.io/tls Secret whose key matches its certificate and appears nowhere in git."""
    from infra.render import render_env

    secret = kube.core.read_namespaced_secret(SECRET, NAMESPACE)
    assert secret.type == "kubernetes.io/tls", f"Secret {SECRET} has type {secret.type}"
    cert = kube.secret_value(NAMESPACE, SECRET, "tls.crt")
    key = kube.secret_value(NAMESPACE, SECRET, "tls.key")
    assert tls.key_matches_certificate(cert, key), "tls.key is not the private key of tls.crt"
    lines = tls.key_fingerprint_lines(key)
    assert lines, "tls.key has no PEM body to look for"
    found = {line[:8] + "…": git_files_containing(line) for line in lines}
    assert not any(found.values()), f"the live private key is in git: {found}"
    declared = [d.where for d in render_env(env) if d.kind == "Secret" and d.name == SECRET]
    assert not declared, f"manifests/envs/{env} declares Secret {SECRET} itself: {declared}"


@pytest.mark.live
@pytest.mark.parametrize("check", ["https-200", "san-covers-host", "http-redirects"])
def test_tls_3_https_answers_with_the_right_certificate(
    curl, host, ingress_ip, ingress_ports, check, request
):
    """curl -k https://<host>/ is 200; the served SAN covers the host; plain HTTP redirects to HTTPS.

    ``--resolve`` pins the host (on the stack's ingress ports) to the ingress IP, so the probe does not depend
    on nip.io's public DNS. The redirect must go to ``https://`` on the same host; the port its Location names
    is recorded (JUnit property ``redirect_port``) and not asserted: ingress-nginx names its own HTTPS listen
    port, 443 inside the kind node, also when the host maps another port to it (stacks/local/README.md).
    """
    http_port, https_port = ingress_ports["http"], ingress_ports["https"]
    resolve = [
        "--resolve",
        f"{host}:{https_port}:{ingress_ip}",
        "--resolve",
        f"{host}:{http_port}:{ingress_ip}",
    ]
    https_url, http_url = http.url("https", host, https_port), http.url("http", host, http_port)

    def probe() -> None:
        if check == "https-200":
            out = curl("--insecure", *resolve, "-o", "/dev/null", "-w", http.WRITE_OUT, https_url)
            answer = http.parse_write_out(out or "000")
            assert answer.status == 200, f"{https_url} answered {answer.status}"
        elif check == "san-covers-host":
            der = _served_certificate(ingress_ip, https_port, host)
            tls.check_san_covers(tls.load_certificate(der), host)
        else:
            out = curl(*resolve, "-o", "/dev/null", "-w", http.WRITE_OUT, http_url)
            port = http.check_https_redirect(http.parse_write_out(out or "000"), host)
            request.node.user_properties.append(("redirect_port", str(port)))
            if port != https_port:
                warnings.warn(
                    f"{http_url} redirects to https://{host} on port {port}, but the lab answers HTTPS on "
                    f"{https_port}: open {https_url} directly (stacks/local/README.md)",
                    stacklevel=1,
                )

    eventually(probe, 120, 5, f"{check} on {host}", retry_on=(AssertionError, OSError, ValueError))


def _served_certificate(address: str, port: int, host: str) -> bytes:
    """The DER certificate the ingress serves for ``host`` (SNI) on ``port``, fetched without verifying it."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((address, port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as wrapped,
    ):
        der = wrapped.getpeercert(binary_form=True)
    assert der, "the server sent no certificate"
    return der
