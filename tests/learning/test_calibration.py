"""Calibration (temperature, isotonic), Clopper–Pearson bounds and auto-accept thresholds, checked against
closed forms, slow brute-force versions written here, and SciPy where it is installed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kolam.learning.auto_accept import auto_accept_thresholds
from kolam.learning.binomial import binomial_upper_tail, clopper_pearson_lower, clopper_pearson_lower_many
from kolam.learning.calibration import (
    IsotonicCalibration,
    TemperatureScaling,
    expected_calibration_error,
    negative_log_likelihood,
    softmax,
)

pytestmark = pytest.mark.filterwarnings("error")


# -- brute-force references ----------------------------------------------------------------------------------


def slow_tail(k: int, n: int, p: float) -> float:
    """P(X ≥ k | n, p) as a plain sum of binomial terms in log space."""
    if p <= 0.0:
        return 1.0 if k == 0 else 0.0
    if p >= 1.0:
        return 1.0
    return sum(
        math.exp(
            math.lgamma(n + 1)
            - math.lgamma(j + 1)
            - math.lgamma(n - j + 1)
            + j * math.log(p)
            + (n - j) * math.log1p(-p)
        )
        for j in range(k, n + 1)
    )


def slow_lower(k: int, n: int, confidence: float) -> float:
    if k == 0:
        return 0.0
    lo, hi = 0.0, 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if slow_tail(k, n, mid) > 1 - confidence else (mid, hi)
    return lo


def slow_pav(y: list[float]) -> list[float]:
    """Isotonic regression by its min–max formula: f_i = max_{j ≤ i} min_{m ≥ i} mean(y_j..y_m)."""
    n = len(y)
    return [max(min(sum(y[j : m + 1]) / (m + 1 - j) for m in range(i, n)) for j in range(i + 1)) for i in range(n)]


def slow_threshold(conf: np.ndarray, hit: np.ndarray, target: float, level: float, min_support: int) -> float:
    """Every distinct confidence tried as a threshold by masking, bounds by bisection (not the tail test)."""
    candidates = sorted(set(conf.tolist()), reverse=True)
    counts = [(int((conf >= t).sum()), int(hit[conf >= t].sum())) for t in candidates]
    bounds = clopper_pearson_lower_many([k for _, k in counts], [n for n, _ in counts], level)
    passing = [t for t, (n, _), b in zip(candidates, counts, bounds, strict=True) if n >= min_support and b >= target]
    return min(passing, default=math.nan)


# -- Clopper–Pearson ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "confidence", "expected"),
    [
        pytest.param(10, 10, 0.95, 0.05 ** (1 / 10), id="all-10-of-10"),
        pytest.param(1, 1, 0.95, 0.05, id="one-of-one"),
        pytest.param(50, 50, 0.99, 0.01 ** (1 / 50), id="all-50-at-99"),
        pytest.param(0, 10, 0.95, 0.0, id="none-of-10"),
        pytest.param(0, 0, 0.95, 0.0, id="nothing-seen"),
        pytest.param(1, 10, 0.95, 1 - 0.95 ** (1 / 10), id="one-of-10"),
    ],
)
def test_clopper_pearson_closed_forms(k: int, n: int, confidence: float, expected: float) -> None:
    # k = 1: P(X ≥ 1) = 1 − (1 − p)^n = α  ⇒  p = 1 − (1 − α)^(1/n).
    assert clopper_pearson_lower(k, n, confidence) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("k", "n"), [(3, 10), (7, 20), (45, 50), (97, 100), (190, 200)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_clopper_pearson_matches_brute_force(k: int, n: int, confidence: float) -> None:
    assert clopper_pearson_lower(k, n, confidence) == pytest.approx(slow_lower(k, n, confidence), abs=1e-12)


def test_clopper_pearson_many_matches_scalar_and_scipy(rng: np.random.Generator) -> None:
    n = rng.integers(0, 3000, size=300)
    k = (n * rng.random(300) ** 0.2).astype(np.int64)
    many = clopper_pearson_lower_many(k, n, 0.95)
    assert many[:20] == pytest.approx(
        [clopper_pearson_lower(int(a), int(b)) for a, b in zip(k[:20], n[:20], strict=True)]
    )
    stats = pytest.importorskip("scipy.stats")
    expected = np.where(k > 0, stats.beta.ppf(0.05, np.maximum(k, 1), n - k + 1), 0.0)
    np.testing.assert_allclose(many, expected, atol=1e-12)


def test_binomial_upper_tail_matches_brute_force() -> None:
    cases = [(0, 5, 0.3), (1, 5, 0.3), (5, 5, 0.3), (40, 50, 0.9), (12, 30, 0.5), (3, 3, 0.0), (2, 3, 1.0)]
    for k, n, p in cases:
        assert binomial_upper_tail(k, n, p) == pytest.approx(slow_tail(k, n, p), abs=1e-13), (k, n, p)


def test_clopper_pearson_grows_with_evidence() -> None:
    bounds = clopper_pearson_lower_many([99, 990, 9900, 99000], [100, 1000, 10000, 100000])
    assert np.all(np.diff(bounds) > 0) and bounds[-1] < 0.99


@pytest.mark.parametrize(
    ("k", "n", "confidence", "message"),
    [
        pytest.param(11, 10, 0.95, "successes", id="more-successes-than-n"),
        pytest.param(-1, 10, 0.95, "successes", id="negative"),
        pytest.param(5, 10, 1.0, "confidence", id="confidence-one"),
        pytest.param(5, 10, 0.0, "confidence", id="confidence-zero"),
        pytest.param(2.5, 10, 0.95, "integers", id="fractional"),
    ],
)
def test_clopper_pearson_errors(k: float, n: int, confidence: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        clopper_pearson_lower_many([k], [n], confidence)


# -- temperature scaling --------------------------------------------------------------------------------------


def simulated(rng: np.random.Generator, n: int = 4000, k: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose softmax is the true label distribution: a perfectly calibrated model."""
    logits = rng.normal(size=(n, k)) * 2.0
    cumulative = softmax(logits).cumsum(axis=1)
    labels = np.minimum((rng.random(n)[:, None] > cumulative).sum(axis=1), k - 1)
    return logits, labels


