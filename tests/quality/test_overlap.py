"""Adaptive overlap: item posteriors by hand, their invariants, decisions at the boundaries, validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kolam.quality.overlap import (
    DEFAULT_ACCURACY,
    OverlapPolicy,
    confusions_for,
    decide,
    decide_many,
    default_confusion,
    item_posterior,
    population_accuracy,
    posteriors,
)
from kolam.quality.truth import DawidSkene

A = [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]]
B = [[0.9, 0.05, 0.05], [0.3, 0.6, 0.1], [0.25, 0.25, 0.5]]
C9, C8 = default_confusion(2, 0.9), default_confusion(2, 0.8)

# (labels, confusions, prior, expected posterior): products of the answered columns, times the prior, normalised
HAND_MADE = {
    "two-agree-uniform-prior": ([0, 0], [A, B], [1, 1, 1], np.array([0.72, 0.06, 0.025]) / 0.805),
    "two-agree-skewed-prior": ([0, 0], [A, B], [0.5, 0.25, 0.25], np.array([0.36, 0.015, 0.00625]) / 0.38125),
    "two-disagree": ([0, 2], [A, B], [1, 1, 1], np.array([0.8 * 0.05, 0.2 * 0.1, 0.1 * 0.5]) / 0.11),
    "one-answer": ([1], [A], [1, 1, 1], np.array([0.1, 0.7, 0.1]) / 0.9),
    "binary-disagree": ([0, 1], [C9, C8], [1, 1], [0.18 / 0.26, 0.08 / 0.26]),
    "binary-agree": ([1, 1], [C9, C8], [1, 1], [0.02 / 0.74, 0.72 / 0.74]),
    "no-answers-is-prior": ([], np.zeros((0, 3, 3)), [2, 1, 1], [0.5, 0.25, 0.25]),
}


@pytest.mark.parametrize(("labels", "confusions", "prior", "expected"), HAND_MADE.values(), ids=HAND_MADE.keys())
def test_hand_computed_posteriors(labels: list[int], confusions: list, prior: list, expected: np.ndarray) -> None:
    assert item_posterior(np.array(labels, dtype=np.int64), confusions, prior) == pytest.approx(expected, abs=1e-12)


def test_hundreds_of_answers_do_not_underflow() -> None:
    posterior = item_posterior(np.zeros(2000, dtype=np.int64), [A] * 2000, [1, 1, 1])
    assert np.all(np.isfinite(posterior))
    assert posterior[0] == pytest.approx(1.0)
    # the same evidence for class 0 and class 2 alike: a 50/50 split, not 0/0
    mixed = item_posterior(np.array([0, 2] * 1000), [A] * 2000, [1, 1, 1])
    assert mixed == pytest.approx([0.5, 0.0, 0.5])


def test_evidence_every_class_rules_out_gives_uniform() -> None:
    sure = np.eye(3)  # an annotator who is never wrong
    posterior = item_posterior(np.array([0, 1]), [sure, sure], [1, 1, 1])
    assert posterior == pytest.approx([1 / 3] * 3)


def test_a_class_the_prior_rules_out_stays_out() -> None:
    posterior = item_posterior(np.array([1, 1]), [A, A], [0.5, 0.0, 0.5])
    assert posterior[1] == 0.0
    assert posterior.sum() == pytest.approx(1.0)


# --- invariants -------------------------------------------------------------------------------------------


def _random_item(seed: int, k: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    confusions = rng.dirichlet(np.ones(k) + 3 * np.eye(k)[0], size=(m, k))
    return rng.integers(k, size=m), confusions, rng.dirichlet(np.ones(k))


items = st.tuples(st.integers(0, 2**32 - 1), st.integers(2, 6), st.integers(0, 12))


@settings(max_examples=60, deadline=None)
@given(items, st.data())
def test_renaming_the_classes_renames_the_posterior(item: tuple[int, int, int], data: st.DataObject) -> None:
    labels, confusions, prior = _random_item(*item)
    k = prior.size
    rename = np.array(data.draw(st.permutations(range(k))))  # class c is called rename[c]
    inverse = np.argsort(rename)
    renamed = item_posterior(rename[labels], confusions[:, inverse][:, :, inverse], prior[inverse])
    assert renamed[rename] == pytest.approx(item_posterior(labels, confusions, prior), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(items, st.data())
def test_answer_order_does_not_matter(item: tuple[int, int, int], data: st.DataObject) -> None:
    labels, confusions, prior = _random_item(*item)
    order = np.array(data.draw(st.permutations(range(labels.size))), dtype=np.int64)
    shuffled = item_posterior(labels[order], confusions[order], prior)
    assert shuffled == pytest.approx(item_posterior(labels, confusions, prior), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 5), st.integers(1, 8))
def test_vectorised_equals_per_item(seed: int, k: int, n_tasks: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 4 * n_tasks + 1))
    tasks = rng.integers(n_tasks, size=n)
    labels = rng.integers(k, size=n)
    confusions = rng.dirichlet(np.ones(k) + 2 * np.eye(k)[0], size=(n, k))
    prior = rng.dirichlet(np.ones(k))
    together = posteriors(tasks, labels, confusions, prior, n_tasks)
    assert together.shape == (n_tasks, k)
    for t in range(n_tasks):
        mine = tasks == t
        assert together[t] == pytest.approx(item_posterior(labels[mine], confusions[mine], prior), abs=1e-12)


def test_posteriors_reproduce_dawid_skene_e_step(rng: np.random.Generator) -> None:
    """With Dawid–Skene's fitted confusions and prior, the posteriors are its own ``probas_``."""
    k, n_tasks, n_workers = 4, 300, 12
    tasks = np.repeat(np.arange(n_tasks), 3)
    workers = rng.integers(n_workers, size=tasks.size)
    truth = rng.integers(k, size=n_tasks)
    labels = np.where(rng.random(tasks.size) < 0.75, truth[tasks], rng.integers(k, size=tasks.size))
    model = DawidSkene().fit(tasks, workers, labels, k, n_tasks=n_tasks, n_workers=n_workers)
    ours = posteriors(tasks, labels, model.errors_[workers], model.priors_, n_tasks)
    assert ours == pytest.approx(model.probas_, abs=1e-9)


