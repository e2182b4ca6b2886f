"""Semi-supervised help for the head: the unlabelled pool lends it labels it can trust.

Few human answers leave the linear head short of what the pool's structure already says. Two views of the
pool are built from the same embeddings and a pseudo-label is kept only where they agree:

- **label spreading** (Zhou et al., 2004) over a k-nearest-neighbour graph of the pool:
  F ← α·S·F + (1 − α)·Y, with S = D^{-1/2} W D^{-1/2} the normalised symmetric k-NN adjacency and Y the one-hot
  answers; each row of F, normalised, is a class distribution that follows the clusters of the embeddings;
- the **head's own prediction**, which follows a linear boundary.

``agreeing_pseudo_labels`` keeps the unlabelled items whose two views name the same class, most confident
first (confidence = the smaller of the two top probabilities). ``refit_with_pseudo_labels`` is the whole step
the service and the benchmarks share: predict the pool, spread the answers, keep what agrees, refit the head on
answers and pseudo-labels together. The head alone still makes every prediction, so with every item labelled
nothing changes. On Fashion-MNIST this is what takes active learning past 3× fewer labels than random
(``benchmarks/bench_active_learning.py``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kolam.learning.heads import SoftmaxHead

__all__ = [
    "GRAPH_DIMENSIONS",
    "GRAPH_NEIGHBOURS",
    "PseudoLabelled",
    "agreeing_pseudo_labels",
    "label_spreading",
    "nearest_neighbours",
    "neighbour_graph",
    "refit_with_pseudo_labels",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_CHUNK_ROWS = 4096  # query rows per block of the brute-force similarity search
GRAPH_NEIGHBOURS = 10
GRAPH_DIMENSIONS = 64
"""The graph is built on the leading whitened principal components: they carry the clusters, and 64 of 256
make the brute-force search four times cheaper."""


def nearest_neighbours(embeddings: ArrayLike, k: int) -> IntArray:
    """(n, k) indices of each row's k most cosine-similar other rows, most similar first (brute force)."""
    x = np.asarray(embeddings, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] == 0:
        raise ValueError(f"embeddings must be an (n, d) array with n ≥ 2, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("embeddings must be finite (no NaN or infinity)")
    n = x.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"k must be in [1, {n - 1}] for {n} rows, got {k}")
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, _CHUNK_ROWS):
        rows = np.arange(start, min(start + _CHUNK_ROWS, n))
        similarity = unit[rows] @ unit.T
        similarity[np.arange(rows.size), rows] = -np.inf  # an item is not its own neighbour
        best = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(similarity, best, axis=1), axis=1, kind="stable")
        out[rows] = np.take_along_axis(best, order, axis=1)
    return out


def _graph(neighbours: IntArray) -> Any:
    """S = D^{-1/2} W D^{-1/2} of the symmetrised k-NN adjacency W, as a SciPy sparse matrix."""
    from scipy import sparse

    n, k = neighbours.shape
    adjacency = sparse.csr_matrix((np.ones(n * k), (np.repeat(np.arange(n), k), neighbours.ravel())), shape=(n, n))
    adjacency = adjacency.maximum(adjacency.T)  # symmetric: i ~ j when either lists the other
    inverse_root = 1.0 / np.sqrt(np.maximum(np.asarray(adjacency.sum(axis=1)).ravel(), 1.0))
    return sparse.diags(inverse_root) @ adjacency @ sparse.diags(inverse_root)


def label_spreading(
    neighbours: ArrayLike,
    labelled: ArrayLike,
    labels: ArrayLike,
    n_classes: int,
    *,
    alpha: float = 0.99,
    n_iter: int = 30,
) -> FloatArray:
    """(n, n_classes) class distributions for every item, spread from the answers over the k-NN graph.

    ``neighbours`` (n, k): each item's neighbour indices (``nearest_neighbours``); ``labelled``: indices of the
    answered items; ``labels``: their class indices; ``alpha`` in (0, 1): how far answers travel (near 1: far);
    ``n_iter``: fixed-point iterations. An item the answers never reach gets the uniform distribution.
    """
    graph = np.asarray(neighbours)
    if graph.ndim != 2 or graph.shape[1] == 0 or not np.issubdtype(graph.dtype, np.integer):
        raise ValueError(f"neighbours must be an (n, k) integer array, got shape {graph.shape}")
    n = graph.shape[0]
    if graph.size and (graph.min() < 0 or graph.max() >= n):
        raise ValueError(f"neighbours must index rows in [0, {n})")
    answered, y = _answers(labelled, labels, n, n_classes)
    if not 0 < alpha < 1 or n_iter < 1:
        raise ValueError(f"need 0 < alpha < 1 and n_iter ≥ 1, got {alpha} and {n_iter}")
    s = _graph(graph.astype(np.int64))
    seeds = np.zeros((n, n_classes))
    seeds[answered, y] = 1.0
    f = seeds.copy()
    for _ in range(n_iter):
        f = alpha * (s @ f) + (1 - alpha) * seeds
    f = np.maximum(f, 0.0)
    totals = f.sum(axis=1, keepdims=True)
    spread: FloatArray = np.where(totals > 0, f / np.where(totals > 0, totals, 1.0), 1.0 / n_classes)
    return spread


def neighbour_graph(projected: ArrayLike) -> IntArray:
    """The k-NN graph label spreading runs on, from a head's projected features (``SoftmaxHead.transform``)."""
    z = np.asarray(projected, dtype=np.float32)
    return nearest_neighbours(z[:, :GRAPH_DIMENSIONS], min(GRAPH_NEIGHBOURS, z.shape[0] - 1))