def test_temperature_undoes_overconfidence(rng: np.random.Generator) -> None:
    logits, labels = simulated(rng)
    fit_logits, fit_labels, test_logits, test_labels = (
        logits[:2000] * 3,
        labels[:2000],
        logits[2000:] * 3,
        labels[2000:],
    )
    model = TemperatureScaling().fit(fit_logits, fit_labels)
    assert model.temperature_ == pytest.approx(3.0, rel=0.1)
    raw, calibrated = softmax(test_logits), model.transform(test_logits)
    assert negative_log_likelihood(calibrated, test_labels) < negative_log_likelihood(raw, test_labels) - 0.1
    hit = raw.argmax(axis=1) == test_labels
    assert expected_calibration_error(calibrated.max(axis=1), hit) < 0.5 * expected_calibration_error(
        raw.max(axis=1), hit
    )
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0)
    np.testing.assert_array_equal(calibrated.argmax(axis=1), raw.argmax(axis=1))


def test_temperature_is_the_nll_minimum(rng: np.random.Generator) -> None:
    logits, labels = simulated(rng, n=500)
    model = TemperatureScaling().fit(logits, labels)
    t = model.temperature_
    nll = [negative_log_likelihood(softmax(logits / s), labels) for s in (t * 0.99, t, t * 1.01)]
    assert nll[1] < nll[0] and nll[1] < nll[2]
    assert model.loss_history_[-1] <= model.loss_history_[0]
    assert 1 <= model.n_iter_ <= model.n_iter