# --- decisions --------------------------------------------------------------------------------------------

POLICY = OverlapPolicy(min_answers=2, max_answers=4, target=0.9)
SURE, UNSURE = [0.9, 0.05, 0.05], [0.899, 0.101, 0.0]

DECIDE = {
    "below-min-even-if-sure": (SURE, 1, "more"),
    "none-yet": ([1 / 3] * 3, 0, "more"),
    "at-min-exactly-on-target": (SURE, 2, "done"),
    "at-min-just-below-target": (UNSURE, 2, "more"),
    "below-max-unsure": (UNSURE, 3, "more"),
    "at-max-unsure": (UNSURE, 4, "review"),
    "at-max-sure": (SURE, 4, "done"),
    "past-max-unsure": (UNSURE, 7, "review"),
    "sure-of-another-class": ([0.02, 0.95, 0.03], 3, "done"),
}


@pytest.mark.parametrize(("posterior", "n_answers", "expected"), DECIDE.values(), ids=DECIDE.keys())
def test_decide_at_the_boundaries(posterior: list[float], n_answers: int, expected: str) -> None:
    assert decide(posterior, n_answers, POLICY) == expected


def test_binary_task_with_the_default_policy() -> None:
    policy = OverlapPolicy()  # min 1, max 5, target 0.95
    good = default_confusion(2, 0.9)
    one = item_posterior(np.array([1]), [good], [1, 1])  # 0.9: not yet
    two = item_posterior(np.array([1, 1]), [good, good], [1, 1])  # 0.81 / 0.82 = 0.988
    assert decide(one, 1, policy) == "more"
    assert decide(two, 2, policy) == "done"
    split = item_posterior(np.array([0, 1] * 2 + [1]), [good] * 5, [1, 1])  # 0.9 after five
    assert decide(split, 5, policy) == "review"


def test_fixed_overlap_is_min_equal_to_max() -> None:
    policy = OverlapPolicy(min_answers=3, max_answers=3, target=0.5)
    assert decide([0.6, 0.4], 2, policy) == "more"
    assert decide([0.6, 0.4], 3, policy) == "done"
    assert decide([0.5, 0.5], 3, policy) == "done"  # a tie reaches a 0.5 target: argmax breaks it
    assert OverlapPolicy(3, 3, 0.95) == OverlapPolicy(min_answers=3, max_answers=3, target=0.95)


def test_decide_many_equals_decide(rng: np.random.Generator) -> None:
    probabilities = rng.dirichlet(np.ones(3) * 0.3, size=500)
    probabilities[:5] = [SURE, UNSURE, SURE, UNSURE, UNSURE]
    counts = rng.integers(0, 6, size=500)
    counts[:5] = [1, 2, 2, 4, 3]
    many = decide_many(probabilities, counts, POLICY)
    assert many.dtype == np.dtype("<U6")
    assert list(many) == [decide(p, int(n), POLICY) for p, n in zip(probabilities, counts, strict=True)]
    assert list(many[:5]) == ["more", "more", "done", "review", "more"]
    assert set(many) == {"done", "more", "review"}
    assert decide_many(np.zeros((0, 3)), np.zeros(0, dtype=np.int64), POLICY).shape == (0,)


