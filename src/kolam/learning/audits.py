"""Audits of auto-accepted labels: a random share goes to people, and what they find can switch a class off.

Thresholds chosen on a calibration slice promise precision ≥ target on items like those; the audit sample
checks the promise on the items actually accepted (new data drifts, a pooled threshold may suit one class
badly). Per predicted class, audited precision is re-estimated and a class is switched off once the one-sided
Clopper–Pearson *upper* bound of its precision falls below the target — i.e. once the audits show, at the
given level, that the class is worse than promised; a handful of audits with one miss is not yet such evidence.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kolam.learning.auto_accept import ThresholdTable
from kolam.learning.binomial import check_level, clopper_pearson_lower_many

__all__ = ["AuditReport", "audit_classes", "choose_audits", "switch_off"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class AuditReport:
    """Per predicted class: audits ``n`` and how many the auditors confirmed (``confirmed``), the audited
    ``precision`` (nan without audits), its Clopper–Pearson ``lower_bound`` and ``upper_bound`` at ``level``,
    and ``below_target``: classes whose upper bound is under ``target`` (auto-accept must stop)."""

    n: IntArray
    confirmed: IntArray
    precision: FloatArray
    lower_bound: FloatArray
    upper_bound: FloatArray
    below_target: BoolArray
    target: float
    level: float


def choose_audits(n_accepted: int, rate: float = 0.05, seed: int | None = None) -> BoolArray:
    """Which of ``n_accepted`` newly auto-accepted items go to people: each independently with ``rate``."""
    if n_accepted < 0:
        raise ValueError(f"n_accepted must be non-negative, got {n_accepted}")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    chosen: BoolArray = np.random.default_rng(seed).random(n_accepted) < rate
    return chosen


def audit_classes(
    predicted: ArrayLike, confirmed: ArrayLike, n_classes: int, target: float = 0.99, level: float = 0.95
) -> AuditReport:
    """Tally audits — the model's ``predicted`` class of each audited item and whether people ``confirmed``
    it — per class, and flag the classes shown to be below ``target``. Pass every audit so far (not just the
    latest batch): the evidence accumulates."""
    check_level("target", target)
    check_level("level", level)
    pred = np.asarray(predicted)
    ok = np.asarray(confirmed)
    if pred.ndim != 1 or ok.shape != pred.shape:
        raise ValueError(f"predicted and confirmed must be 1-d of one length, got {pred.shape} and {ok.shape}")
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1, got {n_classes}")
    if pred.size and (not np.issubdtype(pred.dtype, np.integer) or pred.min() < 0 or pred.max() >= n_classes):
        raise ValueError(f"predicted must be integer class indices in [0, {n_classes})")
    if ok.dtype != np.bool_ and not np.all((ok == 0) | (ok == 1)):
        raise ValueError("confirmed must be boolean (or 0/1)")
    pred, ok = pred.astype(np.int64), ok.astype(np.bool_)
    n = np.bincount(pred, minlength=n_classes).astype(np.int64)
    good = np.bincount(pred[ok], minlength=n_classes).astype(np.int64)
    has = n > 0
    upper = np.where(has, 1.0 - clopper_pearson_lower_many(n - good, n, level), math.nan)
    return AuditReport(
        n=n,
        confirmed=good,
        precision=np.where(has, good / np.maximum(n, 1), math.nan),
        lower_bound=np.where(has, clopper_pearson_lower_many(good, n, level), math.nan),
        upper_bound=upper,
        below_target=has & (upper < target),
        target=target,
        level=level,
    )


def switch_off(table: ThresholdTable, classes: ArrayLike) -> ThresholdTable:
    """The same table with auto-accept off (threshold nan) for ``classes`` (a boolean mask or indices)."""
    mask = np.zeros(table.threshold.size, dtype=np.bool_)
    chosen = np.asarray(classes)
    if chosen.dtype == np.bool_:
        if chosen.shape != mask.shape:
            raise ValueError(f"a class mask must have {mask.size} entries, got {chosen.shape}")
        mask = chosen
    elif chosen.size:
        if not np.issubdtype(chosen.dtype, np.integer) or chosen.min() < 0 or chosen.max() >= mask.size:
            raise ValueError(f"classes must be indices in [0, {mask.size})")
        mask[chosen] = True
    return dataclasses.replace(table, threshold=np.where(mask, math.nan, table.threshold))
