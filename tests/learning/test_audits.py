"""Audits switch a class off only on evidence that it is below target, and the table then refuses that class."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kolam.learning.audits import audit_classes, choose_audits, switch_off
from kolam.learning.auto_accept import auto_accept_thresholds


def test_a_class_with_many_misses_is_switched_off_and_one_miss_is_not_evidence() -> None:
    predicted = np.array([0] * 100 + [1] * 10 + [2] * 300)
    confirmed = np.array([True] * 90 + [False] * 10 + [True] * 9 + [False] + [True] * 300)
    report = audit_classes(predicted, confirmed, 4, target=0.99)
    assert report.below_target.tolist() == [True, False, False, False]
    assert report.n.tolist() == [100, 10, 300, 0]
    assert report.precision[0] == pytest.approx(0.9)
    assert report.upper_bound[0] < 0.99 <= report.upper_bound[1]
    assert report.lower_bound[2] > 0.99  # 300 of 300 confirmed: (0.05)^(1/300)
    assert math.isnan(report.precision[3]) and math.isnan(report.upper_bound[3])


def test_switch_off_removes_auto_accept_for_the_class(rng: np.random.Generator) -> None:
    confidence = rng.uniform(0.9, 1.0, 3000)
    predicted = rng.integers(3, size=3000)
    table = auto_accept_thresholds(confidence, predicted, np.ones(3000, dtype=bool), 3, pooled=True)
    assert table.accepts(np.array([1.0, 1.0, 1.0]), np.array([0, 1, 2])).all()
    off = switch_off(table, np.array([False, True, False]))
    assert off.accepts(np.array([1.0, 1.0, 1.0]), np.array([0, 1, 2])).tolist() == [True, False, True]
    assert math.isnan(switch_off(table, np.array([2])).threshold[2])
    assert table.accepts(np.array([1.0]), np.array([1])).all()  # the original is unchanged


def test_choose_audits_draws_about_the_rate() -> None:
    chosen = choose_audits(20_000, 0.05, seed=1)
    assert 0.045 < chosen.mean() < 0.055
    assert not choose_audits(10, 0.0, seed=1).any()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: audit_classes(np.array([0, 5]), np.array([True, True]), 3), r"in \[0, 3\)"),
        (lambda: audit_classes(np.array([0]), np.array([True, False]), 3), "one length"),
        (lambda: audit_classes(np.array([0]), np.array([True]), 3, target=1.0), "target must be"),
        (lambda: choose_audits(5, 1.5), "rate must be"),
    ],
    ids=["class-out-of-range", "length-mismatch", "target-one", "bad-rate"],
)
def test_bad_input_says_what_is_wrong(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]
