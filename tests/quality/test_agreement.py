"""Agreement coefficients checked against published worked examples, then edge cases and invariants.

Sources of the published values:
- Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Departmental Papers (ASC) 43,
  University of Pennsylvania ScholarlyCommons. https://repository.upenn.edu/asc_papers/43
  Its worked examples: binary data, two observers, 10 units: alpha = 0.095; nominal data, two observers,
  12 units: alpha = 0.692; 4 observers x 12 units with missing data: nominal 0.743, ordinal 0.815,
  interval 0.849, with coincidence-matrix margins n_c = 9, 13, 10, 5, 3 (n = 40).
- Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological Bulletin 76(5),
  378-382; worked example as given on Wikipedia, "Fleiss' kappa" (10 subjects, 14 raters, 5 categories):
  P-bar = 0.378, P-bar_e = 0.213, kappa = 0.210, p_j = 0.143, 0.200, 0.279, 0.150, 0.229.
- Cohen, J. (1960). A coefficient of agreement for nominal scales; worked example as given on Wikipedia,
  "Cohen's kappa" (50 proposals, Yes/Yes 20, Yes/No 5, No/Yes 10, No/No 15): p_o = 0.7, p_e = 0.5, kappa = 0.4.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from kolam.quality.agreement import (
    cohen_kappa,
    coincidence_matrix,
    fleiss_kappa,
    krippendorff_alpha,
)

NAN = np.nan

# Krippendorff (2011), the 4 x 12 example with missing data: observers A-D x units 1-12, NaN where none given.
KRIPPENDORFF_4X12 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
)
# Krippendorff (2011), binary example: binary values of observers A and B on 10 units.
KRIPPENDORFF_BINARY = np.array([[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]])
# Krippendorff (2011), two-observer nominal example: categories a-e coded 0-4, observers A and B on 12 units.
_CODES = {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}
KRIPPENDORFF_NOMINAL = np.array(
    [[_CODES[v] for v in "aabbdcccedda"], [_CODES[v] for v in "babbbccceddd"]],
    dtype=np.float64,
)
# Wikipedia, "Fleiss' kappa", worked example: 10 subjects x 5 categories, 14 raters each.
FLEISS_WIKIPEDIA = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)
# Wikipedia, "Cohen's kappa", worked example: rater A said Yes to the first 25 proposals.
COHEN_A = np.array(["Yes"] * 25 + ["No"] * 25)
COHEN_B = np.array(["Yes"] * 20 + ["No"] * 5 + ["Yes"] * 10 + ["No"] * 15)

PUBLISHED: list[tuple[str, Callable[[], float], float, float]] = [
    ("krippendorff2011-2x10-binary", lambda: krippendorff_alpha(KRIPPENDORFF_BINARY), 0.095, 5e-4),
    ("krippendorff2011-2x12-nominal", lambda: krippendorff_alpha(KRIPPENDORFF_NOMINAL), 0.692, 5e-4),
    ("krippendorff2011-4x12-nominal", lambda: krippendorff_alpha(KRIPPENDORFF_4X12, "nominal"), 0.743, 5e-4),
    ("krippendorff2011-4x12-ordinal", lambda: krippendorff_alpha(KRIPPENDORFF_4X12, "ordinal"), 0.815, 5e-4),
    ("krippendorff2011-4x12-interval", lambda: krippendorff_alpha(KRIPPENDORFF_4X12, "interval"), 0.849, 5e-4),
    ("fleiss1971-wikipedia-kappa", lambda: fleiss_kappa(FLEISS_WIKIPEDIA).kappa, 0.210, 5e-4),
    ("fleiss1971-wikipedia-P-bar", lambda: fleiss_kappa(FLEISS_WIKIPEDIA).observed, 0.378, 5e-4),
    ("fleiss1971-wikipedia-P-e", lambda: fleiss_kappa(FLEISS_WIKIPEDIA).expected, 0.213, 5e-4),
    ("cohen1960-wikipedia-kappa", lambda: cohen_kappa(COHEN_A, COHEN_B).kappa, 0.4, 1e-12),
    ("cohen1960-wikipedia-p_o", lambda: cohen_kappa(COHEN_A, COHEN_B).observed, 0.7, 1e-12),
    ("cohen1960-wikipedia-p_e", lambda: cohen_kappa(COHEN_A, COHEN_B).expected, 0.5, 1e-12),
]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20260528)


@pytest.mark.parametrize(
    ("compute", "published", "tolerance"), [p[1:] for p in PUBLISHED], ids=[p[0] for p in PUBLISHED]
)
def test_published_value(compute: Callable[[], float], published: float, tolerance: float) -> None:
    assert compute() == pytest.approx(published, abs=tolerance)


def test_krippendorff_2011_coincidence_matrix() -> None:
    """The 4 x 12 example's coincidences: o_11 = 7, o_12 = 4/3, o_55 = 3, margins 9, 13, 10, 5, 3 over n = 40."""
    coincidences = coincidence_matrix(KRIPPENDORFF_4X12)
    np.testing.assert_array_equal(coincidences.values, [1, 2, 3, 4, 5])
    np.testing.assert_allclose(coincidences.n_values, [9, 13, 10, 5, 3])
    np.testing.assert_allclose(coincidences.matrix, coincidences.matrix.T)
    assert coincidences.matrix[0, 0] == pytest.approx(7)
    assert coincidences.matrix[0, 1] == pytest.approx(4 / 3)
    assert coincidences.matrix[4, 4] == pytest.approx(3)


