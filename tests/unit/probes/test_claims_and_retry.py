"""The claim registry and the retry-until-deadline helper."""

from __future__ import annotations

import pytest

from infra.errors import InfraError
from infra.probes.claims import BY_ID, CLAIMS, claim_id_of, normalise_ids
from infra.probes.eventually import ProbeTimeout, eventually

LABS_IDS = (
    ["ENV-1"]
    + [f"ADD-{n}" for n in range(1, 5)]
    + [f"CTL-{n}" for n in range(1, 11)]
    + [f"TLS-{n}" for n in range(1, 4)]
    + [f"STS-{n}" for n in range(1, 6)]
    + [f"SQL-{n}" for n in range(1, 6)]
    + [f"QOS-{n}" for n in range(1, 3)]
    + [f"HPA-{n}" for n in range(1, 5)]
    + [f"NLB-{n}" for n in range(1, 4)]
    + [f"GIT-{n}" for n in range(1, 5)]
)


def test_registry_holds_every_labs_claim_once_in_order():
    assert [c.id for c in CLAIMS] == LABS_IDS


@pytest.mark.parametrize(
    ("claim", "envs"), [("ADD-4", ("aws",)), ("NLB-2", ("aws",)), ("STS-3", ("local", "aws"))]
)
def test_environments(claim, envs):
    assert BY_ID[claim].environments == envs


@pytest.mark.parametrize(
    ("name", "claim"),
    [
        ("test_sts_3_scaling_is_ordered", "STS-3"),
        ("test_add_1_metrics_server_answers[top-pods]", "ADD-1"),
        ("test_hpa_3_scales_in_after_load", "HPA-3"),
        ("test_sts_9_no_such_claim", None),
        ("test_helper", None),
        ("test_sts3_missing_underscore", None),
    ],
)
def test_claim_id_of(name, claim):
    assert claim_id_of(name) == claim


def test_prefix_ends_the_number():
    assert BY_ID["HPA-1"].test_prefix == "test_hpa_1_"
    assert not "test_hpa_10_x".startswith(BY_ID["HPA-1"].test_prefix)


@pytest.mark.parametrize(
    ("raw", "ids"),
    [
        (["sts-3"], ["STS-3"]),
        (["SQL-1,sts-3", " ENV-1 "], ["ENV-1", "STS-3", "SQL-1"]),
        (["STS-3", "sts-3"], ["STS-3"]),
        ([], []),
    ],
)
def test_normalise_ids(raw, ids):
    assert normalise_ids(raw) == ids


@pytest.mark.parametrize("bad", ["STS-9", "sts3", "HPA"])
def test_unknown_id_is_a_user_error(bad):
    with pytest.raises(InfraError, match="unknown claim ID") as caught:
        normalise_ids([bad])
    assert "STS-3" in (caught.value.hint or "")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_eventually_returns_the_first_success():
    clock = FakeClock()
    answers = iter([AssertionError("not yet"), AssertionError("still not"), "done"])

    def probe():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert eventually(probe, 60, 5, "thing", clock=clock, sleep=clock.sleep) == "done"
    assert clock.sleeps == [5, 5]


def test_eventually_fails_with_what_it_last_saw():
    clock = FakeClock()
    seen = iter(range(100))

    def probe():
        raise AssertionError(f"replicas = {next(seen)}\nassert 1 == 3")

    with pytest.raises(ProbeTimeout) as caught:
        eventually(probe, 20, 5, "scale-out", clock=clock, sleep=clock.sleep)
    message = str(caught.value)
    assert message.startswith("scale-out: still not true after 20s (5 tries)")
    assert "last seen: replicas = 4 | assert 1 == 3" in message
    assert isinstance(caught.value, AssertionError)


def test_eventually_tries_once_with_no_time():
    clock = FakeClock()
    with pytest.raises(ProbeTimeout, match=r"\(1 tries\)"):
        eventually(
            lambda: (_ for _ in ()).throw(AssertionError("no")), 0, 5, "x", clock=clock, sleep=clock.sleep
        )
    assert clock.sleeps == []


def test_other_errors_are_not_retried():
    clock = FakeClock()
    with pytest.raises(KeyError):
        eventually(lambda: {}["missing"], 60, 5, "x", clock=clock, sleep=clock.sleep)
    assert clock.sleeps == []


def test_listed_errors_are_retried():
    clock = FakeClock()
    with pytest.raises(ProbeTimeout, match="last seen: refused"):
        eventually(
            lambda: (_ for _ in ()).throw(OSError("refused")),
            10,
            5,
            "x",
            retry_on=(AssertionError, OSError),
            clock=clock,
            sleep=clock.sleep,
        )
