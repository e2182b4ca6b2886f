"""Exact binomial bounds: the one-sided Clopper–Pearson lower bound of a proportion, in NumPy.

The binomial tail is the regularised incomplete beta function, P(X ≥ k | n, p) = I_p(k, n − k + 1), evaluated
with a log-space prefactor and Lentz's continued fraction; the bound solves P(X ≥ k | n, p) = 1 − confidence.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["binomial_upper_tail", "check_level", "clopper_pearson_lower", "clopper_pearson_lower_many"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

_TINY = 1e-300
_EPS = 1e-15
"""Lentz's method stops once a term changes the continued fraction by less than this (a few ulps)."""
_MAX_CF_ITER = 100_000
_lgamma = np.vectorize(math.lgamma, otypes=[np.float64])


def _beta_continued_fraction(a: FloatArray, b: FloatArray, x: FloatArray) -> FloatArray:
    """The continued fraction of I_x(a, b) by the modified Lentz method (Numerical Recipes §6.4), vectorised;
    converges in O(√max(a, b)) terms when x < (a + 1)/(a + b + 2)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = np.ones_like(x)
    d = 1.0 - qab * x / qap
    d = 1.0 / np.where(np.abs(d) < _TINY, _TINY, d)
    h = d.copy()
    active = np.ones(x.shape, dtype=np.bool_)
    for m in range(1, _MAX_CF_ITER + 1):
        m2 = 2.0 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / np.where(np.abs(d) < _TINY, _TINY, d)
            c = 1.0 + numerator / c
            c = np.where(np.abs(c) < _TINY, _TINY, c)
            delta = d * c
            h = np.where(active, h * delta, h)
        active &= np.abs(delta - 1.0) > _EPS
        if not active.any():
            break
    return h


def _betainc(a: FloatArray, b: FloatArray, x: FloatArray) -> FloatArray:
    """Regularised incomplete beta I_x(a, b) for a, b > 0 and x in [0, 1]; the prefactor
    x^a (1 − x)^b / B(a, b) is formed in log space with lgamma, so large n cannot overflow."""
    inside = (x > 0.0) & (x < 1.0)
    xs = np.where(inside, x, 0.5)
    log_front = _lgamma(a + b) - _lgamma(a) - _lgamma(b) + a * np.log(xs) + b * np.log1p(-xs)
    front = np.exp(log_front)
    direct = xs < (a + 1.0) / (a + b + 2.0)
    # Evaluate the fraction where it converges fast: directly, or through I_x(a, b) = 1 − I_{1−x}(b, a).
    fa, fb, fx = np.where(direct, a, b), np.where(direct, b, a), np.where(direct, xs, 1.0 - xs)
    fraction = front * _beta_continued_fraction(fa, fb, fx) / fa
    value = np.where(direct, fraction, 1.0 - fraction)
    result: FloatArray = np.where(inside, np.clip(value, 0.0, 1.0), np.where(x >= 1.0, 1.0, 0.0))
    return result


def _counts(successes: ArrayLike, n: ArrayLike) -> tuple[IntArray, IntArray]:
    k, total = np.broadcast_arrays(np.asarray(successes), np.asarray(n))
    if k.size and not (np.issubdtype(k.dtype, np.integer) and np.issubdtype(total.dtype, np.integer)):
        raise ValueError("successes and n must be integers")
    if np.any((k < 0) | (k > total)):
        raise ValueError("need 0 ≤ successes ≤ n")
    return k.astype(np.int64), total.astype(np.int64)


def check_level(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be in (0, 1), got {value}")


def binomial_upper_tail(successes: ArrayLike, n: ArrayLike, p: float) -> FloatArray:
    """P(X ≥ k) for X ~ Binomial(n, p), elementwise: I_p(k, n − k + 1), and 1 where k = 0."""
    k, total = _counts(successes, n)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    positive = k > 0
    a = np.where(positive, k, 1).astype(np.float64)
    tail = _betainc(a, (total - k + 1).astype(np.float64), np.full(k.shape, p, dtype=np.float64))
    result: FloatArray = np.where(positive, tail, 1.0)
    return result


def _solve_tail(a: FloatArray, b: FloatArray, alpha: float) -> FloatArray:
    """The p with I_p(a, b) = alpha, elementwise: Newton steps (the derivative is the beta density
    p^(a−1) (1 − p)^(b−1) / B(a, b)) kept inside a bisection bracket, so it converges in a few steps and
    cannot diverge."""
    lo, hi = np.zeros(a.shape), np.ones(a.shape)
    p = a / (a + b)
    log_beta = _lgamma(a) + _lgamma(b) - _lgamma(a + b)
    for _ in range(200):
        excess = _betainc(a, b, p) - alpha
        hi, lo = np.where(excess > 0, p, hi), np.where(excess > 0, lo, p)
        density = np.exp((a - 1.0) * np.log(p) + (b - 1.0) * np.log1p(-p) - log_beta)
        newton = p - excess / np.maximum(density, _TINY)
        step = np.where((newton > lo) & (newton < hi), newton, 0.5 * (lo + hi))
        done = (np.abs(step - p) <= 1e-15 * np.maximum(p, 1e-300)) | (hi - lo <= 1e-16)
        p = step
        if done.all():
            break
    return p


def clopper_pearson_lower_many(successes: ArrayLike, n: ArrayLike, confidence: float = 0.95) -> FloatArray:
    """One-sided Clopper–Pearson lower bounds, elementwise: the p with P(X ≥ k | n, p) = 1 − confidence.

    The tail grows with p, so a bracketed Newton search finds it (``_solve_tail``). k = 0 gives 0; k = n has the
    closed form (1 − confidence)^(1/n); n = 0 gives 0 (nothing observed, nothing guaranteed).
    """
    check_level("confidence", confidence)
    k, total = _counts(successes, n)
    alpha = 1.0 - confidence
    low = np.zeros(k.shape)
    inner = (k > 0) & (k < total)
    if inner.any():
        low[inner] = _solve_tail(k[inner].astype(np.float64), (total[inner] - k[inner] + 1).astype(np.float64), alpha)
    full = (k > 0) & (k == total)
    safe_total = np.where(full, total, 1)
    result: FloatArray = np.where(full, alpha ** (1.0 / safe_total), low)
    return result


def clopper_pearson_lower(successes: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Clopper–Pearson lower bound of a binomial proportion (0.0 when successes = 0)."""
    return float(clopper_pearson_lower_many(np.array([successes]), np.array([n]), confidence)[0])


# -- auto-accept thresholds ---------------------------------------------------------------------------------
