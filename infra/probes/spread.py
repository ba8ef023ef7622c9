"""Spread of requests across pods (NLB-3): count responses per pod hostname, every pod must be seen.

The echo server's answer names the pod that served it. Depending on the image that is a JSON body
(``{"host": {"hostname": ...}}`` or ``{"hostname": ...}``), a ``Hostname: ...`` line, or the bare name.
"""

from __future__ import annotations

import json
import re
from collections import Counter

_HOSTNAME_LINE = re.compile(
    r"^\s*(?:hostname|host name|server name|pod)\s*[:=]\s*(\S+)", re.IGNORECASE | re.MULTILINE
)


def hostname_of(body: str) -> str | None:
    """The serving pod's hostname in an echo response, or None when the body names none."""
    text = body.strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        host = data.get("host")
        for candidate in (
            host.get("hostname") if isinstance(host, dict) else None,
            data.get("hostname"),
            (data.get("environment") or {}).get("HOSTNAME")
            if isinstance(data.get("environment"), dict)
            else None,
        ):
            if isinstance(candidate, str) and candidate:
                return candidate
        return None
    match = _HOSTNAME_LINE.search(text)
    if match:
        return match.group(1)
    if text and len(text.split()) == 1 and len(text) <= 253:
        return text
    return None


def count_by_hostname(bodies: list[str]) -> Counter[str]:
    """Responses per hostname; bodies naming no host count under ``?``."""
    return Counter(hostname_of(body) or "?" for body in bodies)


def check_spread(counts: Counter[str], pod_names: list[str], total: int) -> None:
    """All ``total`` requests answered by the pods, and every pod answered at least one."""
    answered = sum(counts.values())
    assert answered == total, f"{answered} of {total} requests answered: {dict(counts)}"
    strangers = sorted(set(counts) - set(pod_names))
    assert not strangers, (
        f"answers from unknown hosts {strangers} (pods: {sorted(pod_names)}): {dict(counts)}"
    )
    unseen = sorted(set(pod_names) - set(counts))
    assert not unseen, f"pods {unseen} answered none of {total} requests: {dict(counts)}"
