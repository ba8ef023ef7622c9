"""The URL of an ingress address on a given port, as the readiness waits ask it.

The address answers on the inventory's ``lab_ingress_http_port``/``lab_ingress_https_port``, which on kind are
the host ports mapped to the ingress node's 80/443 and need not be 80/443 (rootless Docker binds no port below
1024). The URL names the port only when it is not the scheme's default, like ``infra.probes.http.url`` (the
playbooks stay usable without the ``infra`` package, so the few lines are repeated here and tested in
tests/unit/playbooks/test_ingress_url_filter.py).
"""

from __future__ import annotations

from typing import Any

DEFAULT_PORTS = {"http": 80, "https": 443}


def ingress_url(address: Any, scheme: str = "http", port: Any = None, path: str = "/") -> str:
    """``'127.0.0.1' | ingress_url('http', 8080, '/healthz')`` -> ``http://127.0.0.1:8080/healthz``.

    ``port`` may be a string (an inventory value through a template); empty means the scheme's default. An
    IPv6 address is bracketed. A bad scheme or port raises ValueError, which Ansible reports on the task.
    """
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"ingress_url: scheme must be http or https, got {scheme!r}")
    default = DEFAULT_PORTS[scheme]
    try:
        number = default if port in (None, "") else int(port)
    except (TypeError, ValueError):
        raise ValueError(f"ingress_url: port must be a whole number, got {port!r}") from None
    if isinstance(port, bool) or not 1 <= number <= 65535:
        raise ValueError(f"ingress_url: port must be 1 to 65535, got {port!r}")
    host = str(address)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    netloc = host if number == default else f"{host}:{number}"
    return f"{scheme}://{netloc}{path if path.startswith('/') else '/' + path}"


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {"ingress_url": ingress_url}
