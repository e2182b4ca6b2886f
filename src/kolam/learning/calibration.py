"""Calibration: make a model's confidence mean what it says before anything trusts it.

A model's top-class probability is rarely its accuracy (networks are over-confident), so it is recalibrated on
human-settled items: ``TemperatureScaling`` (one parameter, keeps the ranking) or ``IsotonicCalibration``
(monotone, non-parametric). ``kolam.learning.auto_accept`` then decides when the calibrated model may label alone.
"""

from __future__ import annotations

import math
from typing import Literal, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "IsotonicCalibration",
    "TemperatureScaling",
    "expected_calibration_error",
    "negative_log_likelihood",
    "softmax",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

_TINY = 1e-300


def _logits_and_labels(logits: ArrayLike, labels: ArrayLike) -> tuple[FloatArray, IntArray]:
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] < 2:
        raise ValueError(f"logits must be an (n, k) array with n ≥ 1 and k ≥ 2, got shape {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("logits must be finite")
    y = np.asarray(labels)
    if y.shape != (z.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be {z.shape[0]} integer class indices, got shape {y.shape}, {y.dtype}")
    if np.any((y < 0) | (y >= z.shape[1])):
        raise ValueError(f"labels must be in [0, {z.shape[1]})")
    return z, y.astype(np.int64)


def softmax(logits: ArrayLike) -> FloatArray:
    """Row-wise softmax, shifted by the row maximum so that large logits cannot overflow."""
    z = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(z - z.max(axis=-1, keepdims=True))
    result: FloatArray = shifted / shifted.sum(axis=-1, keepdims=True)
    return result


def negative_log_likelihood(probabilities: ArrayLike, labels: ArrayLike) -> float:
    """Mean −log p(true class); probabilities are clipped at 1e-300 so a confident miss is large, not inf."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels)
    if p.ndim != 2 or y.shape != (p.shape[0],) or p.shape[0] == 0:
        raise ValueError(f"need probabilities (n, k) and labels (n,) with n ≥ 1, got {p.shape} and {y.shape}")
    return float(-np.mean(np.log(np.maximum(p[np.arange(y.size), y], _TINY))))


def expected_calibration_error(confidence: ArrayLike, correct: ArrayLike, n_bins: int = 15) -> float:
    """ECE = Σ_b (n_b / n) · |accuracy_b − mean confidence_b| over ``n_bins`` equal-width bins of [0, 1]."""
    conf = np.asarray(confidence, dtype=np.float64)
    hit = np.asarray(correct, dtype=np.float64)
    if conf.ndim != 1 or hit.shape != conf.shape or conf.size == 0:
        raise ValueError("confidence and correct must be non-empty one-dimensional arrays of the same length")
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    bins = np.clip((conf * n_bins).astype(np.int64), 0, n_bins - 1)
    gap = np.bincount(bins, weights=hit - conf, minlength=n_bins)
    return float(np.abs(gap).sum() / conf.size)


class TemperatureScaling:
    """p = softmax(z / T) with the one T > 0 that minimises the negative log-likelihood of held-out labels.

    With a = 1/T, NLL(a) = mean_i [log Σ_j exp(a z_ij) − a z_iy]; its derivative g(a) = mean_i (E_p[z_i] − z_iy)
    and second derivative mean_i Var_p[z_i] ≥ 0, so NLL is convex in a and g has one sign change. It is found by
    Newton steps on a, safeguarded by bisection in log a inside a shrinking bracket; T is kept in
    [``min_temperature``, ``max_temperature``] (a perfectly separated set would otherwise drive T to 0).
    """

    def __init__(
        self, min_temperature: float = 0.01, max_temperature: float = 100.0, n_iter: int = 100, tol: float = 1e-10
    ) -> None:
        if not 0 < min_temperature < max_temperature:
            raise ValueError(f"need 0 < min_temperature < max_temperature, got {min_temperature}, {max_temperature}")
        if n_iter < 1 or tol <= 0:
            raise ValueError(f"n_iter must be ≥ 1 and tol > 0, got n_iter={n_iter}, tol={tol}")
        self.min_temperature = min_temperature
        self.max_temperature = max_temperature
        self.n_iter = n_iter
        self.tol = tol

    @staticmethod
    def _moments(z: FloatArray, y: IntArray, a: float, w: FloatArray) -> tuple[float, float, float]:
        """NLL, its derivative and its second derivative in a = 1/T; ``w``: row weights summing to 1."""
        scaled = a * z
        top = scaled.max(axis=1, keepdims=True)
        weights = np.exp(scaled - top)
        total = weights.sum(axis=1)
        p = weights / total[:, None]
        mean_z = (p * z).sum(axis=1)
        var_z = np.maximum((p * z * z).sum(axis=1) - mean_z**2, 0.0)
        picked = z[np.arange(y.size), y]
        nll = float(w @ (np.log(total) + top[:, 0] - a * picked))
        return nll, float(w @ (mean_z - picked)), float(w @ var_z)

    def fit(self, logits: ArrayLike, labels: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Fit T on held-out ``logits`` (n, k) and ``labels`` (n,); ``sample_weight`` (n,) ≥ 0 weighs the rows —
        with each item repeated once per class and weighted by a soft label (e.g. a crowd posterior), the NLL
        is the expected NLL of the unknown true labels."""
        z, y = _logits_and_labels(logits, labels)
        if sample_weight is None:
            w = np.full(y.size, 1.0 / y.size)
        else:
            w = np.asarray(sample_weight, dtype=np.float64)
            if w.shape != y.shape or not np.all(np.isfinite(w)) or w.min() < 0 or w.sum() <= 0:
                raise ValueError(f"sample_weight must be {y.size} finite non-negative numbers, not all zero")
            w = w / w.sum()
        low, high = 1.0 / self.max_temperature, 1.0 / self.min_temperature
        a = min(max(1.0, low), high)
        self.loss_history_: list[float] = []
        for _ in range(self.n_iter):
            nll, grad, curvature = self._moments(z, y, a, w)
            self.loss_history_.append(nll)
            if abs(grad) * a < self.tol:
                break
            if grad > 0:
                high = a
            else:
                low = a
            if high / low - 1.0 < self.tol:
                break
            step = a - grad / curvature if curvature > 0 else math.nan
            a = step if low < step < high else math.sqrt(low * high)
        self.n_iter_ = len(self.loss_history_)
        self.temperature_ = float(min(max(1.0 / a, self.min_temperature), self.max_temperature))
        return self

    def transform(self, logits: ArrayLike) -> FloatArray:
        """Calibrated probabilities softmax(logits / T), shape (n, k)."""
        return softmax(np.asarray(logits, dtype=np.float64) / self.temperature_)


def _pool_adjacent_violators(y: FloatArray, w: FloatArray) -> FloatArray:
    """Weighted least-squares non-decreasing fit to ``y`` (already in x order): merge any adjacent blocks whose
    means decrease into one block at their weighted mean, until none do (Ayer et al. 1955). O(n) amortised."""
    means: list[float] = []
    weights: list[float] = []
    sizes: list[int] = []
    for value, weight in zip(y.tolist(), w.tolist(), strict=True):
        means.append(value)
        weights.append(weight)
        sizes.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            merged = weights[-2] + weights[-1]
            means[-2] = (means[-2] * weights[-2] + means[-1] * weights[-1]) / merged
            weights[-2] = merged
            sizes[-2] += sizes[-1]
            del means[-1], weights[-1], sizes[-1]
    return np.repeat(np.asarray(means, dtype=np.float64), sizes)


class IsotonicCalibration:
    """Maps a top-class confidence to the probability that the prediction is right, by isotonic regression.

    ``fit`` pools tied confidences (their mean correctness, weighted by count), then runs pool-adjacent-
    violators, giving the non-decreasing step function closest in squared error to the observed correctness;
    ``predict`` interpolates it (``"linear"`` between the fitted points, or ``"step"``: the value at the largest
    fitted confidence ≤ x) and holds the end values outside the fitted range. Outputs are means of 0/1, so in
    [0, 1].
    """

    def __init__(self, interpolation: Literal["linear", "step"] = "linear") -> None:
        if interpolation not in ("linear", "step"):
            raise ValueError(f"interpolation must be 'linear' or 'step', got {interpolation!r}")
        self.interpolation = interpolation

    def fit(self, confidences: ArrayLike, correct: ArrayLike) -> Self:
        x = np.asarray(confidences, dtype=np.float64)
        hit = np.asarray(correct)
        if x.ndim != 1 or x.size == 0 or hit.shape != x.shape:
            raise ValueError("confidences and correct must be non-empty one-dimensional arrays of the same length")
        if not np.all(np.isfinite(x)):
            raise ValueError("confidences must be finite")
        if hit.dtype != np.bool_ and not np.all((hit == 0) | (hit == 1)):
            raise ValueError("correct must be boolean (or 0/1)")
        unique, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
        mean_hit = np.bincount(inverse, weights=hit.astype(np.float64)) / counts
        self.x_: FloatArray = unique
        self.y_: FloatArray = _pool_adjacent_violators(mean_hit, counts.astype(np.float64))
        return self

    def predict(self, confidences: ArrayLike) -> FloatArray:
        x = np.asarray(confidences, dtype=np.float64)
        if self.interpolation == "linear":
            linear: FloatArray = np.interp(x, self.x_, self.y_)
            return linear
        index = np.clip(np.searchsorted(self.x_, x, side="right") - 1, 0, self.x_.size - 1)
        step: FloatArray = self.y_[index]
        return step


# -- Clopper–Pearson ------------------------------------------------------------------------------------------