def test_fleiss_category_shares_match_wikipedia() -> None:
    shares = fleiss_kappa(FLEISS_WIKIPEDIA).category_share
    np.testing.assert_allclose(shares, [0.143, 0.200, 0.279, 0.150, 0.229], atol=5e-4)


def test_fleiss_per_category_kappas_average_to_overall() -> None:
    """Fleiss (1971): overall kappa is the p_j q_j-weighted mean of the per-category kappas."""
    result = fleiss_kappa(FLEISS_WIKIPEDIA)
    weights = result.category_share * (1 - result.category_share)
    assert np.average(result.per_category, weights=weights) == pytest.approx(result.kappa)


def test_fleiss_and_nominal_alpha_agree_on_complete_data() -> None:
    """Two independent routes: with no missing data, alpha = 1 - (nN - 1) / (nN) * (1 - kappa_Fleiss)."""
    data = np.array([np.repeat(np.arange(5.0), row) for row in FLEISS_WIKIPEDIA]).T
    total = FLEISS_WIKIPEDIA.sum()
    kappa = fleiss_kappa(FLEISS_WIKIPEDIA).kappa
    assert krippendorff_alpha(data) == pytest.approx(1 - (total - 1) / total * (1 - kappa))


def test_cohen_per_class_is_one_against_the_rest() -> None:
    a = np.array([0, 0, 1, 1, 2, 2, 2, 0, 1, 2, 0, 1])
    b = np.array([0, 1, 1, 1, 2, 0, 2, 0, 2, 2, 0, 1])
    result = cohen_kappa(a, b)
    for label, kappa in zip(result.labels, result.per_class, strict=True):
        assert kappa == pytest.approx(cohen_kappa(a == label, b == label).kappa)


def test_cohen_per_class_equals_overall_for_two_classes() -> None:
    """With two classes, "Yes against the rest" is the whole table, so each per-class kappa is the overall one."""
    result = cohen_kappa(COHEN_A, COHEN_B)
    np.testing.assert_allclose(result.per_class, [0.4, 0.4])
    np.testing.assert_array_equal(result.confusion, [[15, 10], [5, 20]])


def test_cohen_labels_fix_order_and_unused_class_is_nan() -> None:
    result = cohen_kappa(COHEN_A, COHEN_B, labels=["Yes", "No", "Maybe"])
    np.testing.assert_array_equal(result.confusion, [[20, 5, 0], [10, 15, 0], [0, 0, 0]])
    assert result.kappa == pytest.approx(0.4)
    np.testing.assert_allclose(result.per_class[:2], [0.4, 0.4])
    assert np.isnan(result.per_class[2])


def test_perfect_agreement_is_one() -> None:
    data = np.array([[1, 2, 3, 1, NAN], [1, 2, 3, 1, 2], [1, NAN, 3, 1, 2]])
    for level in ("nominal", "ordinal", "interval"):
        assert krippendorff_alpha(data, level) == pytest.approx(1.0)
    result = fleiss_kappa([[3, 0, 0], [0, 3, 0], [0, 0, 3], [3, 0, 0]])
    assert result.kappa == pytest.approx(1.0)
    np.testing.assert_allclose(result.per_category, 1.0)
    labels = np.array(["cat", "dog", "cat", "bird"])
    assert cohen_kappa(labels, labels).kappa == pytest.approx(1.0)


def test_unit_with_one_value_is_not_pairable() -> None:
    """Unit 12 of Krippendorff's example has one value (observer B's 3): dropping it changes nothing."""
    without_unit_12 = KRIPPENDORFF_4X12[:, :11]
    for level in ("nominal", "ordinal", "interval"):
        assert krippendorff_alpha(KRIPPENDORFF_4X12, level) == pytest.approx(krippendorff_alpha(without_unit_12, level))
    assert coincidence_matrix(KRIPPENDORFF_4X12).n_values.sum() == 40  # 41 values, the lone one not counted


def test_identical_values_give_nan() -> None:
    """One value everywhere: chance agreement is already perfect, so agreement beyond chance is 0/0: NaN."""
    data = np.array([[2, 2, NAN], [2, 2, 2]])
    for level in ("nominal", "ordinal", "interval"):
        assert np.isnan(krippendorff_alpha(data, level))
    result = fleiss_kappa([[4, 0], [4, 0]])
    assert np.isnan(result.kappa)
    assert np.isnan(result.per_category).all()
    assert np.isnan(cohen_kappa(["x", "x"], ["x", "x"]).kappa)


