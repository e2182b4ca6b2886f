"""Out-of-fold predictions: every settled item scored by a model that never saw it.

Calibration and auto-accept thresholds must be fitted on predictions the model did not train on, or the model
looks surer and better than it is. Holding out a fixed calibration slice wastes labels a small project cannot
spare; cross-fitting (k folds, each scored by the model trained on the others) uses every label for both, and
the final model is then trained on all of them. Folds are stratified so rare classes appear in each.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["out_of_fold", "stratified_folds"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

FitPredict = Callable[[IntArray, IntArray], FloatArray]
"""(train rows, test rows) -> the test rows' scores, shape (len(test), k): fit on one part, score the other."""


def stratified_folds(labels: ArrayLike, folds: int, seed: int = 0) -> IntArray:
    """A fold number in [0, folds) per item; each class spread evenly over the folds, in a seeded random order."""
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {y.shape}")
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(y.size)
    by_class = order[np.argsort(y[order], kind="stable")]  # shuffled within each class
    _, first = np.unique(y[by_class], return_index=True)
    rank = np.arange(y.size) - np.repeat(first, np.diff(np.append(first, y.size)))
    offset = np.repeat(rng.integers(folds, size=first.size), np.diff(np.append(first, y.size)))
    fold = np.empty(y.size, dtype=np.int64)
    fold[by_class] = (rank + offset) % folds
    return fold


def out_of_fold(fit_predict: FitPredict, labels: ArrayLike, folds: int = 5, seed: int = 0) -> FloatArray:
    """Scores for every item from the fold model that did not see it; rows in the order of ``labels``."""
    y = np.asarray(labels)
    fold = stratified_folds(y, min(folds, y.size), seed)
    result: FloatArray | None = None
    for f in range(int(fold.max()) + 1):
        test = np.flatnonzero(fold == f)
        train = np.flatnonzero(fold != f)
        if test.size == 0:
            continue
        scores = np.asarray(fit_predict(train, test), dtype=np.float64)
        if scores.ndim != 2 or scores.shape[0] != test.size:
            raise ValueError(f"fit_predict must return ({test.size}, k) scores, got shape {scores.shape}")
        if result is None:
            result = np.zeros((y.size, scores.shape[1]))
        result[test] = scores
    assert result is not None
    return result