# --- annotators without an estimate -----------------------------------------------------------------------


def test_default_confusion() -> None:
    assert default_confusion(2, 0.8) == pytest.approx(np.array([[0.8, 0.2], [0.2, 0.8]]))
    matrix = default_confusion(5, 0.6)
    assert matrix.sum(axis=1) == pytest.approx(np.ones(5))
    assert np.diag(matrix) == pytest.approx([0.6] * 5)
    assert matrix[0, 1] == pytest.approx(0.1)
    assert default_confusion(4, 0.25) == pytest.approx(np.full((4, 4), 0.25))  # chance: answers carry nothing


def test_an_unknown_annotator_gets_the_population_default() -> None:
    known = np.stack([np.array(A), np.array(B)])
    fallback = default_confusion(3, 0.7)
    matrices = confusions_for(np.array([1, 5, -1, 0]), known, fallback)
    assert matrices.shape == (4, 3, 3)
    assert matrices[0] == pytest.approx(np.array(B))
    assert matrices[1] == pytest.approx(fallback)
    assert matrices[2] == pytest.approx(fallback)
    assert matrices[3] == pytest.approx(np.array(A))
    posterior = item_posterior(np.array([2]), confusions_for(np.array([9]), known, fallback), [1, 1, 1])
    assert posterior == pytest.approx([0.15, 0.15, 0.7])
    assert confusions_for(np.zeros(0, dtype=np.int64), known, fallback).shape == (0, 3, 3)


def test_population_accuracy() -> None:
    assert population_accuracy([0.9, 0.7, np.nan, 0.1], [10, 1, 0, 0]) == pytest.approx(0.8)
    assert population_accuracy([0.9], [0]) == DEFAULT_ACCURACY
    assert population_accuracy([], []) == DEFAULT_ACCURACY


# --- validation -------------------------------------------------------------------------------------------

BAD_POLICIES = {
    "min-zero": ({"min_answers": 0}, "min_answers"),
    "min-above-max": ({"min_answers": 4, "max_answers": 3}, "min_answers <= max_answers"),
    "max-above-50": ({"max_answers": 51}, "<= 50"),
    "target-below-half": ({"target": 0.49}, "target"),
    "target-one": ({"target": 1.0}, "target"),
}


@pytest.mark.parametrize(("fields", "message"), BAD_POLICIES.values(), ids=BAD_POLICIES.keys())
def test_policy_validation(fields: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OverlapPolicy(**fields)  # type: ignore[arg-type]


def test_policy_limits_are_allowed() -> None:
    OverlapPolicy(min_answers=50, max_answers=50, target=0.5)
    OverlapPolicy(min_answers=1, max_answers=1, target=0.999999)


BAD_ITEMS = {
    "label-out-of-range": ([3], [A], [1, 1, 1], "labels must be in"),
    "negative-label": ([-1], [A], [1, 1, 1], "labels must be in"),
    "float-labels": (np.array([0.0]), [A], [1, 1, 1], "integer"),
    "too-few-matrices": ([0, 1], [A], [1, 1, 1], "shape"),
    "row-not-summing-to-one": ([0], [[[0.5, 0.1, 0.1], *A[1:]]], [1, 1, 1], "sum to 1"),
    "negative-probability": ([0], [[[1.1, -0.1, 0.0], *A[1:]]], [1, 1, 1], "non-negative"),
    "prior-wrong-length": ([0], [A], [1, 1], "shape"),
    "prior-all-zero": ([0], [A], [0, 0, 0], "not all zero"),
    "prior-negative": ([0], [A], [2, -1, 0], "non-negative"),
}


@pytest.mark.parametrize(("labels", "confusions", "prior", "message"), BAD_ITEMS.values(), ids=BAD_ITEMS.keys())
def test_item_validation(labels: list[int], confusions: list, prior: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        item_posterior(np.asarray(labels), confusions, prior)


def test_many_validation() -> None:
    with pytest.raises(ValueError, match="tasks must be in"):
        posteriors(np.array([0, 2]), np.array([0, 0]), [A, A], [1, 1, 1], n_tasks=2)
    with pytest.raises(ValueError, match="same length"):
        posteriors(np.array([0]), np.array([0, 0]), [A, A], [1, 1, 1], n_tasks=1)
    with pytest.raises(ValueError, match="n_answers"):
        decide_many(np.ones((2, 2)) / 2, np.array([1]), POLICY)
    with pytest.raises(ValueError, match="non-negative"):
        decide([0.5, 0.5], -1, POLICY)
    with pytest.raises(ValueError, match="k must be at least 2"):
        default_confusion(1, 0.9)
    with pytest.raises(ValueError, match="accuracy"):
        default_confusion(3, 1.2)
