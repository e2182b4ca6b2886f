"""Inter-annotator agreement: Krippendorff's alpha, Fleiss' kappa and Cohen's kappa, overall and per class.

Every coefficient here has the same shape, ``1 - observed disagreement / disagreement expected by chance``
(equivalently ``(p_o - p_e) / (1 - p_e)``): 1 is perfect agreement, 0 is what raters guessing from the
pooled label distribution would reach, below 0 is systematic disagreement.

When the data show no variation at all (every value in one category) the chance term is already perfect,
the ratio is 0/0 and agreement beyond chance cannot be assessed; the functions then return NaN rather than
raise, so a quality report can show "undefined" for that project or class and carry on. Inputs that cannot
be measured at all (empty, mismatched, too few pairable values) raise ``ValueError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Level = Literal["nominal", "ordinal", "interval"]
_LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval")


@dataclass(frozen=True)
class CoincidenceMatrix:
    """Krippendorff's coincidence matrix: ``matrix[c, k]`` counts c-k pairs within units, each unit weighted 1/(m_u-1).

    The weighting makes each pairable value contribute exactly 1 to its row, so ``matrix.sum() == n``, the
    number of pairable values, however many coders a unit had.
    """

    values: NDArray[np.float64]
    matrix: NDArray[np.float64]

    @property
    def n_values(self) -> NDArray[np.float64]:
        """n_c: how often each value was used in pairable units."""
        return np.asarray(self.matrix.sum(axis=1), dtype=np.float64)


@dataclass(frozen=True)
class FleissKappa:
    """Fleiss' kappa for the whole table and per category, with the terms a report may show."""

    kappa: float
    per_category: NDArray[np.float64]
    observed: float
    expected: float
    category_share: NDArray[np.float64]


@dataclass(frozen=True)
class CohenKappa:
    """Cohen's kappa between two raters, overall and per class (that class against the rest)."""

    kappa: float
    labels: NDArray[np.generic]
    per_class: NDArray[np.float64]
    observed: float
    expected: float
    confusion: NDArray[np.int64]


def _chance_corrected(observed: float, expected: float) -> float:
    """(p_o - p_e) / (1 - p_e), NaN when p_e == 1 (no variation: agreement beyond chance is undefined)."""
    if np.isclose(expected, 1.0, rtol=0.0, atol=1e-12):
        return float("nan")
    return float((observed - expected) / (1.0 - expected))


def coincidence_matrix(data: ArrayLike) -> CoincidenceMatrix:
    """Coincidences from a coders x units reliability matrix (NaN = missing).

    With n_uc the number of coders who gave unit u the value c and m_u = sum_c n_uc,

        o_ck = sum over units with m_u >= 2 of (n_uc * n_uk - [c == k] * n_uc) / (m_u - 1)

    A unit coded by a single coder has nothing to be compared with, so it is left out (not pairable).
    """
    array = np.asarray(data, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"reliability data must be a 2-D coders x units matrix, got {array.ndim} dimension(s)")
    if array.size == 0:
        raise ValueError("reliability data is empty")
    if np.isinf(array).any():
        raise ValueError("reliability data must be finite values or NaN for missing")
    present = ~np.isnan(array)
    values, codes = np.unique(array[present], return_inverse=True)
    counts = np.zeros((array.shape[1], values.size), dtype=np.float64)
    units = np.broadcast_to(np.arange(array.shape[1]), array.shape)[present]
    np.add.at(counts, (units, codes), 1.0)
    m_u = counts.sum(axis=1)
    pairable = m_u >= 2
    if m_u[pairable].sum() < 2:
        raise ValueError("reliability data needs at least one unit coded by two or more coders")
    weights = np.zeros_like(m_u)
    weights[pairable] = 1.0 / (m_u[pairable] - 1.0)
    weighted = counts * weights[:, None]
    matrix = weighted.T @ counts - np.diag(weighted.sum(axis=0))
    used = matrix.sum(axis=1) > 0
    return CoincidenceMatrix(values=values[used], matrix=matrix[np.ix_(used, used)])


def _squared_distances(values: NDArray[np.float64], n_c: NDArray[np.float64], level: Level) -> NDArray[np.float64]:
    """delta^2_ck per metric.

    nominal: 0 if c == k else 1; interval: (c - k)^2; ordinal: (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2, which
    measures the distance between ranks by how many values lie between them, not by the codes' arithmetic.
    """
    if level == "nominal":
        return 1.0 - np.eye(values.size)
    if level == "interval":
        return np.asarray(np.subtract.outer(values, values) ** 2, dtype=np.float64)
    cumulative = np.concatenate(([0.0], np.cumsum(n_c)))
    low = np.minimum.outer(np.arange(values.size), np.arange(values.size))
    high = np.maximum.outer(np.arange(values.size), np.arange(values.size))
    between = cumulative[high + 1] - cumulative[low]
    return np.asarray((between - np.add.outer(n_c, n_c) / 2.0) ** 2, dtype=np.float64)


def krippendorff_alpha(data: ArrayLike, level: Level = "nominal") -> float:
    """Krippendorff's alpha for a coders x units matrix with missing values (NaN), from its coincidence matrix.

        alpha = 1 - D_o / D_e = 1 - (n - 1) * sum_ck o_ck delta^2_ck / sum_ck n_c n_k delta^2_ck

    It takes any number of coders, tolerates missing values and corrects for chance from the pooled value
    distribution, which is why it is the coefficient of record for a project with uneven overlap. For
    ``nominal`` and ``ordinal`` the values are category codes (for ordinal, their order is the ranking).
    Returns NaN when all pairable values are the same (D_e = 0).
    """
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {', '.join(_LEVELS)}, got {level!r}")
    coincidences = coincidence_matrix(data)
    n_c = coincidences.n_values
    n = float(n_c.sum())
    delta2 = _squared_distances(coincidences.values, n_c, level)
    expected = float(np.outer(n_c, n_c).ravel() @ delta2.ravel())
    if expected == 0.0:
        return float("nan")
    observed = float(coincidences.matrix.ravel() @ delta2.ravel())
    return 1.0 - (n - 1.0) * observed / expected


