"""DNS answers as seen from inside the cluster (STS-1, STS-2, SQL-1).

A ClusterIP Service has one A record (its virtual IP); a headless Service (``clusterIP: None``) has one
A record per ready pod, and ``<pod>.<headless-svc>`` names one pod. The probe pod runs ``nslookup``
(busybox or BIND flavour) or ``getent ahosts``; these functions turn either output into addresses.
"""

from __future__ import annotations

import ipaddress
import re

_ADDRESS_LINE = re.compile(r"^Address(?:\s+\d+)?:\s*(\S+)")


class LookupFailed(ValueError):
    """The resolver said the name does not exist (NXDOMAIN, SERVFAIL, no answer)."""


class ExecFailed(RuntimeError):
    """The lookup never ran: ``kubectl exec`` into the probe pod failed (no container runtime on the node,
    pod gone, no nslookup). Not a resolver answer, so a probe must not retry it as "no answer yet"."""


# What resolvers print when nslookup ran but got no answer (busybox, BIND): a lookup failure, not an exec one.
# busybox prints ";; connection timed out; no servers could be reached" when no DNS server answers at all.
_FAILURES = (
    "can't find",
    "can't resolve",
    "server can't",
    "nxdomain",
    "no answer",
    "servfail",
    "no servers could be reached",  # not "connection timed out" alone: kubectl's dial errors say that too
)


def parse_nslookup(output: str) -> list[str]:
    """Addresses answered for the looked-up name, in answer order, without the resolver's own address.

    Handles busybox (``Address: 10.0.0.1``, or the older ``Address 1: 10.0.0.1 name``) and BIND output.
    Every flavour prints the server block first (``Server:`` and its ``Address``), then one ``Name:`` block
    per answer: only addresses after the first ``Name:`` line are answers. Raises :class:`LookupFailed`
    when nothing was answered and the resolver reported a failure.
    """
    addresses: list[str] = []
    seen_name = False
    for raw in output.splitlines():
        line = raw.strip()
        if line.startswith("Name:"):
            seen_name = True
            continue
        match = _ADDRESS_LINE.match(line)
        if not (seen_name and match):
            continue
        address = _as_ip(match.group(1))
        if address and address not in addresses:
            addresses.append(address)
    if not addresses and any(marker in output.lower() for marker in _FAILURES):
        raise LookupFailed(_first_failure_line(output))
    return addresses


_SERVER_LINE = re.compile(r"^\s*Server:", re.MULTILINE)


def lookup_answer(returncode: int, stdout: str, stderr: str) -> list[str]:
    """IPv4 answers of ``nslookup -type=a NAME`` run through ``kubectl exec``; :class:`ExecFailed` when the
    command failed without nslookup saying anything, i.e. the exec itself failed.

    nslookup prints its server block (``Server:``) or a resolver failure before it exits non-zero for a
    name it cannot resolve; ``kubectl exec`` errors (``error dialing backend``, ``container not found``)
    have neither.
    """
    output = stdout + stderr
    said_something = _SERVER_LINE.search(output) or any(marker in output.lower() for marker in _FAILURES)
    if returncode != 0 and not said_something:
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        detail = " | ".join(lines[-3:]) or "no output"
        raise ExecFailed(f"nslookup in the probe pod did not run (exit {returncode}): {detail}")
    return ipv4_only(parse_nslookup(output))


def parse_getent(output: str) -> list[str]:
    """Addresses from ``getent hosts`` / ``getent ahosts`` (first column; ahosts repeats per socket type)."""
    addresses: list[str] = []
    for line in output.splitlines():
        fields = line.split()
        if not fields:
            continue
        address = _as_ip(fields[0])
        if address and address not in addresses:
            addresses.append(address)
    return addresses


def ipv4_only(addresses: list[str]) -> list[str]:
    return [a for a in addresses if ipaddress.ip_address(a).version == 4]


def check_cluster_ip_answer(addresses: list[str], cluster_ip: str) -> None:
    """A ClusterIP Service: exactly one address, the Service's virtual IP."""
    assert addresses == [cluster_ip], (
        f"expected only the ClusterIP {cluster_ip}, got {addresses or 'nothing'}"
    )


def check_headless_answer(addresses: list[str], pod_ips: list[str]) -> None:
    """A headless Service: one address per pod, exactly the pods' IPs (order is the resolver's)."""
    assert len(pod_ips) > 1, f"a headless answer needs several pods to prove anything, have {pod_ips}"
    assert sorted(addresses) == sorted(pod_ips), (
        f"expected one address per pod {sorted(pod_ips)}, got {sorted(addresses) or 'nothing'}"
    )


def _as_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        return None


def _first_failure_line(output: str) -> str:
    for line in output.splitlines():
        if any(marker in line.lower() for marker in _FAILURES):
            return line.strip()
    return output.strip()
