"""The ``ingress_url`` filter the ingress-nginx readiness wait builds its URL with."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest


@pytest.fixture(scope="module")
def plugin(ansible: Any) -> ModuleType:
    return ansible.load_filter_plugin("ingress_url")


@pytest.mark.parametrize(
    ("address", "scheme", "port", "path", "expected"),
    [
        ("127.0.0.1", "http", 80, "/healthz", "http://127.0.0.1/healthz"),
        ("127.0.0.1", "http", "80", "/healthz", "http://127.0.0.1/healthz"),  # an inventory value, templated
        ("127.0.0.1", "http", 8080, "/healthz", "http://127.0.0.1:8080/healthz"),
        ("127.0.0.1", "https", "8443", "/", "https://127.0.0.1:8443/"),
        ("127.0.0.1", "https", 443, "", "https://127.0.0.1/"),
        ("127.0.0.1", "http", None, "/", "http://127.0.0.1/"),  # no port: the scheme's default
        (
            "lab-ingress-0123.elb.eu-west-1.amazonaws.com",
            "http",
            80,
            "/",
            "http://lab-ingress-0123.elb.eu-west-1.amazonaws.com/",
        ),
        ("::1", "http", 8080, "/", "http://[::1]:8080/"),
    ],
)
def test_url_names_the_port_only_when_not_the_default(plugin, address, scheme, port, path, expected) -> None:
    assert plugin.ingress_url(address, scheme, port, path) == expected


@pytest.mark.parametrize(
    ("scheme", "port", "message"),
    [
        ("ftp", 21, "scheme must be http or https"),
        ("http", "eighty", "port must be a whole number"),
        ("http", 0, "port must be 1 to 65535"),
        ("https", 70000, "port must be 1 to 65535"),
    ],
)
def test_bad_scheme_or_port_is_refused(plugin, scheme, port, message) -> None:
    with pytest.raises(ValueError, match=message):
        plugin.ingress_url("127.0.0.1", scheme, port)


def test_ansible_finds_the_filter(plugin) -> None:
    assert plugin.FilterModule().filters() == {"ingress_url": plugin.ingress_url}
