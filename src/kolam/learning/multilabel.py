"""One-vs-rest heads for multi-label projects (a moderation item may be both spam and a scam).

Each class gets its own binary softmax head on the *same* standardised, whitened projection (fitted once),
so a class is judged on its own evidence and the model costs one projection plus k small linear layers. The
output per class is a log-odds; one shared temperature (fitted on every item–class pair out of fold)
calibrates them, and ``sigmoid(log_odds / T)`` is the probability that the class applies.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kolam.learning.heads import SoftmaxHead

__all__ = ["OneVsRestHead", "pair_logits", "sigmoid"]

FloatArray = NDArray[np.float64]


def sigmoid(z: ArrayLike) -> FloatArray:
    x = np.asarray(z, dtype=np.float64)
    out: FloatArray = np.exp(-np.logaddexp(0.0, -x))
    return out


def pair_logits(log_odds: ArrayLike) -> FloatArray:
    """(n, k) log-odds as (n·k, 2) two-class logits [0, z]: what ``TemperatureScaling`` fits one T on."""
    z = np.asarray(log_odds, dtype=np.float64).reshape(-1)
    return np.stack([np.zeros_like(z), z], axis=1)


class OneVsRestHead:
    """k binary heads sharing ``projected``'s projection (a ``SoftmaxHead`` after ``fit_projection``)."""

    def __init__(self, projected: SoftmaxHead) -> None:
        self.projected = projected
        self.heads: list[SoftmaxHead] = []

    def fit(self, x: ArrayLike, targets: ArrayLike, *, sample_weight: ArrayLike | None = None) -> OneVsRestHead:
        """``targets``: (n, k) 0/1 (or probabilities) — whether each class applies to each item."""
        y = np.asarray(targets, dtype=np.float64)
        if y.ndim != 2 or y.shape[1] < 1:
            raise ValueError(f"targets must be an (n, k) array, got shape {y.shape}")
        if np.any((y < 0) | (y > 1)):
            raise ValueError("targets must lie in [0, 1]")
        self.heads = []
        for c in range(y.shape[1]):
            soft = np.stack([1.0 - y[:, c], y[:, c]], axis=1)
            head = copy.deepcopy(self.projected)
            self.heads.append(head.fit(x, soft, 2, sample_weight=sample_weight, keep_projection=True))
        return self

    def log_odds(self, x: ArrayLike) -> FloatArray:
        if not self.heads:
            raise ValueError("the head is not fitted yet: call fit first")
        z = self.projected.transform(x)
        columns = [z @ (h.coef_[:, 1] - h.coef_[:, 0]) + (h.intercept_[1] - h.intercept_[0]) for h in self.heads]
        out: FloatArray = np.stack(columns, axis=1)
        return out

    def to_arrays(self) -> dict[str, NDArray[Any]]:
        """The projection once and each class's weights stacked: plain arrays, no pickle."""
        if not self.heads:
            raise ValueError("the head is not fitted yet: call fit first")
        base = self.heads[0].to_arrays()
        return {
            **{k: v for k, v in base.items() if k not in ("coef", "intercept")},
            "coef": np.stack([h.coef_ for h in self.heads]),
            "intercept": np.stack([h.intercept_ for h in self.heads]),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, NDArray[Any]]) -> OneVsRestHead:
        coef, intercept = np.asarray(arrays["coef"]), np.asarray(arrays["intercept"])
        if coef.ndim != 3 or intercept.shape != (coef.shape[0], 2):
            raise ValueError(f"one-vs-rest state shapes disagree: coef {coef.shape}, intercept {intercept.shape}")
        shared = {k: v for k, v in arrays.items() if k not in ("coef", "intercept", "temperature")}
        heads = [
            SoftmaxHead.from_arrays({**shared, "coef": coef[c], "intercept": intercept[c]})
            for c in range(coef.shape[0])
        ]
        model = cls(heads[0])
        model.heads = heads
        return model
