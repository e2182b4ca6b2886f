"""Auto-accept thresholds: the confidence above which the model may label a class alone.

Chosen from held-out, human-settled items so that a one-sided Clopper–Pearson *lower* bound of precision above
the threshold reaches the project's target: a point estimate of 99 % on 60 items is not evidence of 99 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kolam.learning.binomial import binomial_upper_tail, check_level, clopper_pearson_lower_many

__all__ = ["ThresholdTable", "auto_accept_thresholds"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class ThresholdTable:
    """Per predicted class: the auto-accept ``threshold`` (nan: never auto-accept), the held-out ``support``
    at or above it, their ``precision`` and its one-sided Clopper–Pearson ``lower_bound`` at ``level`` (nan where
    there is no threshold), and ``n_predicted``, the held-out items predicted as the class at any confidence.
    ``pooled_threshold`` is the one threshold over all classes when the table was pooled, nan otherwise; then
    the per-class precision and bound describe each class's share of the pool and may sit below the target."""

    threshold: FloatArray
    support: IntArray
    precision: FloatArray
    lower_bound: FloatArray
    n_predicted: IntArray
    target: float
    level: float
    pooled_threshold: float = math.nan

    def accepts(self, confidence: ArrayLike, predicted: ArrayLike) -> BoolArray:
        """Which predictions the model may settle alone: confidence ≥ its class's threshold (nan never does)."""
        conf = np.asarray(confidence, dtype=np.float64)
        cut = self.threshold[np.asarray(predicted, dtype=np.int64)]
        result: BoolArray = np.greater_equal(conf, cut, where=~np.isnan(cut), out=np.zeros(conf.shape, np.bool_))
        return result


def _scan(conf: FloatArray, hit: BoolArray, target: float, level: float, min_support: int) -> tuple[float, int, int]:
    """The lowest distinct confidence t whose items (confidence ≥ t) number ≥ ``min_support`` and have a lower
    bound ≥ ``target``; returns (t, support, successes), or (nan, 0, 0).

    Counts at every candidate come from cumulative sums over the items sorted by decreasing confidence (a tie
    group enters whole). The bound test needs no bisection: lower bound ≥ target ⇔ P(X ≥ k | n, target) ≤
    1 − level, since the tail grows with p.
    """
    if conf.size == 0:
        return math.nan, 0, 0
    order = np.argsort(-conf, kind="stable")
    ordered = conf[order]
    hits = np.cumsum(hit[order], dtype=np.int64)
    ends = np.flatnonzero(np.append(ordered[1:] != ordered[:-1], True))
    n_at, k_at = ends + 1, hits[ends]
    enough = np.flatnonzero(n_at >= min_support)
    if enough.size == 0:
        return math.nan, 0, 0
    tail = binomial_upper_tail(k_at[enough], n_at[enough], target)
    good = enough[tail <= 1.0 - level]
    if good.size == 0:
        return math.nan, 0, 0
    best = good[-1]
    return float(ordered[ends[best]]), int(n_at[best]), int(k_at[best])


def _validated(
    confidence: ArrayLike, predicted: ArrayLike, correct: ArrayLike, n_classes: int
) -> tuple[FloatArray, IntArray, BoolArray]:
    conf = np.asarray(confidence, dtype=np.float64)
    pred = np.asarray(predicted)
    hit = np.asarray(correct)
    if conf.ndim != 1 or pred.shape != conf.shape or hit.shape != conf.shape:
        raise ValueError(
            f"confidence, predicted and correct must be 1-d of one length, got {conf.shape}, {pred.shape}, {hit.shape}"
        )
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1, got {n_classes}")
    if not np.all(np.isfinite(conf)):
        raise ValueError("confidence must be finite")
    if pred.size and (not np.issubdtype(pred.dtype, np.integer) or pred.min() < 0 or pred.max() >= n_classes):
        raise ValueError(f"predicted must be integer class indices in [0, {n_classes})")
    if hit.dtype != np.bool_ and not np.all((hit == 0) | (hit == 1)):
        raise ValueError("correct must be boolean (or 0/1)")
    return conf, pred.astype(np.int64), hit.astype(np.bool_)


def auto_accept_thresholds(
    confidence: ArrayLike,
    predicted: ArrayLike,
    correct: ArrayLike,
    n_classes: int,
    target: float = 0.99,
    level: float = 0.95,
    min_support: int = 50,
    pooled: bool = False,
) -> ThresholdTable:
    """Auto-accept thresholds from held-out, human-settled items (calibrated ``confidence``, the model's
    ``predicted`` class, whether it was ``correct``).

    Per class (``pooled=False``): the lowest threshold t among the class's distinct confidences such that the
    items predicted as the class with confidence ≥ t are at least ``min_support`` and the one-sided
    Clopper–Pearson lower bound (at ``level``) of their precision is ≥ ``target``. This needs many items per
    class, so ``pooled=True`` finds one threshold t* over all predictions instead — the bound then holds for the
    auto-accepted items as a whole, not for each class — and gives it to every class except one whose own items
    above t* show it is worse than the target (its one-sided Clopper–Pearson *upper* bound < ``target``), which
    gets nan. Per-class thresholds are not raised above t* in pooled mode: estimating them is what pooling
    avoids; the audit sample is what catches a class that drifts below target.

    Scanning many thresholds and keeping the lowest passing one makes the reported bound slightly optimistic
    (a multiple-comparison effect); the audits re-estimate precision on fresh items.
    """
    check_level("target", target)
    check_level("level", level)
    if min_support < 1:
        raise ValueError(f"min_support must be at least 1, got {min_support}")
    conf, pred, hit = _validated(confidence, predicted, correct, n_classes)
    threshold = np.full(n_classes, math.nan)
    support = np.zeros(n_classes, dtype=np.int64)
    successes = np.zeros(n_classes, dtype=np.int64)
    pooled_threshold = math.nan
    if pooled:
        pooled_threshold = _scan(conf, hit, target, level, min_support)[0]
        if not math.isnan(pooled_threshold):
            above = conf >= pooled_threshold
            support = np.bincount(pred[above], minlength=n_classes).astype(np.int64)
            successes = np.bincount(pred[above & hit], minlength=n_classes).astype(np.int64)
            upper = 1.0 - clopper_pearson_lower_many(support - successes, support, level)
            threshold = np.where(upper < target, math.nan, pooled_threshold)
    else:
        for c in range(n_classes):
            mine = pred == c
            threshold[c], support[c], successes[c] = _scan(conf[mine], hit[mine], target, level, min_support)
    has = support > 0
    precision = np.where(has, successes / np.maximum(support, 1), math.nan)
    lower = np.where(has, clopper_pearson_lower_many(successes, support, level), math.nan)
    return ThresholdTable(
        threshold=threshold,
        support=support,
        precision=precision,
        lower_bound=lower,
        n_predicted=np.bincount(pred, minlength=n_classes).astype(np.int64),
        target=target,
        level=level,
        pooled_threshold=pooled_threshold,
    )