def test_temperature_separable_data_sharpens_until_the_loss_vanishes() -> None:
    # Every prediction right: the NLL falls all the way to T → 0, so T only stops at the floor or once the
    # gradient is below tol; either way the fitted model is (almost) certain and right.
    logits = np.array([[5.0, 0.0], [0.0, 5.0], [4.0, 1.0]])
    model = TemperatureScaling(min_temperature=0.05).fit(logits, [0, 1, 0])
    assert 0.05 <= model.temperature_ < 0.2 and model.loss_history_[-1] < 1e-8


def test_temperature_uninformative_logits_hit_the_ceiling() -> None:
    # Logits that are right half the time and wrong half the time: the best model is uniform, T → ∞.
    model = TemperatureScaling(max_temperature=50.0).fit([[2.0, 0.0], [2.0, 0.0]], [0, 1])
    assert model.temperature_ == pytest.approx(50.0, rel=1e-6)


@pytest.mark.parametrize(
    ("logits", "labels", "message"),
    [
        pytest.param(np.zeros((0, 3)), np.zeros(0, dtype=int), "logits", id="empty"),
        pytest.param(np.zeros((3, 1)), np.zeros(3, dtype=int), "logits", id="one-class"),
        pytest.param(np.zeros(3), np.zeros(3, dtype=int), "logits", id="one-dimensional"),
        pytest.param([[0.0, math.inf]], [0], "finite", id="infinite"),
        pytest.param(np.zeros((2, 3)), [0, 3], "labels", id="label-out-of-range"),
        pytest.param(np.zeros((2, 3)), [0.0, 1.0], "labels", id="float-labels"),
        pytest.param(np.zeros((2, 3)), [0], "labels", id="length-mismatch"),
    ],
)
def test_temperature_errors(logits: object, labels: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TemperatureScaling().fit(logits, labels)  # type: ignore[arg-type]


def test_temperature_bad_hyperparameters() -> None:
    with pytest.raises(ValueError, match="min_temperature"):
        TemperatureScaling(min_temperature=2.0, max_temperature=1.0)


# -- isotonic -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "y", "fitted_x", "fitted_y"),
    [
        pytest.param([1, 2, 3, 4], [1, 0, 1, 1], [1, 2, 3, 4], [0.5, 0.5, 1, 1], id="one-violation"),
        pytest.param([4, 3, 2, 1], [0, 0, 1, 1], [1, 2, 3, 4], [0.5, 0.5, 0.5, 0.5], id="all-decreasing"),
        pytest.param([0.5, 0.5, 0.7], [1, 0, 1], [0.5, 0.7], [0.5, 1.0], id="ties-pooled-first"),
        pytest.param([0.2, 0.4, 0.4, 0.4, 0.9], [1, 1, 0, 0, 1], [0.2, 0.4, 0.9], [0.5, 0.5, 1], id="weighted-tie"),
        pytest.param([0.3], [1], [0.3], [1.0], id="single"),
    ],
)
def test_isotonic_hand_cases(x: list[float], y: list[int], fitted_x: list[float], fitted_y: list[float]) -> None:
    model = IsotonicCalibration().fit(x, np.array(y, dtype=bool))
    np.testing.assert_allclose(model.x_, fitted_x)
    np.testing.assert_allclose(model.y_, fitted_y)


def test_isotonic_matches_brute_force(rng: np.random.Generator) -> None:
    for size in (2, 3, 5, 8, 13):
        for _ in range(20):
            x = rng.permutation(size) / size
            y = rng.random(size) < 0.5
            model = IsotonicCalibration().fit(x, y)
            np.testing.assert_allclose(model.y_, slow_pav(y[np.argsort(x)].astype(float).tolist()), atol=1e-12)


