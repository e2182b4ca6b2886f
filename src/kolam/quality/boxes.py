"""Consensus boxes from several annotators of one image, and how well each annotator drew them.

Boxes come as Kolam's ``image_boxes`` answers give them: ``x, y, w, h`` in original-image pixels plus a label,
which the caller turns into integer codes (any fixed code, e.g. -1, for an unlabelled box). Every function here
works on one image; its annotators are numbered ``0 .. m-1`` and ``weights[a]`` is annotator ``a``'s skill
(e.g. their accuracy on gold). An annotator who answered the image with no boxes still counts: they are in
``weights`` and lower the confidence of every box they did not draw.

Matching is greedy (no SciPy needed), in the order of weighted boxes fusion (Solovyev, Wang & Gabruseva 2019,
"Weighted boxes fusion: ensembling boxes from different object detection models", arXiv:1910.13302): boxes
are visited from the most to the least trusted, and each joins the cluster of the same label whose *fused*
box it overlaps most (IoU ≥ threshold) and that holds no box of its annotator yet; otherwise it opens a new
cluster. Comparing with the fused box rather than with single boxes keeps clusters from chaining.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

__all__ = [
    "BoxConsensus",
    "BoxScores",
    "ConsensusBoxes",
    "iou_matrix",
    "match_one_to_one",
    "score_annotators",
]


def _xywh(boxes: ArrayLike, name: str) -> FloatArray:
    array = np.asarray(boxes, dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 4), dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"{name}: expected an (n, 4) array of x, y, w, h; got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: coordinates must be finite numbers")
    if (array[:, 2:] <= 0).any():
        raise ValueError(f"{name}: every box needs w > 0 and h > 0")
    return array


def _codes(values: ArrayLike, n: int, name: str) -> IntArray:
    array = np.asarray(values)
    if array.size == 0 and n == 0:
        return np.zeros(0, dtype=np.int64)
    if array.shape != (n,):
        raise ValueError(f"{name}: expected {n} values, one per box; got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name}: expected integer codes; got {array.dtype}")
    return array.astype(np.int64)


def iou_matrix(a: ArrayLike, b: ArrayLike) -> FloatArray:
    """Intersection over union of every box of ``a`` with every box of ``b``, shape ``(len(a), len(b))``.

    IoU(A, B) = |A ∩ B| / (|A| + |B| − |A ∩ B|); the intersection's sides are
    max(0, min(x₂) − max(x₁)) and likewise for y, computed for all pairs at once by broadcasting.
    """
    first, second = _xywh(a, "a"), _xywh(b, "b")
    lo1, hi1 = first[:, None, :2], first[:, None, :2] + first[:, None, 2:]
    lo2, hi2 = second[None, :, :2], second[None, :, :2] + second[None, :, 2:]
    sides = np.clip(np.minimum(hi1, hi2) - np.maximum(lo1, lo2), 0.0, None)
    inter = sides[..., 0] * sides[..., 1]
    area1 = first[:, 2] * first[:, 3]
    area2 = second[:, 2] * second[:, 3]
    result: FloatArray = inter / (area1[:, None] + area2[None, :] - inter)
    return result


@dataclass(frozen=True)
class ConsensusBoxes:
    """The fused boxes of one image, most confident first.

    ``confidence`` is Σ skill·score of the agreeing annotators / Σ skill of all annotators of the image, so
    1.0 means everyone drew it; ``votes`` counts agreeing annotators; ``flagged`` marks clusters with fewer
    than ``min_votes`` (present only when the consensus keeps them); ``cluster_of[i]`` is the row of input box
    ``i`` in this result, or -1 when its cluster was dropped.
    """

    xywh: FloatArray
    labels: IntArray
    confidence: FloatArray
    votes: IntArray
    flagged: BoolArray
    cluster_of: IntArray


class BoxConsensus:
    """Weighted boxes fusion across annotators, with at most one box per annotator in a cluster.

    The fused box is the weighted mean of its members' coordinates, weight cᵢ = skill(annotator of i) · scoreᵢ:
    x̂ = Σ cᵢ xᵢ / Σ cᵢ, and likewise y, w, h (averaging x and w is the same as averaging both corners, since
    x₂ = x + w is linear). A cluster whose members all have weight 0 falls back to their plain mean.

    ``few_votes="drop"`` removes clusters with fewer than ``min_votes`` annotators; ``"flag"`` keeps them with
    ``flagged`` set, for a reviewer to look at.
    """

    def __init__(
        self,
        iou_threshold: float = 0.55,
        min_votes: int = 2,
        few_votes: Literal["drop", "flag"] = "drop",
    ) -> None:
        if not 0.0 < iou_threshold <= 1.0:
            raise ValueError(f"iou_threshold must be in (0, 1]; got {iou_threshold}")
        if min_votes < 1:
            raise ValueError(f"min_votes must be at least 1; got {min_votes}")
        if few_votes not in ("drop", "flag"):
            raise ValueError(f"few_votes must be 'drop' or 'flag'; got {few_votes!r}")
        self.iou_threshold = iou_threshold
        self.min_votes = min_votes
        self.few_votes = few_votes

    def fit(
        self,
        xywh: ArrayLike,
        labels: ArrayLike,
        annotators: ArrayLike,
        weights: ArrayLike,
        scores: ArrayLike | None = None,
    ) -> BoxConsensus:
        """Cluster and fuse one image's boxes; the result is in ``result_`` (see ``ConsensusBoxes``)."""
        boxes = _xywh(xywh, "xywh")
        n = len(boxes)
        label_codes = _codes(labels, n, "labels")
        who = _codes(annotators, n, "annotators")
        skill = _weights(weights)
        if n and (who.min() < 0 or who.max() >= len(skill)):
            raise ValueError(f"annotators: codes must be in 0..{len(skill) - 1}, one per entry of weights")
        coef = skill[who] * _scores(scores, n)
        cluster = _cluster(boxes, label_codes, who, coef, len(skill), self.iou_threshold)
        self.result_ = self._summarise(boxes, label_codes, who, coef, cluster, skill)
        return self

    def fit_predict(
        self,
        xywh: ArrayLike,
        labels: ArrayLike,
        annotators: ArrayLike,
        weights: ArrayLike,
        scores: ArrayLike | None = None,
    ) -> ConsensusBoxes:
        return self.fit(xywh, labels, annotators, weights, scores).result_

    def _summarise(
        self,
        boxes: FloatArray,
        labels: IntArray,
        who: IntArray,
        coef: FloatArray,
        cluster: IntArray,
        skill: FloatArray,
    ) -> ConsensusBoxes:
        k = int(cluster.max()) + 1 if len(cluster) else 0
        csum = np.bincount(cluster, weights=coef, minlength=k)
        count = np.bincount(cluster, minlength=k).astype(np.float64)
        fused = np.empty((k, 4), dtype=np.float64)
        for axis in range(4):
            weighted = np.bincount(cluster, weights=coef * boxes[:, axis], minlength=k)
            plain = np.bincount(cluster, weights=boxes[:, axis], minlength=k)
            fused[:, axis] = np.where(csum > 0, weighted / np.where(csum > 0, csum, 1.0), plain / np.maximum(count, 1))
        fused_labels = np.zeros(k, dtype=np.int64)
        fused_labels[cluster] = labels
        total = skill.sum()
        confidence = csum / total if total > 0 else np.zeros(k)
        votes = count.astype(np.int64)
        flagged = votes < self.min_votes
        keep = ~flagged if self.few_votes == "drop" else np.ones(k, dtype=bool)
        # Most confident first; ties by coordinates and label so annotator numbering never changes the order.
        order = np.lexsort((fused[:, 3], fused[:, 2], fused[:, 1], fused[:, 0], fused_labels, -confidence))
        order = order[keep[order]]
        row = np.full(k, -1, dtype=np.int64)
        row[order] = np.arange(len(order))
        return ConsensusBoxes(
            xywh=fused[order],
            labels=fused_labels[order],
            confidence=confidence[order],
            votes=votes[order],
            flagged=flagged[order],
            cluster_of=row[cluster] if len(cluster) else np.zeros(0, dtype=np.int64),
        )


