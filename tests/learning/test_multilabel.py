"""One-vs-rest heads on real data (scikit-learn's digits): each class learnt on its own, state as arrays."""

from __future__ import annotations

import numpy as np
import pytest

from kolam.learning.heads import SoftmaxHead
from kolam.learning.multilabel import OneVsRestHead, pair_logits, sigmoid

datasets = pytest.importorskip("sklearn.datasets")


def _digits() -> tuple[np.ndarray, np.ndarray]:
    x, digit = datasets.load_digits(return_X_y=True)
    # two labels that can apply together: "even" and "five or more"
    targets = np.stack([(digit % 2 == 0), (digit >= 5)], axis=1).astype(float)
    return x.astype(np.float32), targets


def test_each_class_is_learnt_and_the_state_round_trips() -> None:
    x, y = _digits()
    train, test = slice(0, 1200), slice(1200, None)
    projected = SoftmaxHead(n_components=32, c=1.0).fit_projection(x)
    model = OneVsRestHead(projected).fit(x[train], y[train])
    probabilities = sigmoid(model.log_odds(x[test]))
    accuracy = ((probabilities >= 0.5) == (y[test] == 1)).mean(axis=0)
    assert accuracy.min() > 0.85  # both labels, each far above the 0.5 of a coin
    again = OneVsRestHead.from_arrays({k: np.asarray(v) for k, v in model.to_arrays().items()})
    assert np.allclose(again.log_odds(x[test]), model.log_odds(x[test]))


def test_pair_logits_and_bad_targets() -> None:
    assert pair_logits([[1.0, -2.0]]).tolist() == [[0.0, 1.0], [0.0, -2.0]]
    assert np.allclose(sigmoid([0.0, 50.0, -50.0]), [0.5, 1.0, 0.0])
    x, _ = _digits()
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        OneVsRestHead(SoftmaxHead(n_components=8).fit_projection(x)).fit(x[:10], np.full((10, 2), 2.0))
    with pytest.raises(ValueError, match="not fitted"):
        OneVsRestHead(SoftmaxHead()).log_odds(x[:2])
