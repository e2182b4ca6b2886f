"""Active learning: which items people should label next, from the model's probabilities and embeddings.

Three ideas, usually combined:

- **uncertainty** — items the model is unsure of teach it most: ``margin``, ``entropy``, ``least_confidence``,
  each scaled to [0, 1] with 1 = the uniform distribution (most unsure) and 0 = one-hot (sure);
- **diversity** — a batch of the most uncertain items is often a batch of near-duplicates; the core-set
  greedy (Sener & Savarese, 2018) picks points that cover the embedding space instead: ``k_center_greedy``;
- **cold start** — before any label there is no model, so pick representatives of the data's clusters:
  ``cold_start`` (k-means++ seeding and a few Lloyd iterations).

``hybrid`` is the common "margin + diversity" batch: the ``candidates_factor·k`` most uncertain items, thinned
by k-center greedy to ``k`` that are uncertain *and* different from each other and from what is labelled.
``cluster_margin`` (Citovsky et al., 2021) is the same pre-filter thinned by k-means instead: the item nearest
each of ``k`` centres among the candidates — diverse like k-center, but representative rather than outlying,
which is what won on Fashion-MNIST (``benchmarks/bench_active_learning.py``).
``priorities`` turns any score into the integer task priorities the queue serves highest first.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "PRIORITY_LEVELS",
    "cluster_margin",
    "cold_start",
    "entropy",
    "hybrid",
    "k_center_greedy",
    "least_confidence",
    "margin",
    "priorities",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
_Embeddings = NDArray[np.float32]

PRIORITY_LEVELS = 1000
"""Priorities run 0..1000: fine enough to order a batch, coarse enough that a retrain moves few tasks."""

_INT32_MAX = 2**31 - 1
_ROW_TOLERANCE = 1e-4  # float32 softmax rows sum to 1 only within a few ulps
_CHUNK_ROWS = 8192  # rows of embeddings per block when a step needs many distances at once
_LLOYD_ITERATIONS = 5


def margin(probabilities: ArrayLike) -> FloatArray:
    """1 − (p₁ − p₂), with p₁ ≥ p₂ the two largest class probabilities: 1 when the top two tie, 0 when one-hot.

    The margin sees exactly the decision the model is about to get wrong (top class vs runner-up), which is why
    it beats entropy on many-class problems where the tail of small probabilities is noise.
    """
    p = _probabilities(probabilities)
    top_two = -np.partition(-p, 1, axis=1)[:, :2]
    scores: FloatArray = 1.0 - (top_two[:, 0] - top_two[:, 1])
    return np.clip(scores, 0.0, 1.0)


def entropy(probabilities: ArrayLike) -> FloatArray:
    """Shannon entropy over log k: H(p) / log k = −Σ_c p_c log p_c / log k, in [0, 1] (0 log 0 = 0)."""
    p = _probabilities(probabilities)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    scores: FloatArray = -terms.sum(axis=1) / np.log(p.shape[1])
    return np.clip(scores, 0.0, 1.0)


def least_confidence(probabilities: ArrayLike) -> FloatArray:
    """(1 − p₁) · k / (k − 1): how far the top class is from certainty, rescaled so uniform gives 1."""
    p = _probabilities(probabilities)
    k = p.shape[1]
    scores: FloatArray = (1.0 - p.max(axis=1)) * k / (k - 1)
    return np.clip(scores, 0.0, 1.0)


def priorities(scores: ArrayLike, *, levels: int = PRIORITY_LEVELS, base: int = 0) -> IntArray:
    """Integer task priorities (higher is served first) from scores (higher = more worth labelling).

    Rank-based, not linear in the score: priority = base + round(levels · r / (n − 1)), where r is the item's
    rank among the scores (0 = lowest; tied scores share their average rank). Ranks keep the queue's order
    meaningful whatever the score's scale or calibration (a retrained model may be sure of everything, yet its
    least sure items should still come first), and rounding into ``levels + 1`` buckets means a retrain only
    rewrites tasks whose place really changed. One item gets ``base + levels``. ``base`` lifts a whole batch
    above (or below) other work; the result must fit the 32-bit ``tasks.priority`` column.
    """
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"scores must be one-dimensional, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("scores must be finite (no NaN or infinity)")
    if levels < 1:
        raise ValueError(f"levels must be at least 1, got {levels}")
    if not -_INT32_MAX - 1 <= base <= _INT32_MAX - levels:
        raise ValueError(f"base + levels must fit a 32-bit priority, got base={base}, levels={levels}")
    n = values.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n == 1:
        return np.full(1, base + levels, dtype=np.int64)
    ordered = np.sort(values)
    low = np.searchsorted(ordered, values, side="left")
    high = np.searchsorted(ordered, values, side="right") - 1
    ranks = (low + high) / 2.0
    result: IntArray = base + np.rint(levels * ranks / (n - 1)).astype(np.int64)
    return result


def k_center_greedy(
    embeddings: ArrayLike, k: int, *, already: ArrayLike | None = None, seed: int | None = None
) -> IntArray:
    """The core-set greedy (Sener & Savarese, 2018): ``k`` indices, in the order picked, none in ``already``.

    Each step takes the point farthest from everything chosen or labelled so far,
    u = argmax_i min_{j ∈ S} ‖x_i − x_j‖, then adds it to S — a 2-approximation of the k-center problem, so the
    picked points cover the embedding space: every point lies within twice the optimal radius of one of them.
    A running array of each point's distance to S makes a step at most one pass over the data, O(n·d), and the
    whole run O(n·d·(k + |already|)); on clustered embeddings the triangle inequality skips most points of a
    step (see ``_greedy``). Distances are computed in float32 as ‖x‖² − 2x·c + ‖c‖², enough to rank.
    With nothing labelled the first point is drawn at random with ``seed``; ties go to the lowest index.
    """
    x = _embeddings(embeddings)
    labelled = _already(already, x.shape[0])
    _check_k(k, x.shape[0] - labelled.size)
    first = None
    if labelled.size == 0 and k > 0:
        first = int(np.random.default_rng(seed).integers(x.shape[0]))
    return _greedy(x, k, labelled, first)


def cold_start(embeddings: ArrayLike, k: int, seed: int | None = None) -> IntArray:
    """``k`` distinct representatives before any label: the point nearest each centre of a k-means clustering.

    Centres start from k-means++ seeding (Arthur & Vassilvitskii, 2007: each new centre drawn with probability
    ∝ D(x)², the squared distance to the nearest centre so far), then a few Lloyd iterations move them to their
    clusters' means. The medoid-like point of each cluster (the member nearest its centre) stands for it, so the
    first labels reach every mode of the data, small ones included — random sampling spends them in proportion
    to the modes' sizes. A cluster left empty is replaced by the farthest
    remaining point (k-center greedy), so exactly ``k`` indices always come back, sorted by cluster.
    """
    x = _embeddings(embeddings)
    n = x.shape[0]
    _check_k(k, n)
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    squared = _squared_norms(x)
    centres = _kmeans_plus_plus(x, squared, k, rng)
    for _ in range(_LLOYD_ITERATIONS):
        assignment, _distance = _nearest_centres(x, squared, centres)
        moved = _means(x, assignment, centres)
        if np.array_equal(moved, centres):
            break
        centres = moved
    assignment, distance = _nearest_centres(x, squared, centres)
    picks = _cluster_representatives(assignment, distance, k)
    if picks.size < k:
        extra = _greedy(x, k - picks.size, picks, None)
        picks = np.concatenate([picks, extra])
    return picks


def hybrid(
    probabilities: ArrayLike,
    embeddings: ArrayLike,
    k: int,
    *,
    already: ArrayLike | None = None,
    candidates_factor: int = 10,
    seed: int | None = None,
) -> IntArray:
    """Margin + diversity: k-center greedy among the ``candidates_factor·k`` unlabelled items of highest margin.

    Uncertainty alone picks near-duplicates (the model is unsure of a whole region at once); diversity alone
    ignores what the model already knows. Pre-filtering by margin and then covering the candidates — counting
    distances to the labelled items too, so the batch does not repeat them — gets both. With nothing labelled
    the batch starts from the most uncertain candidate. ``candidates_factor=1`` is plain margin sampling.
    ``seed`` is accepted for a uniform interface; ties in margin go to the lowest index, so it is unused today.
    """
    del seed  # deterministic: ties broken by index
    x, candidates, labelled = _uncertain(probabilities, embeddings, k, already, candidates_factor)
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    pool = np.concatenate([candidates, labelled])
    local_labelled = np.arange(candidates.size, pool.size)
    first = 0 if labelled.size == 0 else None
    local = _greedy(x[pool], k, local_labelled, first)
    result: IntArray = pool[local]
    return result


def cluster_margin(
    probabilities: ArrayLike,
    embeddings: ArrayLike,
    k: int,
    *,
    already: ArrayLike | None = None,
    candidates_factor: int = 10,
    seed: int | None = None,
) -> IntArray:
    """Margin + representativeness: among the ``candidates_factor·k`` unlabelled items of highest margin, the
    one nearest each centre of a k-means clustering of them (``cold_start`` run on the candidates).

    Uncertain regions are often a few dense clumps; k-center greedy then spends the batch on the odd outliers
    around them, while one pick per cluster samples every clump where it is densest. ``embeddings`` should be
    the features the head sees (e.g. its leading whitened principal components), so distances mean what they
    mean to the model. Returns ``k`` distinct indices, none in ``already``.
    """
    x, candidates, _ = _uncertain(probabilities, embeddings, k, already, candidates_factor)
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    result: IntArray = candidates[cold_start(x[candidates], k, seed=seed)]
    return result


def _uncertain(
    probabilities: ArrayLike, embeddings: ArrayLike, k: int, already: ArrayLike | None, candidates_factor: int
) -> tuple[_Embeddings, IntArray, IntArray]:
    """The checked embeddings, the ``candidates_factor·k`` unlabelled items of highest margin (ties to the lowest
    index) and the labelled ones: what every "uncertain, then diverse" batch starts from."""
    scores = margin(probabilities)
    x = _embeddings(embeddings)
    n = x.shape[0]
    if scores.shape[0] != n:
        raise ValueError(f"probabilities and embeddings must have the same rows, got {scores.shape[0]} and {n}")
    if candidates_factor < 1:
        raise ValueError(f"candidates_factor must be at least 1, got {candidates_factor}")
    labelled = _already(already, n)
    _check_k(k, n - labelled.size)
    open_items = np.setdiff1d(np.arange(n), labelled)
    order = np.lexsort((open_items, -scores[open_items]))  # margin high to low, then index
    candidates: IntArray = open_items[order[: min(open_items.size, candidates_factor * k)]]
    return x, candidates, labelled


def _greedy(x: _Embeddings, k: int, labelled: IntArray, first: int | None) -> IntArray:
    """k-center greedy core: ``first`` (if given) then k − 1 farthest points; else k farthest from ``labelled``.

    Each point remembers which centre is nearest (a(x), at distance m(x)). A new centre c can only come nearer
    to x if ‖c − a(x)‖ < 2·m(x) (triangle inequality: ‖x − c‖ ≥ ‖c − a(x)‖ − m(x)), so one short pass over
    the centres rules out most points of clustered embeddings; only the rest are measured (Elkan's bound).
    """
    n = x.shape[0]
    picks = np.empty(k, dtype=np.int64)
    if k == 0:
        return picks
    squared = _squared_norms(x)
    centres = np.empty(labelled.size + k, dtype=np.int64)
    centres[: labelled.size] = labelled
    if labelled.size:
        assign, nearest = _nearest(x, squared, x[labelled], squared[labelled])
        nearest[labelled] = -np.inf
    else:
        assign, nearest = np.zeros(n, dtype=np.int64), np.full(n, np.inf, dtype=np.float32)
    for step in range(k):
        chosen = first if step == 0 and first is not None else int(np.argmax(nearest))
        picks[step] = chosen
        _update(x, squared, nearest, assign, centres[: labelled.size + step], chosen)
        centres[labelled.size + step] = chosen
    return picks


def _update(
    x: _Embeddings, squared: _Embeddings, nearest: _Embeddings, assign: IntArray, centres: IntArray, chosen: int
) -> None:
    """Lower each point's squared distance to the centres by the new one; the new centre leaves the race."""
    if centres.size:
        apart = np.maximum(squared[centres] - 2.0 * (x[centres] @ x[chosen]) + squared[chosen], 0.0)
        # ‖c − a(x)‖² < 4·m(x)² ⇔ ‖c − a(x)‖ < 2·m(x); slack of 1e-3 guards float32 rounding
        rows = np.flatnonzero(apart[assign] < 4.0 * np.maximum(nearest, 0.0) * 1.001)
    else:
        rows = np.arange(x.shape[0])
    if rows.size > x.shape[0] // 2:  # copying most rows costs more than one plain pass over all of them
        distance = squared - 2.0 * (x @ x[chosen]) + squared[chosen]
        closer = distance < nearest
        nearest[closer] = distance[closer]
        assign[closer] = centres.size
    else:
        distance = squared[rows] - 2.0 * (x[rows] @ x[chosen]) + squared[chosen]
        closer = distance < nearest[rows]
        nearest[rows[closer]] = distance[closer]
        assign[rows[closer]] = centres.size
    nearest[chosen] = -np.inf


def _nearest(
    x: _Embeddings, squared: _Embeddings, centres: _Embeddings, centre_squared: _Embeddings
) -> tuple[IntArray, _Embeddings]:
    """Each row's nearest centre and squared distance to it, in blocks of rows to bound memory."""
    n = x.shape[0]
    index = np.empty(n, dtype=np.int64)
    distance = np.empty(n, dtype=np.float32)
    block = max(1, min(_CHUNK_ROWS, (1 << 25) // max(1, centres.shape[0])))  # ≤ 128 MiB of float32 per block
    for begin in range(0, n, block):
        end = min(n, begin + block)
        d = squared[begin:end, None] - 2.0 * (x[begin:end] @ centres.T) + centre_squared[None, :]
        index[begin:end] = np.argmin(d, axis=1)
        distance[begin:end] = d[np.arange(end - begin), index[begin:end]]
    np.maximum(distance, 0.0, out=distance)
    return index, distance


def _nearest_centres(x: _Embeddings, squared: _Embeddings, centres: _Embeddings) -> tuple[IntArray, _Embeddings]:
    return _nearest(x, squared, centres, _squared_norms(centres))


def _kmeans_plus_plus(x: _Embeddings, squared: _Embeddings, k: int, rng: np.random.Generator) -> _Embeddings:
    """k-means++ seeding: each next centre drawn ∝ squared distance to the nearest centre so far."""
    n = x.shape[0]
    chosen = np.empty(k, dtype=np.int64)
    chosen[0] = rng.integers(n)
    nearest = np.maximum(squared - 2.0 * (x @ x[chosen[0]]) + squared[chosen[0]], 0.0)
    for step in range(1, k):
        weights = nearest.astype(np.float64)
        total = weights.sum()
        if total <= 0:  # fewer distinct points than k: any point not yet chosen
            remaining = np.setdiff1d(np.arange(n), chosen[:step])
            chosen[step] = remaining[0]
        else:
            chosen[step] = rng.choice(n, p=weights / total)
        distance = np.maximum(squared - 2.0 * (x @ x[chosen[step]]) + squared[chosen[step]], 0.0)
        np.minimum(nearest, distance, out=nearest)
        nearest[chosen[: step + 1]] = 0.0
    centres: _Embeddings = x[chosen].copy()
    return centres


def _means(x: _Embeddings, assignment: IntArray, centres: _Embeddings) -> _Embeddings:
    """Lloyd's update: each centre to its cluster's mean; an empty cluster keeps its centre."""
    k = centres.shape[0]
    order = np.argsort(assignment, kind="stable")
    counts = np.bincount(assignment, minlength=k)
    filled = np.flatnonzero(counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[filled]
    sums = np.add.reduceat(x[order], starts, axis=0)  # one pass over rows grouped by cluster
    moved: _Embeddings = centres.copy()
    moved[filled] = (sums / counts[filled, None]).astype(np.float32)
    return moved


def _cluster_representatives(assignment: IntArray, distance: _Embeddings, k: int) -> IntArray:
    """The member nearest its centre, per non-empty cluster, in cluster order (ties to the lowest index)."""
    order = np.lexsort((np.arange(assignment.size), distance, assignment))
    sorted_clusters = assignment[order]
    first_of_cluster = np.ones(order.size, dtype=bool)
    first_of_cluster[1:] = sorted_clusters[1:] != sorted_clusters[:-1]
    picks: IntArray = order[first_of_cluster].astype(np.int64)
    return picks[:k]


def _squared_norms(x: _Embeddings) -> _Embeddings:
    norms: _Embeddings = np.einsum("ij,ij->i", x, x)
    return norms


def _probabilities(probabilities: ArrayLike) -> FloatArray:
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"probabilities must be (n, k) with k >= 2 classes, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or (p.size and (p.min() < 0 or p.max() > 1)):
        raise ValueError("probabilities must be finite and in [0, 1]")
    if p.size and np.abs(p.sum(axis=1) - 1.0).max() > _ROW_TOLERANCE:
        raise ValueError("probabilities rows must sum to 1")
    return p


def _embeddings(embeddings: ArrayLike) -> _Embeddings:
    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"embeddings must be a non-empty (n, d) array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("embeddings must be finite (no NaN or infinity)")
    return x


def _already(already: ArrayLike | None, n: int) -> IntArray:
    if already is None:
        return np.zeros(0, dtype=np.int64)
    index = np.asarray(already)
    if index.ndim != 1 or (index.size and not np.issubdtype(index.dtype, np.integer)):
        raise ValueError("already must be a one-dimensional array of integer indices")
    if index.size and (index.min() < 0 or index.max() >= n):
        raise ValueError(f"already must hold indices in [0, {n}), got {index.min()}..{index.max()}")
    unique: IntArray = np.unique(index).astype(np.int64)
    return unique


def _check_k(k: int, available: int) -> None:
    if k < 0:
        raise ValueError(f"k must be non-negative, got {k}")
    if k > available:
        raise ValueError(f"k must be at most the {available} unlabelled points, got {k}")