def _weights(weights: ArrayLike) -> FloatArray:
    skill = np.asarray(weights, dtype=np.float64)
    if skill.ndim != 1:
        raise ValueError(f"weights: expected one skill per annotator of the image; got shape {skill.shape}")
    if not np.isfinite(skill).all() or (skill < 0).any():
        raise ValueError("weights: skills must be finite and ≥ 0")
    return skill


def _scores(scores: ArrayLike | None, n: int) -> FloatArray:
    if scores is None:
        return np.ones(n, dtype=np.float64)
    array = np.asarray(scores, dtype=np.float64)
    if array.shape != (n,) and not (n == 0 and array.size == 0):
        raise ValueError(f"scores: expected {n} values, one per box; got shape {array.shape}")
    if not np.isfinite(array).all() or (array < 0).any() or (array > 1).any():
        raise ValueError("scores: box confidences must be in [0, 1]")
    return array.reshape(n)


def _cluster(
    boxes: FloatArray,
    labels: IntArray,
    who: IntArray,
    coef: FloatArray,
    n_annotators: int,
    threshold: float,
) -> IntArray:
    """WBF's sequential clustering: most trusted box first, each joins the best-overlapping open cluster."""
    n = len(boxes)
    cluster = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return cluster
    order = np.lexsort((boxes[:, 3], boxes[:, 2], boxes[:, 1], boxes[:, 0], labels, -coef))
    wsum = np.zeros((n, 4))
    psum = np.zeros((n, 4))
    csum = np.zeros(n)
    count = np.zeros(n)
    cluster_label = np.zeros(n, dtype=np.int64)
    taken = np.zeros((n, n_annotators), dtype=bool)
    k = 0
    for i in order:
        best = -1
        if k:
            fused = np.where(
                (csum[:k] > 0)[:, None],
                wsum[:k] / np.where(csum[:k] > 0, csum[:k], 1.0)[:, None],
                psum[:k] / np.maximum(count[:k], 1.0)[:, None],
            )
            overlap = iou_matrix(boxes[i : i + 1], fused)[0]
            open_ = (cluster_label[:k] == labels[i]) & ~taken[:k, who[i]] & (overlap >= threshold)
            if open_.any():
                best = int(np.argmax(np.where(open_, overlap, -1.0)))
        if best < 0:
            best, k = k, k + 1
            cluster_label[best] = labels[i]
        cluster[i] = best
        wsum[best] += coef[i] * boxes[i]
        psum[best] += boxes[i]
        csum[best] += coef[i]
        count[best] += 1
        taken[best, who[i]] = True
    return cluster


