"""SoftmaxHead on real data (scikit-learn's bundled 8×8 digits): it learns, matches sklearn, saves as arrays."""

from __future__ import annotations

import io

import numpy as np
import pytest

from kolam.learning.heads import SoftmaxHead, soft_targets

sklearn_datasets = pytest.importorskip("sklearn.datasets")

Digits = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@pytest.fixture(scope="module")
def digits() -> Digits:
    x, y = sklearn_datasets.load_digits(return_X_y=True)
    order = np.random.default_rng(7).permutation(y.size)
    x, y = x[order], y[order].astype(np.int64)
    return x[:1200], y[:1200], x[1200:], y[1200:]


@pytest.fixture(scope="module")
def fitted(digits: Digits) -> SoftmaxHead:
    x, y, _, _ = digits
    return SoftmaxHead().fit(x, y, 10)


def test_learns_digits_as_well_as_sklearn(digits: Digits, fitted: SoftmaxHead) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x, y, x_test, y_test = digits
    accuracy = (fitted.predict(x_test) == y_test).mean()
    scaler = StandardScaler().fit(x)
    reference = LogisticRegression(C=1.0, max_iter=5000, tol=1e-8).fit(scaler.transform(x), y)
    agree = (reference.predict(scaler.transform(x_test)) == fitted.predict(x_test)).mean()
    assert accuracy > 0.93
    assert agree > 0.98  # the same objective (sklearn's C), so the same classifier up to convergence
    p = fitted.predict_proba(x_test)
    assert p.shape == (y_test.size, 10)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_state_round_trips_through_npz_without_pickle(digits: Digits, fitted: SoftmaxHead) -> None:
    _, _, x_test, _ = digits
    buffer = io.BytesIO()
    np.savez(buffer, **fitted.to_arrays())  # type: ignore[arg-type]  # numpy stubs: allow_pickle in **kwds
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as stored:
        again = SoftmaxHead.from_arrays(dict(stored))
    np.testing.assert_array_equal(again.logits(x_test), fitted.logits(x_test))
    assert again.c == fitted.c and again.n_components is None


def test_pca_whitens_the_top_components_and_keeps_most_accuracy(digits: Digits) -> None:
    x, y, x_test, y_test = digits
    head = SoftmaxHead(n_components=24).fit(x, y, 10, unlabelled=x_test)
    assert head.components_.shape == (64, 24)
    z = head.transform(np.vstack([x, x_test]))  # the rows the projection was fitted on
    np.testing.assert_allclose(np.cov(z, rowvar=False), np.eye(24), atol=1e-4)  # float32 covariance
    assert (head.predict(x_test) == y_test).mean() > 0.9
    assert head.to_arrays()["hyper"][0] == 24


def test_sample_weight_two_equals_a_duplicated_row(digits: Digits) -> None:
    x, y, x_test, _ = digits
    x, y = x[:300], y[:300]
    weights = np.ones(300)
    weights[:50] = 2.0
    weighted = SoftmaxHead(c=0.5, tol=1e-9).fit(x, y, 10, sample_weight=weights, keep_projection=False)
    duplicated = SoftmaxHead(c=0.5, tol=1e-9)
    duplicated.fit_projection(x)  # the same standardiser: duplicates would shift the mean
    duplicated.fit(np.vstack([x, x[:50]]), np.concatenate([y, y[:50]]), 10, keep_projection=True)
    # the penalty is per row, so 350 rows at C = 0.5 · 300/350 match 300 rows weighing 350 at C = 0.5
    scaled = SoftmaxHead(c=0.5 * 300 / 350, tol=1e-9)
    scaled.fit_projection(x)
    scaled.fit(np.vstack([x, x[:50]]), np.concatenate([y, y[:50]]), 10, keep_projection=True)
    np.testing.assert_allclose(weighted.predict_proba(x_test), scaled.predict_proba(x_test), atol=1e-4)
    assert (weighted.predict(x_test) == duplicated.predict(x_test)).mean() > 0.97


def test_soft_labels_move_probability_towards_the_doubt(digits: Digits) -> None:
    x, y, x_test, _ = digits
    hard = SoftmaxHead().fit(x, y, 10)
    one_hot = SoftmaxHead().fit(x, soft_targets(y, 10), 10)
    np.testing.assert_allclose(one_hot.logits(x_test), hard.logits(x_test), atol=1e-6)
    soft = soft_targets(y, 10)
    threes = y == 3
    soft[threes] = 0.0
    soft[threes, 3], soft[threes, 8] = 0.6, 0.4  # every "3" settled with doubt towards "8"
    doubtful = SoftmaxHead().fit(x, soft, 10)
    p = doubtful.predict_proba(x[threes])
    assert 0.2 < p[:, 8].mean() < 0.5
    assert hard.predict_proba(x[threes])[:, 8].mean() < 0.05