def agreeing_pseudo_labels(
    head_probabilities: ArrayLike,
    spread: ArrayLike,
    labelled: ArrayLike,
    *,
    share: float = 0.8,
    limit: int | None = None,
) -> tuple[IntArray, IntArray]:
    """(indices, classes) of unlabelled items where the head and the spreading name the same class.

    ``labelled``: rows never pseudo-labelled (the answered ones, and any held out). Of the agreeing items, the
    ``share`` (0, 1] most confident are kept, at most ``limit``, confidence being min(max p_head, max p_spread);
    indices come back in increasing order.
    """
    p = np.asarray(head_probabilities, dtype=np.float64)
    f = np.asarray(spread, dtype=np.float64)
    if p.ndim != 2 or p.shape != f.shape or p.shape[1] < 2:
        raise ValueError(f"head_probabilities and spread must be the same (n, k) shape, got {p.shape}, {f.shape}")
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be non-negative, got {limit}")
    answered = np.asarray(labelled, dtype=np.int64).ravel()
    if answered.size and (answered.min() < 0 or answered.max() >= p.shape[0]):
        raise ValueError(f"labelled must index rows in [0, {p.shape[0]})")
    open_ = np.ones(p.shape[0], dtype=bool)
    open_[answered] = False
    classes = p.argmax(axis=1)
    candidates = np.flatnonzero(open_ & (classes == f.argmax(axis=1)))
    if candidates.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    confidence = np.minimum(p.max(axis=1), f.max(axis=1))[candidates]
    keep = max(1, round(share * candidates.size))
    if limit is not None:
        keep = min(keep, limit)
    chosen = np.sort(candidates[np.argsort(-confidence, kind="stable")[:keep]]).astype(np.int64)
    return chosen, classes[chosen].astype(np.int64)


@dataclass(frozen=True)
class PseudoLabelled:
    head: SoftmaxHead
    """The head refitted on the answers and the pseudo-labels (the input head if there were none)."""
    rows: IntArray
    """Pool rows that were pseudo-labelled."""
    classes: IntArray


def refit_with_pseudo_labels(
    head: SoftmaxHead,
    pool: ArrayLike,
    neighbours: ArrayLike,
    labelled: ArrayLike,
    labels: ArrayLike,
    n_classes: int,
    *,
    sample_weight: ArrayLike | None = None,
    held_out: ArrayLike | None = None,
    pseudo_weight: float = 1.0,
    share: float = 1.0,
    limit: int | None = None,
) -> PseudoLabelled:
    """One semi-supervised step: ``head`` (fitted on the answers) predicts the ``pool``; the answers spread over
    ``neighbours`` (the pool's k-NN graph); the items where both agree join the answers with ``pseudo_weight``
    each, and a copy of the head is refitted on them (same projection, warm start).

    ``labelled``/``labels``: answered pool rows and their class indices, or (n, k) soft labels
    (``sample_weight``: their weights);
    ``held_out``: rows that must never be pseudo-labelled (gold kept for evaluation).
    """
    x = np.asarray(pool)
    given = np.asarray(labels)
    soft = given.ndim == 2  # distributions (e.g. crowd posteriors): spread by their top class, fitted as given
    answered, y = _answers(labelled, given.argmax(axis=1) if soft else given, x.shape[0], n_classes)
    weights = np.ones(answered.size) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != answered.shape:
        raise ValueError(f"sample_weight must have one weight per labelled row, got {weights.shape}")
    if not pseudo_weight > 0:
        raise ValueError(f"pseudo_weight must be positive, got {pseudo_weight}")
    closed = answered if held_out is None else np.union1d(answered, np.asarray(held_out, dtype=np.int64))
    spread = label_spreading(neighbours, answered, y, n_classes)
    chosen, classes = agreeing_pseudo_labels(head.predict_proba(x), spread, closed, share=share, limit=limit)
    if chosen.size == 0:
        return PseudoLabelled(head, chosen, classes)
    refitted = copy.deepcopy(head)
    targets = np.vstack([given, np.eye(n_classes)[classes]]) if soft else np.concatenate([y, classes])
    refitted.fit(
        x[np.concatenate([answered, chosen])],
        targets,
        n_classes,
        sample_weight=np.concatenate([weights, np.full(chosen.size, pseudo_weight)]),
        keep_projection=True,
        warm_start=True,
    )
    return PseudoLabelled(refitted, chosen, classes)


def _answers(labelled: ArrayLike, labels: ArrayLike, n: int, n_classes: int) -> tuple[IntArray, IntArray]:
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")
    answered = np.asarray(labelled)
    y = np.asarray(labels)
    if answered.ndim != 1 or y.shape != answered.shape:
        raise ValueError(f"labelled and labels must be 1-d and the same length, got {answered.shape}, {y.shape}")
    if answered.size == 0:
        raise ValueError("label spreading needs at least one answered item")
    if not (np.issubdtype(answered.dtype, np.integer) and np.issubdtype(y.dtype, np.integer)):
        raise ValueError("labelled and labels must be integer arrays")
    if answered.min() < 0 or answered.max() >= n or np.unique(answered).size != answered.size:
        raise ValueError(f"labelled must be distinct row indices in [0, {n})")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"labels must be class indices in [0, {n_classes})")
    return answered.astype(np.int64), y.astype(np.int64)
