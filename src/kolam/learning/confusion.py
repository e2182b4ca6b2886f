"""Confusion mining: which pairs of classes get mixed up, by the model or by people, ranked by how often.

Works on a confusion matrix (rows: the settled class, columns: the class given — by the model out of fold, or
by annotators against consensus). A pair's confusion is symmetric, C[a,b] + C[b,a]: "denim jacket taken for
navy shirt" and the reverse are one problem for the guidelines. Its rate divides by how often either class
occurs, so a rare pair that is always confused still ranks above a common pair confused now and then.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["ConfusedPair", "confused_pairs", "in_pair"]


@dataclass(frozen=True)
class ConfusedPair:
    a: int
    b: int
    a_as_b: int
    b_as_a: int
    rate: float

    @property
    def count(self) -> int:
        return self.a_as_b + self.b_as_a


def confused_pairs(confusion: ArrayLike, *, min_count: int = 3, top: int = 10) -> list[ConfusedPair]:
    """The ``top`` class pairs with at least ``min_count`` confusions, most confused (rate, then count) first."""
    c = np.asarray(confusion, dtype=np.int64)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"confusion must be a square matrix, got shape {c.shape}")
    if np.any(c < 0):
        raise ValueError("confusion counts must not be negative")
    rows = c.sum(axis=1)
    a, b = np.triu_indices(c.shape[0], k=1)
    counts = c[a, b] + c[b, a]
    keep = counts >= max(min_count, 1)
    a, b, counts = a[keep], b[keep], counts[keep]
    rates = counts / np.maximum(rows[a] + rows[b], 1)
    order = np.lexsort((a, -counts, -rates))[:top]
    return [ConfusedPair(int(a[i]), int(b[i]), int(c[a[i], b[i]]), int(c[b[i], a[i]]), float(rates[i])) for i in order]


def in_pair(probabilities: ArrayLike, pairs: list[ConfusedPair], *, max_margin: float = 0.5) -> np.ndarray:
    """Per item, whether its two most probable classes form one of ``pairs`` and are within ``max_margin``:
    the items a model places between two classes people (or it) often confuse."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"probabilities must be (n, k ≥ 2), got shape {p.shape}")
    if not pairs or p.shape[0] == 0:
        return np.zeros(p.shape[0], dtype=bool)
    top2 = np.argsort(-p, axis=1, kind="stable")[:, :2]
    first, second = top2[:, 0], top2[:, 1]
    low, high = np.minimum(first, second), np.maximum(first, second)
    k = p.shape[1]
    wanted = np.zeros(k * k, dtype=bool)
    for pair in pairs:
        wanted[min(pair.a, pair.b) * k + max(pair.a, pair.b)] = True
    rows = np.arange(p.shape[0])
    close = p[rows, first] - p[rows, second] <= max_margin
    result: np.ndarray = wanted[low * k + high] & close
    return result
