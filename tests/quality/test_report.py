"""Quality-report statistics: hand-computed figures, published Wilson intervals, and empty input without warnings."""

from __future__ import annotations

import numpy as np
import pytest

from kolam.quality.agreement import fleiss_kappa, krippendorff_alpha
from kolam.quality.report import (
    accuracy_by_annotator,
    accuracy_by_class,
    agreement_summary,
    answers_per_item,
    confidence_histogram,
    confusion_matrix,
    normalised_rows,
    wilson_interval,
)

# Wilson (1927), "Probable inference, the law of succession, and statistical inference", JASA 22:209-212, the score
# interval (p̂ + z²/2n ± z√(p̂(1-p̂)/n + z²/4n²)) / (1 + z²/n); the newcombe_* rows are the worked examples of
# Newcombe (1998), "Two-sided confidence intervals for the single proportion", Statistics in Medicine 17:857-872,
# as its method 3 (Wilson score, no continuity correction) gives them.
WILSON = {
    "8_of_10": (8, 10, 0.95, (0.4902, 0.9433)),
    # s = 0: the upper bound is z²/(n + z²) = 3.8415/13.8415
    "0_of_10": (0, 10, 0.95, (0.0, 0.2775)),
    "10_of_10": (10, 10, 0.95, (0.7225, 1.0)),
    # p̂ = 1/2 is symmetric: 0.5 ± 2.5758/(1 + 0.6635)·√(0.025 + 0.0166)
    "5_of_10_at_99": (5, 10, 0.99, (0.1842, 0.8158)),
    "newcombe_81_of_263": (81, 263, 0.95, (0.2553, 0.3662)),
    "newcombe_15_of_148": (15, 148, 0.95, (0.0624, 0.1605)),
    "newcombe_0_of_20": (0, 20, 0.95, (0.0, 0.1611)),
    "newcombe_1_of_29": (1, 29, 0.95, (0.0061, 0.1718)),
    "no_trials": (0, 0, 0.95, (0.0, 1.0)),
}


@pytest.mark.parametrize(("successes", "n", "confidence", "expected"), WILSON.values(), ids=WILSON.keys())
def test_wilson_interval(successes: int, n: int, confidence: float, expected: tuple[float, float]) -> None:
    low, high = wilson_interval(successes, n, confidence)
    assert (low, high) == pytest.approx(expected, abs=5e-5)


def test_wilson_interval_is_symmetric_in_failures() -> None:
    for s in range(11):
        low, high = wilson_interval(s, 10)
        flipped_low, flipped_high = wilson_interval(10 - s, 10)
        assert (low, high) == pytest.approx((1 - flipped_high, 1 - flipped_low))


@pytest.mark.parametrize(("successes", "n", "confidence"), [(11, 10, 0.95), (-1, 10, 0.95), (1, 10, 1.0)])
def test_wilson_interval_refuses_impossible_counts(successes: int, n: int, confidence: float) -> None:
    with pytest.raises(ValueError):
        wilson_interval(successes, n, confidence)


def test_accuracy_by_annotator_by_hand() -> None:
    workers = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2], dtype=np.int64)
    correct = np.array([True] * 8 + [False] * 2 + [True, False, False])
    table = accuracy_by_annotator(workers, correct, n_workers=4)
    assert table.n.tolist() == [10, 2, 1, 0]
    assert table.correct.tolist() == [8, 1, 0, 0]
    np.testing.assert_allclose(table.accuracy, [0.8, 0.5, 0.0, np.nan])
    assert (table.low[0], table.high[0]) == pytest.approx((0.4902, 0.9433), abs=5e-5)
    assert (table.low[3], table.high[3]) == (0.0, 1.0)
    for w in range(4):
        assert (table.low[w], table.high[w]) == pytest.approx(wilson_interval(table.correct[w], table.n[w]))


def test_accuracy_by_class_matches_the_scalar_interval(rng: np.random.Generator) -> None:
    truth = rng.integers(0, 5, size=400)
    correct = rng.random(400) < np.array([0.9, 0.8, 0.7, 0.6, 0.5])[truth]
    table = accuracy_by_class(truth, correct, n_classes=6, confidence=0.9)
    assert table.n.sum() == 400
    assert table.n[5] == 0
    assert np.isnan(table.accuracy[5])
    for c in range(5):
        assert table.correct[c] == correct[truth == c].sum()
        assert table.accuracy[c] == pytest.approx(correct[truth == c].mean())
        expected = wilson_interval(int(table.correct[c]), int(table.n[c]), 0.9)
        assert (table.low[c], table.high[c]) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("workers", "correct"),
    [(np.array([0, 3]), np.array([True, True])), (np.array([0, 1]), np.array([True])), (np.array([0.0]), [True])],
    ids=["code_out_of_range", "lengths_differ", "float_codes"],
)
def test_accuracy_refuses_bad_input(workers: np.ndarray, correct: np.ndarray) -> None:
    with pytest.raises(ValueError):
        accuracy_by_annotator(workers, correct, n_workers=3)


