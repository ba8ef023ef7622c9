"""HTTP answers seen through curl (ADD-2, TLS-3), and the URLs the probes ask.

Probes run ``curl -s -o /dev/null -w '%{http_code} %{redirect_url}'``: the status code and, for a
redirect, the absolute target. curl prints ``000`` when no HTTP answer came at all.

The ingress answers on the stack's ``ingress_http_port``/``ingress_https_port`` (kind: the host ports, which
need not be 80/443, e.g. 8080/8443 under rootless Docker): URLs name the port only when it is not the
scheme's default, as a browser shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

WRITE_OUT = "%{http_code} %{redirect_url}"
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}


def url(scheme: str, host: str, port: int, path: str = "/") -> str:
    """``('https', 'h', 443)`` -> ``https://h/``; ``('https', 'h', 8443)`` -> ``https://h:8443/``."""
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"not an ingress scheme: {scheme!r} (expected http or https)")
    netloc = host if port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return f"{scheme}://{netloc}{path if path.startswith('/') else '/' + path}"


@dataclass(frozen=True)
class Answer:
    status: int  # 0 when nothing answered
    location: str  # absolute redirect target, "" when none

    @property
    def answered(self) -> bool:
        return self.status != 0


def parse_write_out(text: str) -> Answer:
    """``'308 https://h/'`` -> Answer(308, 'https://h/'); ``'000 '`` -> Answer(0, '')."""
    parts = text.strip().split(maxsplit=1)
    if not parts or not parts[0].isdigit():
        raise ValueError(f"not curl -w '{WRITE_OUT}' output: {text!r}")
    return Answer(int(parts[0]), parts[1].strip() if len(parts) > 1 else "")


def is_https_redirect(answer: Answer, host: str) -> bool:
    """A redirect status whose target is ``https://`` on the same host (any path)."""
    if answer.status not in REDIRECT_CODES:
        return False
    target = urlsplit(answer.location)
    return target.scheme == "https" and (target.hostname or "").lower() == host.lower()


def redirect_port(answer: Answer) -> int:
    """The port the redirect target names: explicit, else its scheme's default (``https://h/`` -> 443)."""
    target = urlsplit(answer.location)
    return target.port or DEFAULT_PORTS.get(target.scheme, 0)


def check_https_redirect(answer: Answer, host: str) -> int:
    """Assert a redirect to ``https://`` on the same host; returns the port it names.

    The port is not asserted: ingress-nginx builds the Location from the request's host without its port and
    its own HTTPS listen port, which is 443 inside the node even when kind maps another host port to it
    (stacks/local/README.md). The caller reports the port.
    """
    assert answer.answered, f"nothing answered plain HTTP on {host}"
    assert is_https_redirect(answer, host), (
        f"plain HTTP on {host} answered {answer.status} {answer.location or '(no Location)'},"
        " expected a redirect to https://" + host
    )
    return redirect_port(answer)