def fleiss_kappa(counts: ArrayLike) -> FleissKappa:
    """Fleiss' kappa from a units x categories table of counts, the same number of raters n on every unit.

    P_i = (sum_j n_ij^2 - n) / (n (n - 1)), P_o = mean_i P_i, p_j = sum_i n_ij / (N n), P_e = sum_j p_j^2,
    kappa = (P_o - P_e) / (1 - P_e). Per category (Fleiss 1971):
    kappa_j = 1 - sum_i n_ij (n - n_ij) / (N n (n - 1) p_j (1 - p_j)); NaN for a category never or always used.
    The raters need not be the same people on every unit, which suits a crowd.
    """
    table = np.asarray(counts, dtype=np.float64)
    if table.ndim != 2:
        raise ValueError(f"counts must be a 2-D units x categories table, got {table.ndim} dimension(s)")
    if table.size == 0:
        raise ValueError("counts table is empty")
    if not np.isfinite(table).all() or (table < 0).any() or (table != np.round(table)).any():
        raise ValueError("counts must be non-negative whole numbers")
    raters = table.sum(axis=1)
    if not (raters == raters[0]).all():
        raise ValueError("every unit must have the same number of raters (rows of counts must have equal sums)")
    n = float(raters[0])
    if n < 2:
        raise ValueError("Fleiss' kappa needs at least two raters per unit")
    units = table.shape[0]
    observed = float(((table**2).sum(axis=1) - n).mean() / (n * (n - 1.0)))
    share = table.sum(axis=0) / (units * n)
    expected = float((share**2).sum())
    spread = share * (1.0 - share)
    disagreement = (table * (n - table)).sum(axis=0)
    per_category = np.full(share.size, np.nan)
    defined = spread > 0
    per_category[defined] = 1.0 - disagreement[defined] / (units * n * (n - 1.0) * spread[defined])
    return FleissKappa(
        kappa=_chance_corrected(observed, expected),
        per_category=per_category,
        observed=observed,
        expected=expected,
        category_share=share,
    )


def _checked_labels(
    rater_a: ArrayLike, rater_b: ArrayLike, labels: ArrayLike | None
) -> tuple[NDArray[np.generic], NDArray[np.generic], NDArray[np.generic]]:
    """The two raters' labels and the classes, refused early with a message a caller can act on."""
    a = np.asarray(rater_a)
    b = np.asarray(rater_b)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError("rater labels must be 1-D arrays")
    if a.size != b.size:
        raise ValueError(f"the raters labelled different numbers of items ({a.size} and {b.size})")
    if a.size == 0:
        raise ValueError("no items to compare")
    for array in (a, b):
        if array.dtype.kind == "f" and np.isnan(array).any():
            raise ValueError("rater labels contain NaN; drop items either rater skipped")
    classes = np.unique(np.concatenate((a, b))) if labels is None else np.asarray(labels)
    if classes.ndim != 1 or np.unique(classes).size != classes.size:
        raise ValueError("labels must be a 1-D array of distinct classes")
    if not (np.isin(a, classes).all() and np.isin(b, classes).all()):
        raise ValueError("raters used labels missing from labels")
    return a, b, classes


def _confusion(a: NDArray[np.generic], b: NDArray[np.generic], classes: NDArray[np.generic]) -> NDArray[np.int64]:
    """confusion[i, j]: items rater A put in classes[i] and rater B in classes[j] (classes in any order)."""
    order = np.argsort(classes, kind="stable")
    index_a = order[np.searchsorted(classes[order], a)]
    index_b = order[np.searchsorted(classes[order], b)]
    confusion = np.zeros((classes.size, classes.size), dtype=np.int64)
    np.add.at(confusion, (index_a, index_b), 1)
    return confusion


def cohen_kappa(rater_a: ArrayLike, rater_b: ArrayLike, labels: ArrayLike | None = None) -> CohenKappa:
    """Cohen's kappa between two raters who labelled the same items, overall and per class.

    kappa = (p_o - p_e) / (1 - p_e), with p_e from each rater's own label distribution. Per class, both
    raters' labels are reduced to "this class or not" and kappa is taken on that 2 x 2 table, which shows the
    classes the two read differently. ``labels`` fixes the classes and their order (default: every label
    either rater used); a class neither used gets NaN. Drop items either rater skipped before calling.
    """
    a, b, classes = _checked_labels(rater_a, rater_b, labels)
    confusion = _confusion(a, b, classes)
    total = float(confusion.sum())
    observed = float(np.trace(confusion)) / total
    expected = float(confusion.sum(axis=1) @ confusion.sum(axis=0)) / total**2
    both = np.diag(confusion).astype(np.float64)
    share_a = confusion.sum(axis=1) / total
    share_b = confusion.sum(axis=0) / total
    neither = total - confusion.sum(axis=1) - confusion.sum(axis=0) + both
    class_observed = (both + neither) / total
    class_expected = share_a * share_b + (1.0 - share_a) * (1.0 - share_b)
    per_class = np.array([_chance_corrected(o, e) for o, e in zip(class_observed, class_expected, strict=True)])
    return CohenKappa(
        kappa=_chance_corrected(observed, expected),
        labels=classes,
        per_class=per_class,
        observed=observed,
        expected=expected,
        confusion=confusion,
    )
