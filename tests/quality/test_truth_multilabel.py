"""Multi-label truth inference: every single-label method run per class on present / absent answers."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest

from kolam.quality.truth import DawidSkene, MajorityVote, OneCoinDawidSkene, TruthInference
from kolam.quality.truth_glad import GLAD
from kolam.quality.truth_mace import MACE
from kolam.quality.truth_multilabel import MultiLabel, label_indicator

METHODS: list[type[TruthInference]] = [MajorityVote, DawidSkene, OneCoinDawidSkene, GLAD, MACE]


# --- tiny hand-made cases, every method -------------------------------------------------------------------

CASES = [
    pytest.param([0, 0, 0], [0, 1, 2], [[0, 2], [0, 2], [2, 0]], 3, None, [(0, 2)], id="unanimous-pair"),
    pytest.param([0, 0, 0], [0, 1, 2], [[1], [1, 2], [1]], 3, None, [(1,)], id="two-against-one-on-a-tag"),
    pytest.param([0, 0, 0], [0, 1, 2], [[], [], [1]], 2, None, [()], id="none-apply"),
    pytest.param([0, 0, 0], [0, 1, 2], [[1], [1], [1]], 2, {0: [0]}, [(0,)], id="gold-overrides-votes"),
    pytest.param([0, 0, 1, 1], [0, 1, 0, 1], [[0], [0], [1], [1]], 2, {2: []}, [(0,), (1,), ()], id="gold-none"),
]


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
@pytest.mark.parametrize(("tasks", "workers", "label_sets", "n_classes", "gold", "expected"), CASES)
def test_tiny_cases(
    method: type[TruthInference],
    tasks: list[int],
    workers: list[int],
    label_sets: list[list[int]],
    n_classes: int,
    gold: dict[int, list[int]] | None,
    expected: list[tuple[int, ...]],
) -> None:
    fitted = MultiLabel(method).fit(tasks, workers, label_sets, n_classes, gold=gold)
    assert fitted.label_sets_ == expected
    assert fitted.probas_.shape == (len(expected), n_classes)
    assert len(fitted.models_) == n_classes
    np.testing.assert_array_equal(fitted.labels_, fitted.probas_ >= 0.5)


def test_label_sets_and_an_indicator_matrix_give_the_same_answer() -> None:
    sets = [[0, 2], [2], [], [1]]
    indicator = label_indicator(sets, 3)
    np.testing.assert_array_equal(indicator, [[1, 0, 1], [0, 0, 1], [0, 0, 0], [0, 1, 0]])
    args = ([0, 0, 1, 1], [0, 1, 0, 1])
    from_sets = MultiLabel().fit(*args, sets, 3)
    from_indicator = MultiLabel().fit(*args, indicator, 3)
    np.testing.assert_array_equal(from_sets.probas_, from_indicator.probas_)


def test_fit_predict_and_fit_predict_proba_match_fit() -> None:
    args = ([0, 0, 1, 1], [0, 1, 0, 1], [[1], [1], [0, 1], [0]], 2)
    fitted = MultiLabel().fit(*args)
    assert MultiLabel().fit_predict(*args) == fitted.label_sets_
    np.testing.assert_array_equal(MultiLabel().fit_predict_proba(*args), fitted.probas_)


def test_a_higher_threshold_keeps_only_confident_tags() -> None:
    args = ([0, 0, 0], [0, 1, 2], [[0, 1], [0, 1], [0]], 2)
    assert MultiLabel(MajorityVote).fit_predict(*args) == [(0, 1)]
    assert MultiLabel(MajorityVote, threshold=0.9).fit_predict(*args) == [(0,)]


# --- a simulated multi-label crowd ------------------------------------------------------------------------


def test_per_class_dawid_skene_beats_per_class_majority(rng: np.random.Generator) -> None:
    """Three careful taggers, two who tick at random, two who hardly tick anything: 3 classes, 5 per task.

    Majority vote counts a lazy worker's silence as "absent"; Dawid–Skene learns each worker's miss and
    false-alarm rates per class and discounts them.
    """
    k, n_tasks, per_task = 3, 1500, 5
    present = rng.random((n_tasks, k)) < 0.4
    hit = np.array([0.9, 0.85, 0.9, 0.5, 0.5, 0.1, 0.1])
    false_alarm = np.array([0.05, 0.1, 0.05, 0.5, 0.5, 0.0, 0.0])
    workers = np.argsort(rng.random((n_tasks, hit.size)), axis=1)[:, :per_task].ravel()
    tasks = np.repeat(np.arange(n_tasks), per_task)
    ticked = rng.random((tasks.size, k)) < np.where(present[tasks], hit[workers, None], false_alarm[workers, None])
    label_sets = [np.flatnonzero(row).tolist() for row in ticked]
    majority = MultiLabel(MajorityVote).fit(tasks, workers, label_sets, k)
    dawid_skene = MultiLabel(DawidSkene).fit(tasks, workers, label_sets, k)
    per_class = (dawid_skene.labels_ == present).mean(axis=0)
    assert np.all(per_class > (majority.labels_ == present).mean(axis=0) + 0.05)
    assert (dawid_skene.labels_ == present).all(axis=1).mean() > (majority.labels_ == present).all(axis=1).mean() + 0.15
    assert per_class.min() > 0.9
    lazy_miss_rate = np.stack(
        [model.errors_[5, 1, 0] for model in dawid_skene.models_ if isinstance(model, DawidSkene)]
    )
    assert np.all(lazy_miss_rate > 0.7)


def test_renumbering_workers_and_shuffling_answers_changes_nothing(rng: np.random.Generator) -> None:
    tasks = np.repeat(np.arange(40), 3)
    workers = np.tile([0, 1, 2], 40)
    ticked = rng.random((tasks.size, 3)) < 0.4
    shuffle = rng.permutation(tasks.size)
    renumber = np.array([2, 0, 1])
    original = MultiLabel().fit(tasks, workers, ticked, 3)
    moved = MultiLabel().fit(tasks[shuffle], renumber[workers][shuffle], ticked[shuffle], 3)
    np.testing.assert_allclose(moved.probas_, original.probas_, atol=1e-9)


# --- edge cases -------------------------------------------------------------------------------------------


def test_no_answers_and_gold_on_an_unanswered_task() -> None:
    fitted = MultiLabel().fit([], [], [], 2, n_tasks=2, n_workers=1)
    assert fitted.probas_.shape == (2, 2)
    assert fitted.label_sets_ == [(0, 1), (0, 1)]  # 0.5 each: nothing known, and the threshold is inclusive
    widened = MultiLabel().fit([0], [0], [[1]], 2, gold={2: [0]})
    assert widened.label_sets_[2] == (0,)
    assert widened.probas_.shape == (3, 2)


BAD_INPUTS: list[tuple[str, Callable[[], object]]] = [
    ("label-out-of-range", lambda: MultiLabel().fit([0], [0], [[3]], 2)),
    ("negative-label", lambda: MultiLabel().fit([0], [0], [[-1]], 2)),
    ("answer-not-a-set", lambda: MultiLabel().fit([0], [0], [1], 2)),
    ("indicator-wrong-width", lambda: MultiLabel().fit([0], [0], np.zeros((1, 3), dtype=bool), 2)),
    ("indicator-not-boolean", lambda: MultiLabel().fit([0], [0], np.zeros((1, 2)), 2)),
    ("lengths-differ", lambda: MultiLabel().fit([0, 1], [0, 0], [[0]], 2)),
    ("gold-label-out-of-range", lambda: MultiLabel().fit([0], [0], [[0]], 2, gold={0: [5]})),
    ("gold-task-out-of-range", lambda: MultiLabel().fit([0], [0], [[0]], 2, n_tasks=1, gold={4: [0]})),
    ("zero-threshold", lambda: MultiLabel(threshold=0.0)),
]


@pytest.mark.parametrize("call", [c for _, c in BAD_INPUTS], ids=[name for name, _ in BAD_INPUTS])
def test_bad_input_is_refused(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


# --- timing (printed, not asserted: run with -s to see it) ------------------------------------------------


@pytest.mark.slow
def test_timing_on_a_million_labels(rng: np.random.Generator) -> None:
    """The issue's benchmark shape (200,000 tasks x 5 answers, 2,000 workers, 5 classes), each answer a tag set."""
    k, n_tasks, per_task, n_workers = 5, 200_000, 5, 2_000
    present = rng.random((n_tasks, k)) < 0.3
    tasks = np.repeat(np.arange(n_tasks), per_task)
    workers = rng.integers(0, n_workers, size=tasks.size)
    accurate = rng.random((tasks.size, k)) < rng.uniform(0.6, 0.95, size=n_workers)[workers, None]
    ticked = present[tasks] == accurate
    started = time.perf_counter()
    fitted = MultiLabel(DawidSkene).fit(tasks, workers, ticked, k, n_workers=n_workers)
    seconds = time.perf_counter() - started
    print(
        f"\nMultiLabel(DawidSkene) on {tasks.size:,} tag sets x {k} classes: {seconds:.2f} s, "
        f"per-class accuracy {(fitted.labels_ == present).mean():.4f}"
    )
    started = time.perf_counter()
    label_sets = [np.flatnonzero(row).tolist() for row in ticked]
    print(f"(building {len(label_sets):,} Python label sets: {time.perf_counter() - started:.2f} s)")
    started = time.perf_counter()
    label_indicator(label_sets, k)
    print(f"(turning them into an indicator: {time.perf_counter() - started:.2f} s)")
