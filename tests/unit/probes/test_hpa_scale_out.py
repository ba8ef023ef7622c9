"""HPA-3's scale-out verdict over the HPA samples a live probe polls while the load runs.

The samples follow the controller's real sequence (``setStatus(hpa, currentReplicas, desiredReplicas, ...)``
with the pre-rescale count; ``desiredReplicas = currentReplicas`` when it does not rescale): at rest, the
scale-up decision, then a hold while the new pods have no metric yet.
"""

from __future__ import annotations

import copy

import pytest

from infra.probes import hpa


def _sample(base: dict, current: int, desired: int, utilization: int) -> dict:
    sample = copy.deepcopy(base)
    sample["status"].update(currentReplicas=current, desiredReplicas=desired)
    sample["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"] = utilization
    return sample


@pytest.fixture
def samples(recorded) -> list[dict]:
    base = recorded("hpa-under-load.json")  # currentReplicas 2 -> desired 5 at 124 %
    return [_sample(base, 2, 2, 48), base, _sample(base, 5, 5, 250)]


def test_first_decision_follows_the_formula_and_ready_rose(samples):
    assert hpa.check_scale_out(samples, before=2, ready=4) is samples[-1]


def test_a_hold_while_new_pods_have_no_metric_is_not_held_to_the_formula(samples):
    # 5 replicas at 250 % would be ceil(5 × 5) = 25 -> 10 by the formula; the controller, counting the new
    # pods without a metric as idle, stays at 5 and records desired = current.
    with pytest.raises(AssertionError, match=r"desired 5 != ceil\(5 × 250/50\)"):
        hpa.check_decision(samples[-1])
    hpa.check_scale_out(samples, before=2, ready=3)


def test_no_scale_up_decision_yet(samples):
    with pytest.raises(AssertionError, match=r"no scale-up decision from 2 replica\(s\) yet; .* CPU 48%"):
        hpa.check_scale_out(samples[:1], before=2, ready=2)


def test_a_wrong_first_decision_fails_whatever_follows(samples):
    samples[1]["status"]["desiredReplicas"] = 7
    with pytest.raises(AssertionError, match=r"desired 7 != ceil\(2 × 124/50\)"):
        hpa.check_scale_out(samples, before=2, ready=7)


def test_ready_replicas_must_rise(samples):
    with pytest.raises(AssertionError, match=r"2 ready replica\(s\), started at 2; the HPA decided 2 -> 5"):
        hpa.check_scale_out(samples, before=2, ready=2)


def test_any_sample_above_max_fails(samples):
    samples.append(_sample(samples[-1], 5, 11, 250))
    with pytest.raises(AssertionError, match="desiredReplicas went to 11, above maxReplicas 10"):
        hpa.check_scale_out(samples, before=2, ready=5)


def test_no_sample_is_no_verdict():
    with pytest.raises(AssertionError, match="no HPA sample yet"):
        hpa.check_scale_out([], before=1, ready=1)
