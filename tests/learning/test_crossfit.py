"""Cross-fitting: stratified folds, and no item scored by a model that saw it."""

from __future__ import annotations

import numpy as np
import pytest

from kolam.learning.crossfit import out_of_fold, stratified_folds


def test_folds_spread_each_class_evenly(rng: np.random.Generator) -> None:
    labels = rng.integers(0, 4, size=1003)
    fold = stratified_folds(labels, 5, seed=1)
    assert fold.min() == 0 and fold.max() == 4
    for c in range(4):
        counts = np.bincount(fold[labels == c], minlength=5)
        assert counts.max() - counts.min() <= 1


def test_folds_are_deterministic_given_a_seed() -> None:
    labels = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2])
    assert np.array_equal(stratified_folds(labels, 3, seed=7), stratified_folds(labels, 3, seed=7))


def test_out_of_fold_never_scores_an_item_with_a_model_that_saw_it(rng: np.random.Generator) -> None:
    labels = rng.integers(0, 3, size=200)
    seen: list[set[int]] = []

    def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        assert not set(train.tolist()) & set(test.tolist())
        seen.append(set(test.tolist()))
        # a "model" that predicts the majority class of its training part
        majority = np.bincount(labels[train], minlength=3).argmax()
        scores = np.zeros((test.size, 3))
        scores[:, majority] = 1.0
        return scores

    scores = out_of_fold(fit_predict, labels, folds=4)
    assert scores.shape == (200, 3)
    assert set().union(*seen) == set(range(200))
    assert np.allclose(scores.sum(axis=1), 1.0)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="folds must be at least 2"):
        stratified_folds(np.zeros(4, dtype=int), 1)
    with pytest.raises(ValueError, match=r"must return \(2, k\) scores"):
        out_of_fold(lambda train, test: np.zeros(3), np.array([0, 1, 0, 1]), folds=2)
