"""Pseudo-labels in training, and the cross-validated choice whether to use them.

``PseudoLabels`` holds the pool the unlabelled items lend labels from (settled rows first, gold next, never
pseudo-labelled, then the unlabelled) and its k-NN graph, built once per training and shared by every fold;
``CrossValidated`` scores one way of fitting out of fold, so ``services.training`` can compare the head with and
without pseudo-labels on the same folds and deploy the better (with few unlabelled items they can hurt).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from kolam.learning.calibration import TemperatureScaling, softmax
from kolam.learning.crossfit import out_of_fold
from kolam.learning.heads import SoftmaxHead
from kolam.learning.semi_supervised import neighbour_graph, refit_with_pseudo_labels

if TYPE_CHECKING:
    from kolam.services.training_data import TrainingData

PSEUDO_POOL = 100_000
"""Most items in the k-NN graph for pseudo-labels (a seeded sample of the unlabelled beyond): the search is
brute force, O(n²) — about a minute at 60,000 items on two cores."""


@dataclass(frozen=True)
class CrossValidated:
    """Out-of-fold logits of one way of fitting, their temperature, and the score that compares two ways."""

    logits: NDArray[np.float64]
    temperature: float
    correct: int
    log_loss: float
    n: int

    @classmethod
    def of(cls, fit: Callable[[NDArray[np.int64]], SoftmaxHead], data: TrainingData, folds: int) -> CrossValidated:
        logits = out_of_fold(lambda train, test: fit(train).logits(data.x[test]), data.y, folds=folds)
        temperature = TemperatureScaling().fit(logits, data.y).temperature_
        p = softmax(logits / temperature)
        picked = np.clip(p[np.arange(data.n), data.y], 1e-12, 1.0)
        correct = int((p.argmax(axis=1) == data.y).sum())
        return cls(logits, temperature, correct, float(-np.mean(np.log(picked))), data.n)

    @property
    def accuracy(self) -> float:
        return self.correct / self.n

    def beats(self, other: CrossValidated) -> bool:
        return (self.correct, -self.log_loss) > (other.correct, -other.log_loss)


@dataclass
class PseudoLabels:
    """The pool the unlabelled items lend pseudo-labels from: settled rows first (0..n−1), gold next (held
    out), then unlabelled items; its k-NN graph is built once per training and shared by every fold."""

    pool: NDArray[np.float32]
    neighbours: NDArray[np.int64]
    gold: NDArray[np.int64]
    last_count: int = 0

    @classmethod
    def build(cls, projected: SoftmaxHead, data: TrainingData) -> PseudoLabels | None:
        if data.unlabelled.shape[0] == 0:
            return None
        room = max(0, PSEUDO_POOL - data.n - data.gold_x.shape[0])
        unlabelled = data.unlabelled
        if unlabelled.shape[0] > room:
            keep = np.sort(np.random.default_rng(0).choice(unlabelled.shape[0], room, replace=False))
            unlabelled = unlabelled[keep]
        pool = np.vstack([data.x, data.gold_x, unlabelled])
        gold = np.arange(data.n, data.n + data.gold_x.shape[0], dtype=np.int64)
        return cls(pool, neighbour_graph(projected.transform(pool)), gold)

    def refit(self, head: SoftmaxHead, data: TrainingData, rows: NDArray[np.int64]) -> SoftmaxHead:
        result = refit_with_pseudo_labels(
            head, self.pool, self.neighbours, rows, data.y[rows], len(data.names),
            sample_weight=data.weight[rows], held_out=self.gold,
        )  # fmt: skip
        self.last_count = int(result.rows.size)
        return result.head