def match_one_to_one(
    xywh: ArrayLike,
    labels: ArrayLike,
    ref_xywh: ArrayLike,
    ref_labels: ArrayLike,
    iou_threshold: float = 0.5,
) -> tuple[IntArray, IntArray, FloatArray]:
    """Pairs ``(i, j, IoU)`` of boxes and reference boxes of the same label with IoU ≥ threshold, each box used once.

    Greedy by IoU, highest first (as detection benchmarks do); ties broken by index so it is deterministic.
    """
    boxes, ref = _xywh(xywh, "xywh"), _xywh(ref_xywh, "ref_xywh")
    codes = _codes(labels, len(boxes), "labels")
    ref_codes = _codes(ref_labels, len(ref), "ref_labels")
    overlap = iou_matrix(boxes, ref)
    ok = (codes[:, None] == ref_codes[None, :]) & (overlap >= iou_threshold)
    rows, cols = np.nonzero(ok)
    order = np.lexsort((cols, rows, -overlap[rows, cols]))
    used_row = np.zeros(len(boxes), dtype=bool)
    used_col = np.zeros(len(ref), dtype=bool)
    pairs: list[tuple[int, int]] = []
    for r, c in zip(rows[order], cols[order], strict=True):
        if not used_row[r] and not used_col[c]:
            used_row[r] = used_col[c] = True
            pairs.append((int(r), int(c)))
    i = np.array([p[0] for p in pairs], dtype=np.int64)
    j = np.array([p[1] for p in pairs], dtype=np.int64)
    return i, j, overlap[i, j] if pairs else np.zeros(0, dtype=np.float64)


@dataclass(frozen=True)
class BoxScores:
    """Per-annotator counts against a reference (the consensus or gold), one entry per annotator.

    Counts rather than ratios so that images add up (micro-averaging): precision = TP / boxes drawn, recall =
    TP / reference boxes, mean IoU over matched pairs. A ratio with a zero denominator is NaN, not 0 or 1.
    """

    true_positives: IntArray
    n_boxes: IntArray
    n_reference: IntArray
    iou_sum: FloatArray

    def __add__(self, other: BoxScores) -> BoxScores:
        return BoxScores(
            self.true_positives + other.true_positives,
            self.n_boxes + other.n_boxes,
            self.n_reference + other.n_reference,
            self.iou_sum + other.iou_sum,
        )

    @property
    def precision(self) -> FloatArray:
        return _ratio(self.true_positives, self.n_boxes)

    @property
    def recall(self) -> FloatArray:
        return _ratio(self.true_positives, self.n_reference)

    @property
    def mean_iou(self) -> FloatArray:
        return _ratio(self.iou_sum, self.true_positives)


def _ratio(num: ArrayLike, den: ArrayLike) -> FloatArray:
    top = np.asarray(num, dtype=np.float64)
    bottom = np.asarray(den, dtype=np.float64)
    result: FloatArray = np.divide(top, bottom, out=np.full_like(top, np.nan), where=bottom > 0)
    return result


def score_annotators(
    xywh: ArrayLike,
    labels: ArrayLike,
    annotators: ArrayLike,
    n_annotators: int,
    ref_xywh: ArrayLike,
    ref_labels: ArrayLike,
    iou_threshold: float = 0.5,
) -> BoxScores:
    """Match each annotator's boxes one-to-one with the reference boxes of one image and count.

    Against the consensus an annotator is scored on boxes they helped make, which flatters them a little on
    images with few annotators; gold boxes, where there are any, have no such bias.
    """
    boxes = _xywh(xywh, "xywh")
    codes = _codes(labels, len(boxes), "labels")
    who = _codes(annotators, len(boxes), "annotators")
    if len(who) and (who.min() < 0 or who.max() >= n_annotators):
        raise ValueError(f"annotators: codes must be in 0..{n_annotators - 1}")
    ref = _xywh(ref_xywh, "ref_xywh")
    ref_codes = _codes(ref_labels, len(ref), "ref_labels")
    tp = np.zeros(n_annotators, dtype=np.int64)
    iou_sum = np.zeros(n_annotators, dtype=np.float64)
    for a in range(n_annotators):
        mine = who == a
        _, _, overlap = match_one_to_one(boxes[mine], codes[mine], ref, ref_codes, iou_threshold)
        tp[a] = len(overlap)
        iou_sum[a] = overlap.sum()
    return BoxScores(
        true_positives=tp,
        n_boxes=np.bincount(who, minlength=n_annotators).astype(np.int64),
        n_reference=np.full(n_annotators, len(ref), dtype=np.int64),
        iou_sum=iou_sum,
    )