def test_a_class_without_answers_exists_and_is_unlikely(digits: Digits) -> None:
    x, y, x_test, _ = digits
    seen = y != 9
    head = SoftmaxHead().fit(x[seen], y[seen], 12)  # the project has 12 classes; 9, 10 and 11 never answered
    p = head.predict_proba(x_test)
    assert p.shape == (x_test.shape[0], 12)
    assert p[:, 10:].max() < 0.01
    assert np.isfinite(head.logits(x_test)).all()


def test_warm_start_converges_to_the_same_head_in_fewer_steps(digits: Digits) -> None:
    x, y, x_test, _ = digits
    head = SoftmaxHead(tol=1e-8).fit(x[:1000], y[:1000], 10)
    cold = SoftmaxHead(tol=1e-8)
    cold.fit_projection(x[:1000])
    cold.fit(x, y, 10, keep_projection=True)
    head.fit(x, y, 10, keep_projection=True, warm_start=True)
    assert head.n_iter_ < cold.n_iter_
    np.testing.assert_allclose(head.predict_proba(x_test), cold.predict_proba(x_test), atol=1e-3)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda h, x, y: h.fit(x, y + 10, 10), r"class indices in \[0, 10\)"),
        (lambda h, x, y: h.fit(x[:, :5], y[:4], 10), "same non-zero number of rows"),
        (lambda h, x, y: h.fit(x, y, 10, sample_weight=-np.ones(y.size)), "non-negative"),
        (lambda h, x, y: h.fit(x, np.full((y.size, 3), 1 / 3), 10), r"\(n, 10\) distributions"),
        (lambda h, x, y: SoftmaxHead().predict(x), "not fitted"),
        (lambda h, x, y: h.fit(x, y, 10).predict(x[:, :10]), "must have 64 columns"),
        (lambda h, x, y: SoftmaxHead(c=0), "c must be a positive"),
        (lambda h, x, y: SoftmaxHead.from_arrays({"mean": np.zeros(3)}), "lacks scale"),
    ],
    ids=[
        "label-out-of-range",
        "row-mismatch",
        "negative-weight",
        "soft-wrong-width",
        "unfitted",
        "wrong-width",
        "bad-c",
        "incomplete-state",
    ],
)
def test_bad_input_says_what_is_wrong(digits: Digits, call: object, message: str) -> None:
    x, y, _, _ = digits
    with pytest.raises(ValueError, match=message):
        call(SoftmaxHead(max_iter=5), x[:40], y[:40])  # type: ignore[operator]


# -- what the model loop feeds the head's outputs into: soft-label calibration, per-item priors --------------


def test_temperature_on_soft_labels_matches_hard_labels_when_one_hot(digits: Digits, fitted: SoftmaxHead) -> None:
    from kolam.learning.calibration import TemperatureScaling

    _, _, x_test, y_test = digits
    logits = fitted.logits(x_test)
    hard = TemperatureScaling().fit(logits, y_test).temperature_
    repeated = np.repeat(logits, 10, axis=0)
    soft = TemperatureScaling().fit(repeated, np.tile(np.arange(10), y_test.size), soft_targets(y_test, 10).ravel())
    assert soft.temperature_ == pytest.approx(hard, rel=1e-6)


def test_a_confident_model_prior_lets_one_agreeing_answer_settle_an_item() -> None:
    from kolam.quality.overlap import default_confusion, posteriors

    confusion = default_confusion(3, 0.85)
    tasks, answers = np.array([0, 1]), np.array([2, 2])
    flat = posteriors(tasks, answers, np.stack([confusion, confusion]), np.full(3, 1 / 3), 2)
    per_item = posteriors(
        tasks, answers, np.stack([confusion, confusion]), np.array([[0.02, 0.02, 0.96], [1, 1, 1]]), 2
    )
    assert flat[0, 2] == pytest.approx(0.85)
    assert per_item[0, 2] > 0.99  # the model's 0.96 and one 85 % answer agree
    np.testing.assert_allclose(per_item[1], flat[1])  # an uninformative row prior changes nothing
    with pytest.raises(ValueError, match=r"shape \(2, k\)"):
        posteriors(tasks, answers, np.stack([confusion, confusion]), np.ones((3, 3)), 2)