def test_fleiss_unused_category_is_nan_and_others_defined() -> None:
    result = fleiss_kappa([[2, 0, 0], [1, 1, 0], [0, 2, 0]])
    assert np.isnan(result.per_category[2])
    assert np.isfinite(result.per_category[:2]).all()


INVALID: list[tuple[str, Callable[[], object], str]] = [
    ("alpha-empty", lambda: krippendorff_alpha(np.empty((0, 0))), "empty"),
    ("alpha-1d", lambda: krippendorff_alpha([1.0, 2.0]), "2-D"),
    ("alpha-all-missing", lambda: krippendorff_alpha([[NAN, NAN], [NAN, NAN]]), "two or more coders"),
    ("alpha-no-pairable-unit", lambda: krippendorff_alpha([[1, NAN], [NAN, 2]]), "two or more coders"),
    ("alpha-infinite", lambda: krippendorff_alpha([[1.0, np.inf], [1.0, 2.0]]), "finite"),
    ("alpha-bad-level", lambda: krippendorff_alpha([[1, 2], [1, 2]], "ratio"), "level"),  # type: ignore[arg-type]
    ("fleiss-empty", lambda: fleiss_kappa(np.empty((0, 3))), "empty"),
    ("fleiss-1d", lambda: fleiss_kappa([1, 2]), "2-D"),
    ("fleiss-unequal-raters", lambda: fleiss_kappa([[2, 1], [1, 1]]), "same number of raters"),
    ("fleiss-negative", lambda: fleiss_kappa([[3, -1], [1, 1]]), "non-negative"),
    ("fleiss-fractional", lambda: fleiss_kappa([[1.5, 0.5], [1.0, 1.0]]), "whole numbers"),
    ("fleiss-one-rater", lambda: fleiss_kappa([[1, 0], [0, 1]]), "at least two raters"),
    ("cohen-empty", lambda: cohen_kappa([], []), "no items"),
    ("cohen-mismatched", lambda: cohen_kappa([1, 2, 3], [1, 2]), "different numbers"),
    ("cohen-2d", lambda: cohen_kappa([[1, 2]], [[1, 2]]), "1-D"),
    ("cohen-nan", lambda: cohen_kappa([1.0, NAN], [1.0, 2.0]), "NaN"),
    ("cohen-unknown-label", lambda: cohen_kappa(["a", "b"], ["a", "c"], labels=["a", "b"]), "missing from labels"),
    ("cohen-duplicate-labels", lambda: cohen_kappa(["a"], ["a"], labels=["a", "a"]), "distinct"),
]


@pytest.mark.parametrize(("call", "message"), [i[1:] for i in INVALID], ids=[i[0] for i in INVALID])
def test_invalid_input_is_refused(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_relabelling_categories_leaves_nominal_alpha_unchanged(rng: np.random.Generator) -> None:
    """Nominal categories are names: any one-to-one recoding must give the same alpha (and the same kappas)."""
    expected_alpha = krippendorff_alpha(KRIPPENDORFF_4X12)
    fleiss = fleiss_kappa(FLEISS_WIKIPEDIA)
    for _ in range(20):
        codes = rng.permutation(np.arange(10.0, 15.0))
        relabelled = np.where(np.isnan(KRIPPENDORFF_4X12), NAN, codes[np.nan_to_num(KRIPPENDORFF_4X12).astype(int) - 1])
        assert krippendorff_alpha(relabelled) == pytest.approx(expected_alpha)
        columns = rng.permutation(FLEISS_WIKIPEDIA.shape[1])
        permuted = fleiss_kappa(FLEISS_WIKIPEDIA[:, columns])
        assert permuted.kappa == pytest.approx(fleiss.kappa)
        np.testing.assert_allclose(permuted.per_category, fleiss.per_category[columns])


def test_coder_and_unit_order_do_not_matter(rng: np.random.Generator) -> None:
    for level in ("nominal", "ordinal", "interval"):
        expected = krippendorff_alpha(KRIPPENDORFF_4X12, level)
        for _ in range(5):
            shuffled = KRIPPENDORFF_4X12[rng.permutation(4)][:, rng.permutation(12)]
            assert krippendorff_alpha(shuffled, level) == pytest.approx(expected)
    assert cohen_kappa(COHEN_B, COHEN_A).kappa == pytest.approx(0.4)


def test_interval_alpha_ignores_units_and_ordinal_alpha_ignores_spacing() -> None:
    """Interval alpha survives any affine change of scale; ordinal alpha any order-keeping recoding."""
    data = KRIPPENDORFF_4X12
    assert krippendorff_alpha(-3.0 * data + 7.0, "interval") == pytest.approx(krippendorff_alpha(data, "interval"))
    assert krippendorff_alpha(data**3, "ordinal") == pytest.approx(krippendorff_alpha(data, "ordinal"))
    assert krippendorff_alpha(data**3, "interval") != pytest.approx(krippendorff_alpha(data, "interval"))