@pytest.mark.parametrize("interpolation", ["linear", "step"])
def test_isotonic_predictions_monotone_and_bounded(rng: np.random.Generator, interpolation: str) -> None:
    conf = rng.random(2000)
    correct = rng.random(2000) < conf**3  # confidence overstates accuracy
    model = IsotonicCalibration(interpolation).fit(conf, correct)  # type: ignore[arg-type]
    grid = np.linspace(-0.5, 1.5, 501)
    predicted = model.predict(grid)
    assert np.all(np.diff(predicted) >= 0)
    assert predicted.min() >= 0 and predicted.max() <= 1
    assert predicted[0] == model.y_[0] and predicted[-1] == model.y_[-1]
    test_conf = rng.random(2000)
    test_correct = rng.random(2000) < test_conf**3
    after = expected_calibration_error(model.predict(test_conf), test_correct)
    assert after < 0.5 * expected_calibration_error(test_conf, test_correct)


def test_isotonic_step_and_linear_differ_between_points() -> None:
    x, y = [0.2, 0.6], np.array([False, True])
    assert IsotonicCalibration("linear").fit(x, y).predict([0.4])[0] == pytest.approx(0.5)
    assert IsotonicCalibration("step").fit(x, y).predict([0.4, 0.6, 0.1])[0:3].tolist() == [0.0, 1.0, 0.0]


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        pytest.param([], [], "non-empty", id="empty"),
        pytest.param([0.1, 0.2], [True], "same length", id="length-mismatch"),
        pytest.param([0.1, math.nan], [True, False], "finite", id="nan"),
        pytest.param([0.1, 0.2], [0.5, 1.0], "boolean", id="not-boolean"),
    ],
)
def test_isotonic_errors(x: list[float], y: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        IsotonicCalibration().fit(x, y)
    with pytest.raises(ValueError, match="interpolation"):
        IsotonicCalibration("cubic")  # type: ignore[arg-type]


# -- auto-accept thresholds -----------------------------------------------------------------------------------


def known_case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class 0: 100 right at 0.9, then 100 at 0.5 of which half are right; class 1: 40 right at 0.99."""
    conf = np.r_[np.full(100, 0.9), np.full(100, 0.5), np.full(40, 0.99)]
    predicted = np.r_[np.zeros(200, dtype=int), np.ones(40, dtype=int)]
    correct = np.r_[np.ones(100, bool), np.arange(100) % 2 == 0, np.ones(40, bool)]
    return conf, predicted, correct


def test_thresholds_known_case() -> None:
    table = auto_accept_thresholds(*known_case(), n_classes=3, target=0.95, level=0.95, min_support=50)
    assert table.threshold[0] == 0.9 and math.isnan(table.threshold[1]) and math.isnan(table.threshold[2])
    assert table.support.tolist() == [100, 0, 0]
    assert table.n_predicted.tolist() == [200, 40, 0]
    assert table.precision[0] == 1.0 and table.lower_bound[0] == pytest.approx(0.05 ** (1 / 100))
    assert math.isnan(table.pooled_threshold)
    assert table.accepts([0.95, 0.89, 0.999, 0.999], [0, 0, 1, 2]).tolist() == [True, False, False, False]


def test_thresholds_min_support_is_what_holds_class_back() -> None:
    table = auto_accept_thresholds(*known_case(), n_classes=2, target=0.9, min_support=40)
    # 40 of 40 right: lower bound 0.05^(1/40) = 0.928 ≥ 0.9.
    assert table.threshold[1] == 0.99 and table.lower_bound[1] == pytest.approx(0.05 ** (1 / 40))


def test_thresholds_pooled_known_case() -> None:
    table = auto_accept_thresholds(*known_case(), n_classes=2, target=0.95, min_support=50, pooled=True)
    # Pooled: 40 at 0.99, 140 at ≥ 0.9 (all right), 240 at ≥ 0.5 with 190 right → t* = 0.9 for both classes.
    assert table.pooled_threshold == 0.9
    assert table.threshold.tolist() == [0.9, 0.9]
    assert table.support.tolist() == [100, 40]


def test_pooled_vetoes_a_class_shown_to_be_worse() -> None:
    conf = np.full(1100, 0.95)
    predicted = np.r_[np.zeros(1000, dtype=int), np.ones(100, dtype=int)]
    correct = np.r_[np.ones(1000, bool), np.arange(100) < 80]
    table = auto_accept_thresholds(conf, predicted, correct, n_classes=2, target=0.95, pooled=True)
    assert table.pooled_threshold == 0.95
    assert table.threshold[0] == 0.95 and math.isnan(table.threshold[1])
    assert table.precision[1] == pytest.approx(0.8)


def test_thresholds_tie_group_enters_whole() -> None:
    # 60 right at 0.8, then at 0.7 a tie of 60 of which 30 are wrong: 0.7 fails, 0.8 passes.
    conf = np.r_[np.full(60, 0.8), np.full(60, 0.7)]
    correct = np.r_[np.ones(60, bool), np.arange(60) % 2 == 0]
    table = auto_accept_thresholds(conf, np.zeros(120, dtype=int), correct, n_classes=1, target=0.9)
    assert table.threshold[0] == 0.8 and table.support[0] == 60


def test_thresholds_match_brute_force_scan(rng: np.random.Generator) -> None:
    n = 3000
    conf = np.round(rng.random(n) ** 0.3, 2)
    predicted = rng.integers(0, 3, n)
    correct = rng.random(n) < conf**2
    table = auto_accept_thresholds(conf, predicted, correct, n_classes=3, target=0.9, level=0.95, min_support=30)
    for c in range(3):
        mine = predicted == c
        expected = slow_threshold(conf[mine], correct[mine], 0.9, 0.95, 30)
        assert table.threshold[c] == pytest.approx(expected, nan_ok=True)
        assert not math.isnan(expected)
        above = mine & (conf >= expected)
        assert table.support[c] == above.sum() and table.lower_bound[c] >= 0.9 - 1e-12
    pooled = auto_accept_thresholds(conf, predicted, correct, 3, target=0.9, min_support=30, pooled=True)
    assert pooled.pooled_threshold == pytest.approx(slow_threshold(conf, correct, 0.9, 0.95, 30))


def test_thresholds_empty_and_hopeless_inputs() -> None:
    empty = auto_accept_thresholds(np.zeros(0), np.zeros(0, dtype=int), np.zeros(0, bool), n_classes=2)
    assert np.isnan(empty.threshold).all() and empty.support.tolist() == [0, 0]
    assert np.isnan(empty.precision).all() and np.isnan(empty.lower_bound).all()
    pooled = auto_accept_thresholds([], np.zeros(0, dtype=int), [], n_classes=2, pooled=True)
    assert math.isnan(pooled.pooled_threshold) and np.isnan(pooled.threshold).all()
    wrong = auto_accept_thresholds(np.full(500, 0.99), np.zeros(500, dtype=int), np.zeros(500, bool), n_classes=1)
    assert math.isnan(wrong.threshold[0]) and not wrong.accepts([1.0], [0])[0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"predicted": [0, 2]}, "predicted", id="class-out-of-range"),
        pytest.param({"predicted": [0.0, 1.0]}, "predicted", id="float-classes"),
        pytest.param({"confidence": [0.5]}, "one length", id="length-mismatch"),
        pytest.param({"confidence": [0.5, math.nan]}, "finite", id="nan-confidence"),
        pytest.param({"correct": [0.3, 1]}, "boolean", id="not-boolean"),
        pytest.param({"n_classes": 0}, "n_classes", id="no-classes"),
        pytest.param({"target": 1.0}, "target", id="target-one"),
        pytest.param({"level": 0.0}, "level", id="level-zero"),
        pytest.param({"min_support": 0}, "min_support", id="no-support"),
    ],
)
def test_thresholds_errors(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "confidence": [0.5, 0.9],
        "predicted": [0, 1],
        "correct": [True, False],
        "n_classes": 2,
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        auto_accept_thresholds(**arguments)  # type: ignore[arg-type]
