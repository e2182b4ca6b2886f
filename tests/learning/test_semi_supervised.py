"""Label spreading and agreeing pseudo-labels on scikit-learn's handwritten digits (1,797 real 8×8 images)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from kolam.learning.heads import SoftmaxHead
from kolam.learning.semi_supervised import (
    agreeing_pseudo_labels,
    label_spreading,
    nearest_neighbours,
    neighbour_graph,
    refit_with_pseudo_labels,
)

K = 10


@pytest.fixture(scope="module")
def digits() -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return x.astype(np.float64), y.astype(np.int64)


@pytest.fixture(scope="module")
def neighbours(digits: tuple[NDArray[np.float64], NDArray[np.int64]]) -> NDArray[np.int64]:
    return nearest_neighbours(digits[0], 10)


@pytest.fixture(scope="module")
def answered(digits: tuple[NDArray[np.float64], NDArray[np.int64]]) -> NDArray[np.int64]:
    """Three answers a class, seeded."""
    y = digits[1]
    rng = np.random.default_rng(7)
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), 3, replace=False) for c in range(K)]))


def test_nearest_neighbours_match_scikit_learn(
    digits: tuple[NDArray[np.float64], NDArray[np.int64]], neighbours: NDArray[np.int64]
) -> None:
    from sklearn.neighbors import NearestNeighbors

    x = digits[0]
    found = NearestNeighbors(n_neighbors=11, metric="cosine", algorithm="brute").fit(x).kneighbors(x)[1]
    ours = [set(row) for row in neighbours]
    theirs = [set(row) - {i} for i, row in enumerate(found)]
    same = np.mean([len(a & b) / 10 for a, b in zip(ours, theirs, strict=True)])
    assert neighbours.shape == (x.shape[0], 10)
    assert not np.any(neighbours == np.arange(x.shape[0])[:, None])
    assert same > 0.99  # only exact ties at the tenth neighbour may differ


def test_spreading_thirty_answers_labels_most_digits(
    digits: tuple[NDArray[np.float64], NDArray[np.int64]], neighbours: NDArray[np.int64], answered: NDArray[np.int64]
) -> None:
    y = digits[1]
    spread = label_spreading(neighbours, answered, y[answered], K)
    assert spread.shape == (y.size, K)
    np.testing.assert_allclose(spread.sum(axis=1), 1.0)
    assert np.array_equal(spread[answered].argmax(axis=1), y[answered])
    rest = np.setdiff1d(np.arange(y.size), answered)
    assert (spread[rest].argmax(axis=1) == y[rest]).mean() > 0.9


def test_agreeing_pseudo_labels_are_precise_and_help_the_head(
    digits: tuple[NDArray[np.float64], NDArray[np.int64]], neighbours: NDArray[np.int64], answered: NDArray[np.int64]
) -> None:
    x, y = digits
    head = SoftmaxHead(c=1.0).fit(x[answered], y[answered], K, unlabelled=x)
    spread = label_spreading(neighbours, answered, y[answered], K)
    chosen, classes = agreeing_pseudo_labels(head.predict_proba(x), spread, answered, share=0.8)
    assert np.intersect1d(chosen, answered).size == 0
    assert chosen.size > y.size / 2
    assert (classes == y[chosen]).mean() > 0.97
    rows = np.concatenate([answered, chosen])
    weights = np.concatenate([np.ones(answered.size), np.full(chosen.size, 0.5)])
    helped = SoftmaxHead(c=1.0).fit(
        x[rows], np.concatenate([y[answered], classes]), K, sample_weight=weights, keep_projection=False, unlabelled=x
    )
    rest = np.setdiff1d(np.arange(y.size), answered)
    before = (head.predict(x[rest]) == y[rest]).mean()
    after = (helped.predict(x[rest]) == y[rest]).mean()
    assert after > before + 0.02


def test_a_smaller_share_keeps_fewer_and_surer_items(
    digits: tuple[NDArray[np.float64], NDArray[np.int64]], neighbours: NDArray[np.int64], answered: NDArray[np.int64]
) -> None:
    x, y = digits
    head = SoftmaxHead(c=1.0).fit(x[answered], y[answered], K, unlabelled=x)
    spread = label_spreading(neighbours, answered, y[answered], K)
    p = head.predict_proba(x)
    wide, _ = agreeing_pseudo_labels(p, spread, answered, share=1.0)
    narrow, _ = agreeing_pseudo_labels(p, spread, answered, share=0.3)
    assert narrow.size < wide.size and np.isin(narrow, wide).all()


def test_refit_learns_from_agreeing_items_but_never_from_held_out_ones(
    digits: tuple[NDArray[np.float64], NDArray[np.int64]], answered: NDArray[np.int64]
) -> None:
    x, y = digits
    head = SoftmaxHead(n_components=32, c=1.0).fit(x[answered], y[answered], K, unlabelled=x)
    graph = neighbour_graph(head.transform(x))
    held_out = np.setdiff1d(np.arange(0, y.size, 7), answered)  # gold: never pseudo-labelled
    result = refit_with_pseudo_labels(head, x, graph, answered, y[answered], K, held_out=held_out, limit=1000)
    assert 0 < result.rows.size <= 1000
    assert not np.isin(result.rows, held_out).any() and not np.isin(result.rows, answered).any()
    assert (result.classes == y[result.rows]).mean() > 0.95
    assert result.head is not head and head.coef_ is not result.head.coef_  # the input head is left as it was
    before = (head.predict(x[held_out]) == y[held_out]).mean()
    after = (result.head.predict(x[held_out]) == y[held_out]).mean()
    assert after > before + 0.02


def test_refit_refuses_weights_that_do_not_match_the_answers(
    digits: tuple[NDArray[np.float64], NDArray[np.int64]], answered: NDArray[np.int64]
) -> None:
    x, y = digits
    head = SoftmaxHead(c=1.0).fit(x[answered], y[answered], K)
    graph = nearest_neighbours(x, 5)
    with pytest.raises(ValueError, match="one weight per labelled row"):
        refit_with_pseudo_labels(head, x, graph, answered, y[answered], K, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="pseudo_weight"):
        refit_with_pseudo_labels(head, x, graph, answered, y[answered], K, pseudo_weight=0.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: nearest_neighbours(np.zeros((1, 3)), 1), "n ≥ 2"),
        (lambda: nearest_neighbours(np.ones((5, 2)), 5), "k must be in"),
        (lambda: nearest_neighbours(np.array([[np.nan, 1.0], [1.0, 1.0]]), 1), "finite"),
        (lambda: label_spreading(np.array([[1], [0]]), np.array([0]), np.array([2]), 2), "class indices"),
        (lambda: label_spreading(np.array([[1], [0]]), np.array([0, 0]), np.array([1, 1]), 2), "distinct"),
        (lambda: label_spreading(np.array([[1], [5]]), np.array([0]), np.array([1]), 2), "index rows"),
        (lambda: label_spreading(np.array([[1], [0]]), np.array([], dtype=int), np.array([], dtype=int), 2), "one"),
        (lambda: label_spreading(np.array([[1], [0]]), np.array([0]), np.array([1]), 2, alpha=1.0), "alpha"),
        (lambda: agreeing_pseudo_labels(np.ones((3, 2)) / 2, np.ones((3, 3)) / 3, np.array([0])), "same"),
        (lambda: agreeing_pseudo_labels(np.ones((3, 2)) / 2, np.ones((3, 2)) / 2, np.array([0]), share=0), "share"),
        (lambda: agreeing_pseudo_labels(np.ones((3, 2)) / 2, np.ones((3, 2)) / 2, np.array([0]), limit=-1), "limit"),
    ],
    ids=[
        "one-row",
        "k-too-large",
        "nan-embedding",
        "label-out-of-range",
        "repeated-index",
        "neighbour-out-of-range",
        "no-answers",
        "alpha-one",
        "shape-mismatch",
        "zero-share",
        "negative-limit",
    ],
)
def test_bad_input_is_refused_with_a_reason(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]
