"""HTTP answers seen through curl (ADD-2, TLS-3).

Probes run ``curl -s -o /dev/null -w '%{http_code} %{redirect_url}'``: the status code and, for a
redirect, the absolute target. curl prints ``000`` when no HTTP answer came at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

WRITE_OUT = "%{http_code} %{redirect_url}"
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


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


def check_https_redirect(answer: Answer, host: str) -> None:
    assert answer.answered, f"nothing answered plain HTTP on {host}"
    assert is_https_redirect(answer, host), (
        f"plain HTTP on {host} answered {answer.status} {answer.location or '(no Location)'},"
        " expected a redirect to https://" + host
    )
