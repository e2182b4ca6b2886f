"""The statistics of a client quality report: accuracy with intervals, confusion, confidence, load and agreement.

Every function takes flat arrays (one entry per answer or per item, classes and annotators as integer codes) and
returns arrays or plain dicts a report can serialise; empty input gives empty or zero results, never a warning.
Undefined figures are ``nan`` in arrays and ``None`` (with a reason) in dicts, which JSON can carry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kolam.quality.agreement import coincidence_matrix, fleiss_kappa, krippendorff_alpha
from kolam.quality.truth_base import index_array

__all__ = [
    "DEFAULT_CONFIDENCE_BINS",
    "AccuracyTable",
    "accuracy_by_annotator",
    "accuracy_by_class",
    "agreement_summary",
    "answers_per_item",
    "confidence_histogram",
    "confusion_matrix",
    "normalised_rows",
    "wilson_interval",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

DEFAULT_CONFIDENCE_BINS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)


def _z(confidence: float) -> float:
    """Two-sided normal quantile z_{1-α/2} for ``confidence`` = 1 - α (stdlib, so no SciPy dependency)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _wilson(successes: IntArray, n: IntArray, z: float) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval (Wilson 1927, "Probable inference, the law of succession, and statistical inference").

    With p̂ = s/n: centre = (p̂ + z²/2n) / (1 + z²/n), half-width = z/(1 + z²/n) · √(p̂(1 − p̂)/n + z²/4n²).
    Unlike p̂ ± z√(p̂(1 − p̂)/n) it stays inside [0, 1] and is not zero-width at 0/n or n/n. n = 0 gives [0, 1].
    """
    total = n.astype(np.float64)
    seen = total > 0
    safe = np.where(seen, total, 1.0)
    p = successes / safe
    z2 = z * z
    denominator = 1.0 + z2 / safe
    centre = (p + z2 / (2.0 * safe)) / denominator
    half = z / denominator * np.sqrt(p * (1.0 - p) / safe + z2 / (4.0 * safe * safe))
    # At s = 0 (s = n) the bound is exactly 0 (1); pin it rather than keep a rounding residue.
    low = np.where(seen & (successes > 0), np.clip(centre - half, 0.0, 1.0), 0.0)
    high = np.where(seen & (successes < n), np.clip(centre + half, 0.0, 1.0), 1.0)
    return low, high


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion of ``successes`` out of ``n``; (0.0, 1.0) when n = 0."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 ≤ successes ≤ n; got successes={successes}, n={n}")
    low, high = _wilson(np.array([successes]), np.array([n]), _z(confidence))
    return float(low[0]), float(high[0])


@dataclass(frozen=True)
class AccuracyTable:
    """Accuracy per group (annotator or class): counts, the proportion (nan where n = 0) and its Wilson interval."""

    n: IntArray
    correct: IntArray
    accuracy: FloatArray
    low: FloatArray
    high: FloatArray


def _flags(values: ArrayLike, n: int, name: str) -> BoolArray:
    array = np.asarray(values)
    if array.shape != (n,):
        raise ValueError(f"{name}: expected {n} values, one per answer; got shape {array.shape}")
    if array.size and array.dtype != np.bool_:
        raise ValueError(f"{name}: expected booleans; got {array.dtype}")
    return array.astype(np.bool_)


def _accuracy_table(groups: IntArray, correct: BoolArray, size: int, confidence: float) -> AccuracyTable:
    z = _z(confidence)
    n = np.bincount(groups, minlength=size).astype(np.int64)
    hits = np.bincount(groups, weights=correct.astype(np.float64), minlength=size).astype(np.int64)
    accuracy = np.divide(hits, n, out=np.full(size, np.nan), where=n > 0)
    low, high = _wilson(hits, n, z)
    return AccuracyTable(n=n, correct=hits, accuracy=accuracy, low=low, high=high)


def accuracy_by_annotator(
    workers: ArrayLike, correct: ArrayLike, n_workers: int, confidence: float = 0.95
) -> AccuracyTable:
    """Accuracy of each annotator ``0 .. n_workers-1`` over their scored answers (e.g. on gold items)."""
    who = index_array(workers, "workers", n_workers)
    return _accuracy_table(who, _flags(correct, who.size, "correct"), n_workers, confidence)


def accuracy_by_class(
    true_labels: ArrayLike, correct: ArrayLike, n_classes: int, confidence: float = 0.95
) -> AccuracyTable:
    """Accuracy per true class: how often an item whose known class is c was answered correctly."""
    truth = index_array(true_labels, "true_labels", n_classes)
    return _accuracy_table(truth, _flags(correct, truth.size, "correct"), n_classes, confidence)


def confusion_matrix(true_labels: ArrayLike, answered_labels: ArrayLike, n_classes: int) -> IntArray:
    """counts[t, a]: answers of class a on items whose known class is t (rows are the truth)."""
    truth = index_array(true_labels, "true_labels", n_classes)
    answered = index_array(answered_labels, "answered_labels", n_classes)
    if truth.size != answered.size:
        raise ValueError(f"true_labels and answered_labels differ in length ({truth.size} and {answered.size})")
    flat = np.bincount(truth * n_classes + answered, minlength=n_classes * n_classes)
    return flat.astype(np.int64).reshape(n_classes, n_classes)


def normalised_rows(matrix: ArrayLike) -> FloatArray:
    """Each row divided by its sum, so row t is the answer distribution for true class t; all-zero rows stay 0."""
    counts = np.asarray(matrix, dtype=np.float64)
    if counts.ndim != 2:
        raise ValueError(f"expected a 2-D matrix; got shape {counts.shape}")
    totals = counts.sum(axis=1, keepdims=True)
    result: FloatArray = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    return result


def confidence_histogram(
    confidences: ArrayLike, bins: Sequence[float] = DEFAULT_CONFIDENCE_BINS
) -> list[dict[str, float]]:
    """Counts of confidences per bin ``[low, high)``, the last bin closed; the bins always cover [0, 1].

    ``bins`` are increasing edges in [0, 1]; 0 and 1 are added when missing, so values below the first edge fall
    in a bin from 0 (a model's or a consensus's confidence is often at least 1/k, so the default starts at 0.5).
    """
    values = np.asarray(confidences, dtype=np.float64).ravel()
    edges = np.asarray(bins, dtype=np.float64)
    if edges.ndim != 1 or edges.size == 0 or (np.diff(edges) <= 0).any() or edges[0] < 0 or edges[-1] > 1:
        raise ValueError(f"bins must be strictly increasing edges in [0, 1]; got {list(bins)}")
    if values.size and (np.isnan(values).any() or values.min() < 0 or values.max() > 1):
        raise ValueError("confidences must be numbers in [0, 1]")
    edges = np.unique(np.concatenate(([0.0], edges, [1.0])))
    k = edges.size - 1
    index = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, k - 1)
    counts = np.bincount(index, minlength=k)
    return [{"low": float(edges[i]), "high": float(edges[i + 1]), "count": int(counts[i])} for i in range(k)]


def answers_per_item(counts: ArrayLike) -> dict[str, float]:
    """How many answers the items got: mean, median, 90th percentile (linear), max and total; zeros if no items."""
    per_item = np.asarray(counts).ravel()
    if per_item.size == 0:
        return {"mean": 0.0, "median": 0.0, "p90": 0.0, "max": 0, "total": 0}
    if not np.issubdtype(per_item.dtype, np.integer) or per_item.min() < 0:
        raise ValueError("counts must be non-negative integers, one per item")
    return {
        "mean": float(per_item.mean()),
        "median": float(np.median(per_item)),
        "p90": float(np.percentile(per_item, 90)),
        "max": int(per_item.max()),
        "total": int(per_item.sum()),
    }


def _reliability_matrix(tasks: IntArray, labels: IntArray) -> tuple[FloatArray, IntArray, int]:
    """Answers of items with ≥ 2 answers as a slots x units matrix (NaN for missing), answers per unit, items.

    Nominal alpha depends only on which values each unit got, not on who gave them, so row r holds every
    unit's r-th answer: at most (max answers per item) rows, however many annotators the project has.
    """
    order = np.argsort(tasks, kind="stable")
    sorted_tasks, sorted_labels = tasks[order], labels[order]
    starts = np.ones(tasks.size, dtype=bool)
    starts[1:] = sorted_tasks[1:] != sorted_tasks[:-1]
    first = np.flatnonzero(starts)
    per_unit = np.diff(np.r_[first, tasks.size])
    unit = np.repeat(np.arange(first.size), per_unit)
    slot = np.arange(tasks.size) - first[unit]
    pairable = per_unit >= 2
    keep = pairable[unit]
    renumber = np.cumsum(pairable) - 1
    counts = per_unit[pairable].astype(np.int64)
    matrix = np.full((int(counts.max()) if counts.size else 0, counts.size), np.nan)
    matrix[slot[keep], renumber[unit[keep]]] = sorted_labels[keep]
    return matrix, counts, int(first.size)


def _finite_or_none(value: float) -> float | None:
    return None if math.isnan(value) else value


def _per_class_alpha(matrix: FloatArray, n_classes: int) -> list[float | None]:
    """One-vs-rest nominal alpha per class from the full coincidence matrix.

    Merging categories sums coincidences, so for class c with o_cc its self-coincidences, n_c its pairable
    values and n the total: D_o ∝ 2(n_c − o_cc), D_e ∝ 2 n_c (n − n_c), and
    alpha_c = 1 − (n − 1)(n_c − o_cc) / (n_c (n − n_c)); None when c is never or always used (D_e = 0).
    This equals ``krippendorff_alpha`` on the data recoded as (label == c), in one pass for all classes.
    """
    coincidences = coincidence_matrix(matrix)
    codes = coincidences.values.astype(np.int64)
    n_c = np.zeros(n_classes)
    o_cc = np.zeros(n_classes)
    n_c[codes] = coincidences.n_values
    o_cc[codes] = np.diag(coincidences.matrix)
    n = float(n_c.sum())
    expected = n_c * (n - n_c)
    alpha = 1.0 - (n - 1.0) * (n_c - o_cc) / np.where(expected > 0, expected, 1.0)
    return [float(a) if e > 0 else None for a, e in zip(alpha, expected, strict=True)]


def _fleiss(matrix: FloatArray, per_unit: IntArray, n_classes: int) -> tuple[float | None, str | None]:
    if per_unit.min() != per_unit.max():
        return None, f"items have {per_unit.min()} to {per_unit.max()} answers; Fleiss' kappa needs equal numbers"
    present = ~np.isnan(matrix)
    units = np.broadcast_to(np.arange(matrix.shape[1]), matrix.shape)[present]
    flat = units * n_classes + matrix[present].astype(np.int64)
    table = np.bincount(flat, minlength=matrix.shape[1] * n_classes).reshape(matrix.shape[1], n_classes)
    kappa = _finite_or_none(fleiss_kappa(table).kappa)
    return kappa, None if kappa is not None else "every answer has the same class; agreement beyond chance is undefined"


def agreement_summary(tasks: ArrayLike, workers: ArrayLike, labels: ArrayLike, n_classes: int) -> dict[str, Any]:
    """Inter-annotator agreement of a single-label project, one entry per answer (task, worker, label).

    Items with a single answer carry no agreement information and are skipped (counted in ``skipped_items``).
    Returns ``krippendorff_alpha`` (nominal), ``fleiss_kappa`` (only where every remaining item has the same
    number of answers) and ``per_class_alpha`` (class c against the rest), each ``None`` when undefined, with
    ``alpha_reason`` / ``fleiss_reason`` saying why. ``workers`` is checked but does not enter the coefficients:
    nominal alpha and Fleiss' kappa compare the values within an item, whoever gave them.
    """
    task = np.asarray(tasks)
    if task.ndim != 1 or (task.size and not np.issubdtype(task.dtype, np.integer)):
        raise ValueError("tasks: expected a 1-D array of integer item ids")
    task = task.astype(np.int64)
    worker = np.asarray(workers)
    if worker.shape != task.shape:
        raise ValueError(f"workers: expected {task.size} values, one per answer; got shape {worker.shape}")
    label = index_array(labels, "labels", n_classes)
    if label.size != task.size:
        raise ValueError(f"labels: expected {task.size} values, one per answer; got {label.size}")
    matrix, per_unit, n_items = _reliability_matrix(task, label)
    summary: dict[str, Any] = {
        "items": n_items,
        "pairable_items": int(per_unit.size),
        "skipped_items": n_items - int(per_unit.size),
        "pairable_answers": int(per_unit.sum()),
        "krippendorff_alpha": None,
        "alpha_reason": None,
        "fleiss_kappa": None,
        "fleiss_reason": None,
        "per_class_alpha": [None] * n_classes,
    }
    if per_unit.size == 0:
        reason = "no item has two or more answers"
        return summary | {"alpha_reason": reason, "fleiss_reason": reason}
    alpha = _finite_or_none(krippendorff_alpha(matrix, "nominal"))
    fleiss, fleiss_reason = _fleiss(matrix, per_unit, n_classes)
    return summary | {
        "krippendorff_alpha": alpha,
        "alpha_reason": None if alpha is not None else "every answer has the same class; alpha is undefined",
        "fleiss_kappa": fleiss,
        "fleiss_reason": fleiss_reason,
        "per_class_alpha": _per_class_alpha(matrix, n_classes),
    }