def test_confusion_matrix_rows_are_truth() -> None:
    truth = np.array([0, 0, 0, 1, 1, 2])
    answered = np.array([0, 0, 1, 1, 0, 2])
    matrix = confusion_matrix(truth, answered, 4)
    assert matrix.tolist() == [[2, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    rows = normalised_rows(matrix)
    np.testing.assert_allclose(rows, [[2 / 3, 1 / 3, 0, 0], [0.5, 0.5, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]])


def test_confusion_matrix_refuses_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        confusion_matrix(np.array([0, 1]), np.array([0]), 2)


def test_confidence_histogram_edges() -> None:
    values = [0.0, 0.3, 0.49, 0.5, 0.6, 0.949, 0.95, 0.99, 0.999, 1.0]
    bins = confidence_histogram(values)
    assert [(b["low"], b["high"]) for b in bins] == [
        (0.0, 0.5),
        (0.5, 0.6),
        (0.6, 0.7),
        (0.7, 0.8),
        (0.8, 0.9),
        (0.9, 0.95),
        (0.95, 0.99),
        (0.99, 1.0),
    ]
    # [low, high) except the last bin, which holds 1.0 too
    assert [b["count"] for b in bins] == [3, 1, 1, 0, 0, 1, 1, 3]


def test_confidence_histogram_custom_bins_are_completed_to_one(rng: np.random.Generator) -> None:
    values = rng.random(1000)
    bins = confidence_histogram(values, bins=(0.0, 0.25, 0.5))
    assert [(b["low"], b["high"]) for b in bins] == [(0.0, 0.25), (0.25, 0.5), (0.5, 1.0)]
    assert sum(b["count"] for b in bins) == 1000
    assert bins[2]["count"] == (values >= 0.5).sum()


@pytest.mark.parametrize(
    ("values", "bins"),
    [([1.2], (0.5, 1.0)), ([np.nan], (0.5, 1.0)), ([0.5], (0.6, 0.5)), ([0.5], (0.5, 1.5)), ([0.5], ())],
    ids=["value_over_one", "nan", "decreasing_bins", "edge_over_one", "no_bins"],
)
def test_confidence_histogram_refuses_bad_input(values: list[float], bins: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        confidence_histogram(values, bins)


def test_answers_per_item_by_hand() -> None:
    # p90 by linear interpolation between the 3rd and 4th sorted values: 3 + 0.7·(10 - 3)
    summary = answers_per_item(np.array([1, 3, 2, 10]))
    assert summary == pytest.approx({"mean": 4.0, "median": 2.5, "p90": 7.9, "max": 10, "total": 16})


def test_answers_per_item_refuses_negative_counts() -> None:
    with pytest.raises(ValueError):
        answers_per_item(np.array([1, -1]))


def _answers(items: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(task, worker, label) per answer; item i's j-th answer comes from worker j."""
    tasks = np.array([i for i, labels in enumerate(items) for _ in labels], dtype=np.int64)
    workers = np.array([j for labels in items for j in range(len(labels))], dtype=np.int64)
    labels = np.array([label for labels in items for label in labels], dtype=np.int64)
    return tasks, workers, labels


def test_agreement_by_hand() -> None:
    """Items (0,0), (1,1), (0,1), plus a single-answer item that must not count.

    Coincidences: o_00 = 2, o_11 = 2, o_01 = o_10 = 1; n = 6, n_0 = n_1 = 3.
    alpha = 1 - (n-1)·(o_01 + o_10) / (n_0 n_1 + n_1 n_0) = 1 - 5·2/18 = 4/9.
    Fleiss: P_i = 1, 1, 0, P_o = 2/3, P_e = 1/2, kappa = (2/3 - 1/2)/(1/2) = 1/3.
    With two classes used, each one-vs-rest alpha equals the overall one; class 2 is never used.
    """
    tasks, workers, labels = _answers([[0, 0], [1, 1], [0, 1], [1]])
    summary = agreement_summary(tasks, workers, labels, n_classes=3)
    assert summary["items"] == 4
    assert summary["pairable_items"] == 3
    assert summary["skipped_items"] == 1
    assert summary["pairable_answers"] == 6
    assert summary["krippendorff_alpha"] == pytest.approx(4 / 9)
    assert summary["fleiss_kappa"] == pytest.approx(1 / 3)
    assert summary["fleiss_reason"] is None
    assert summary["per_class_alpha"] == [pytest.approx(4 / 9), pytest.approx(4 / 9), None]


def test_agreement_matches_agreement_module(rng: np.random.Generator) -> None:
    """Shuffled answers with sparse item ids, uneven counts: alpha and per-class alpha as agreement.py computes them."""
    n_items, k = 300, 4
    truth = rng.integers(0, k, n_items)
    per_item = rng.integers(1, 6, n_items)
    tasks = np.repeat(np.arange(n_items) * 7 + 1000, per_item)
    labels = np.where(rng.random(tasks.size) < 0.7, np.repeat(truth, per_item), rng.integers(0, k, tasks.size))
    workers = rng.integers(0, 50, tasks.size)
    order = rng.permutation(tasks.size)
    summary = agreement_summary(tasks[order], workers[order], labels[order], k)

    data = np.full((5, n_items), np.nan)  # slots x units, as krippendorff_alpha expects coders x units
    starts = np.r_[0, np.cumsum(per_item)[:-1]]
    for i in range(n_items):
        data[: per_item[i], i] = labels[starts[i] : starts[i] + per_item[i]]
    assert summary["krippendorff_alpha"] == pytest.approx(krippendorff_alpha(data))
    for c in range(k):
        binary = np.where(np.isnan(data), np.nan, (data == c).astype(float))
        assert summary["per_class_alpha"][c] == pytest.approx(krippendorff_alpha(binary))
    assert summary["skipped_items"] == (per_item == 1).sum()
    assert summary["fleiss_kappa"] is None
    assert "answers" in summary["fleiss_reason"]


def test_fleiss_on_equal_counts_matches_agreement_module(rng: np.random.Generator) -> None:
    n_items, k, r = 200, 3, 4
    labels = rng.integers(0, k, (n_items, r))
    tasks = np.repeat(np.arange(n_items), r)
    summary = agreement_summary(tasks, np.tile(np.arange(r), n_items), labels.ravel(), k)
    counts = np.stack([(labels == c).sum(axis=1) for c in range(k)], axis=1)
    assert summary["fleiss_kappa"] == pytest.approx(fleiss_kappa(counts).kappa)


def test_agreement_undefined_without_variation() -> None:
    tasks, workers, labels = _answers([[1, 1], [1, 1, 1]])
    summary = agreement_summary(tasks, workers, labels, n_classes=2)
    assert summary["krippendorff_alpha"] is None
    assert "same class" in summary["alpha_reason"]
    assert summary["per_class_alpha"] == [None, None]


def test_agreement_refuses_labels_out_of_range() -> None:
    tasks, workers, labels = _answers([[0, 3]])
    with pytest.raises(ValueError, match="labels"):
        agreement_summary(tasks, workers, labels, n_classes=3)


@pytest.mark.filterwarnings("error")
def test_empty_input_gives_empty_results() -> None:
    empty_int = np.zeros(0, dtype=np.int64)
    empty_bool = np.zeros(0, dtype=bool)
    table = accuracy_by_annotator(empty_int, empty_bool, n_workers=2)
    assert table.n.tolist() == [0, 0]
    assert np.isnan(table.accuracy).all()
    assert table.low.tolist() == [0.0, 0.0]
    assert table.high.tolist() == [1.0, 1.0]
    assert accuracy_by_class([], [], n_classes=0).n.shape == (0,)
    assert confusion_matrix(empty_int, empty_int, 2).tolist() == [[0, 0], [0, 0]]
    assert normalised_rows(np.zeros((0, 0))).shape == (0, 0)
    assert [b["count"] for b in confidence_histogram([])] == [0] * 8
    assert answers_per_item([]) == {"mean": 0.0, "median": 0.0, "p90": 0.0, "max": 0, "total": 0}
    summary = agreement_summary(empty_int, empty_int, empty_int, n_classes=2)
    assert summary["items"] == 0
    assert summary["krippendorff_alpha"] is None
    assert summary["fleiss_kappa"] is None
    assert summary["alpha_reason"] == "no item has two or more answers"
    assert summary["per_class_alpha"] == [None, None]


@pytest.mark.filterwarnings("error")
def test_only_single_answers_is_not_an_error() -> None:
    tasks, workers, labels = _answers([[0], [1], [2]])
    summary = agreement_summary(tasks, workers, labels, n_classes=3)
    assert summary["skipped_items"] == 3
    assert summary["krippendorff_alpha"] is None
