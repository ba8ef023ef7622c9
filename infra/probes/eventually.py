"""Retry a probe until a deadline, then fail with what it last saw (kubespray's ``until`` + ``fail_msg``).

Clusters converge: a Deployment rolls out, DNS records appear, the HPA reads its first metric. A probe
therefore asks repeatedly and only fails when the claim still does not hold at the deadline; the failure
message carries the last observation so the report says *what* was wrong, not just *that* it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class ProbeTimeout(AssertionError):
    """The claim did not hold before the deadline. An AssertionError, so pytest reports a failure."""

    def __init__(self, describe: str, timeout: float, tries: int, last: str) -> None:
        super().__init__(
            f"{describe}: still not true after {timeout:.0f}s ({tries} tries); last seen: {last}"
        )
        self.describe = describe
        self.last = last
        self.tries = tries


def eventually(
    fn: Callable[[], T],
    timeout: float,
    interval: float,
    describe: str,
    *,
    retry_on: tuple[type[BaseException], ...] = (AssertionError,),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn`` until it returns without raising one of ``retry_on``; return its value.

    ``fn`` states the claim with ``assert`` (its message is what "last seen" reports). Any other exception
    is a bug or a hard error and propagates at once. At least one try is made, even with ``timeout=0``.
    """
    deadline = clock() + timeout
    tries = 0
    while True:
        tries += 1
        try:
            return fn()
        except retry_on as error:
            last = _describe_error(error)
        if clock() + interval > deadline:
            raise ProbeTimeout(describe, timeout, tries, last)
        sleep(interval)


def _describe_error(error: BaseException) -> str:
    text = str(error).strip()
    # pytest's assertion rewriting appends the introspection after a newline: keep it, on one line.
    text = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return text or type(error).__name__
