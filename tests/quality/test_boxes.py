"""Consensus boxes: tiny hand-made cases in one table, fusion arithmetic by hand, and a seeded synthetic crowd."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pytest

from kolam.quality.boxes import BoxConsensus, BoxScores, ConsensusBoxes, iou_matrix, match_one_to_one, score_annotators

# (x, y, w, h, label, annotator)
Row = tuple[float, float, float, float, int, int]
# (x, y, w, h, label, confidence, votes, flagged)
Fused = tuple[float, float, float, float, int, float, int, bool]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20191011)


def _split(rows: list[Row]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xywh = np.array([r[:4] for r in rows], dtype=float).reshape(-1, 4)
    labels = np.array([r[4] for r in rows], dtype=np.int64)
    annotators = np.array([r[5] for r in rows], dtype=np.int64)
    return xywh, labels, annotators


@dataclass
class Case:
    rows: list[Row]
    weights: list[float]
    expected: list[Fused]
    min_votes: int = 2
    few_votes: Literal["drop", "flag"] = "drop"
    cluster_of: list[int] = field(default_factory=list)


CASES = {
    "two_annotators_agree": Case(
        rows=[(10, 10, 20, 20, 0, 0), (12, 10, 20, 20, 0, 1)],
        weights=[1, 1],
        expected=[(11, 10, 20, 20, 0, 1.0, 2, False)],
        cluster_of=[0, 0],
    ),
    "one_offset_box_is_left_out": Case(
        rows=[(10, 10, 20, 20, 0, 0), (10, 12, 20, 20, 0, 1), (40, 40, 20, 20, 0, 2)],
        weights=[1, 1, 1],
        expected=[(10, 11, 20, 20, 0, 2 / 3, 2, False)],
        cluster_of=[0, 0, -1],
    ),
    "labels_differ": Case(
        rows=[(10, 10, 20, 20, 0, 0), (10, 10, 20, 20, 1, 1)],
        weights=[1, 1],
        expected=[],
        cluster_of=[-1, -1],
    ),
    "lone_box_dropped_by_min_votes": Case(
        rows=[(0, 0, 10, 10, 3, 0), (0, 0, 10, 10, 3, 1), (50, 50, 10, 10, 3, 0)],
        weights=[1, 1],
        expected=[(0, 0, 10, 10, 3, 1.0, 2, False)],
        cluster_of=[0, 0, -1],
    ),
    "lone_box_flagged_when_asked": Case(
        rows=[(0, 0, 10, 10, 3, 0), (0, 0, 10, 10, 3, 1), (50, 50, 10, 10, 3, 0)],
        weights=[1, 1],
        few_votes="flag",
        expected=[(0, 0, 10, 10, 3, 1.0, 2, False), (50, 50, 10, 10, 3, 0.5, 1, True)],
        cluster_of=[0, 0, 1],
    ),
    "min_votes_one_keeps_everything": Case(
        rows=[(0, 0, 10, 10, 0, 0), (50, 50, 10, 10, 1, 1)],
        weights=[1, 1],
        min_votes=1,
        expected=[(0, 0, 10, 10, 0, 0.5, 1, False), (50, 50, 10, 10, 1, 0.5, 1, False)],
        cluster_of=[0, 1],
    ),
    "empty_answers": Case(rows=[], weights=[1, 1, 1], expected=[]),
    "annotator_with_no_boxes_lowers_confidence": Case(
        rows=[(0, 0, 10, 10, 0, 0), (0, 0, 10, 10, 0, 1)],
        weights=[1, 1, 2],
        expected=[(0, 0, 10, 10, 0, 0.5, 2, False)],
        cluster_of=[0, 0],
    ),
    "one_box_per_annotator_per_cluster": Case(
        rows=[(0, 0, 10, 10, 0, 0), (1, 0, 10, 10, 0, 0), (0, 0, 10, 10, 0, 1)],
        weights=[1, 1],
        expected=[(0, 0, 10, 10, 0, 1.0, 2, False)],
        cluster_of=[0, -1, 0],
    ),
    "skill_weighted_confidence": Case(
        rows=[(0, 0, 10, 10, 0, 0), (0, 0, 10, 10, 0, 1)],
        weights=[3, 1, 4],
        expected=[(0, 0, 10, 10, 0, 0.5, 2, False)],
        cluster_of=[0, 0],
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_consensus_table(case: Case) -> None:
    xywh, labels, annotators = _split(case.rows)
    model = BoxConsensus(iou_threshold=0.5, min_votes=case.min_votes, few_votes=case.few_votes)
    result = model.fit_predict(xywh, labels, annotators, case.weights)
    expected = np.array(case.expected, dtype=float).reshape(-1, 8)
    np.testing.assert_allclose(result.xywh, expected[:, :4])
    np.testing.assert_array_equal(result.labels, expected[:, 4].astype(int))
    np.testing.assert_allclose(result.confidence, expected[:, 5])
    np.testing.assert_array_equal(result.votes, expected[:, 6].astype(int))
    np.testing.assert_array_equal(result.flagged, expected[:, 7].astype(bool))
    np.testing.assert_array_equal(result.cluster_of, np.array(case.cluster_of, dtype=int))
    assert model.result_ is result


def test_iou_by_hand() -> None:
    a = [(0, 0, 10, 10), (100, 100, 4, 4)]
    b = [(0, 0, 10, 10), (5, 0, 10, 10), (10, 0, 10, 10)]
    # identical: 1; half shifted: 50 / 150; touching edges: 0; far apart: 0.
    np.testing.assert_allclose(iou_matrix(a, b), [[1.0, 1 / 3, 0.0], [0.0, 0.0, 0.0]])
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 3)


def test_iou_matrix_matches_a_plain_loop(rng: np.random.Generator) -> None:
    a = np.column_stack([rng.uniform(0, 50, (7, 2)), rng.uniform(1, 30, (7, 2))])
    b = np.column_stack([rng.uniform(0, 50, (5, 2)), rng.uniform(1, 30, (5, 2))])

    def one(p: np.ndarray, q: np.ndarray) -> float:
        iw = max(0.0, min(p[0] + p[2], q[0] + q[2]) - max(p[0], q[0]))
        ih = max(0.0, min(p[1] + p[3], q[1] + q[3]) - max(p[1], q[1]))
        return float(iw * ih / (p[2] * p[3] + q[2] * q[3] - iw * ih))

    np.testing.assert_allclose(iou_matrix(a, b), [[one(p, q) for q in b] for p in a])


def test_fusion_arithmetic_by_hand() -> None:
    xywh = [(0, 0, 10, 10), (2, 0, 10, 10), (0, 2, 10, 12)]
    labels, annotators = [0, 0, 0], [0, 1, 2]
    result = BoxConsensus(iou_threshold=0.5).fit_predict(xywh, labels, annotators, weights=[2, 1, 1])
    # x = (2·0 + 1·2 + 1·0) / 4, y = (2·0 + 1·0 + 1·2) / 4, h = (2·10 + 1·10 + 1·12) / 4
    np.testing.assert_allclose(result.xywh, [[0.5, 0.5, 10.0, 10.5]])
    np.testing.assert_allclose(result.confidence, [1.0])
    # Box confidences multiply the skills: c = (2·0.5, 1·1, 1·1) → x = 2 / 3, confidence = 3 / 4.
    scored = BoxConsensus(iou_threshold=0.5).fit_predict(xywh, labels, annotators, [2, 1, 1], scores=[0.5, 1, 1])
    np.testing.assert_allclose(scored.xywh, [[2 / 3, 2 / 3, 10.0, 32 / 3]])
    np.testing.assert_allclose(scored.confidence, [0.75])


def test_zero_skill_cluster_falls_back_to_the_plain_mean() -> None:
    result = BoxConsensus(iou_threshold=0.5).fit_predict([(0, 0, 10, 10), (2, 0, 10, 10)], [0, 0], [0, 1], [0, 0])
    np.testing.assert_allclose(result.xywh, [[1.0, 0.0, 10.0, 10.0]])
    np.testing.assert_allclose(result.confidence, [0.0])


@pytest.mark.parametrize("skill", [1.0, 2.0, 4.0, 9.0])
def test_weights_pull_the_fused_box_toward_the_skilled_annotator(skill: float) -> None:
    skilled, careless = np.array([0.0, 0.0, 10.0, 10.0]), np.array([2.0, 1.0, 10.0, 12.0])
    result = BoxConsensus(iou_threshold=0.3).fit_predict([skilled, careless], [0, 0], [0, 1], [skill, 1.0])
    np.testing.assert_allclose(result.xywh[0], (skill * skilled + careless) / (skill + 1))
    if skill > 1:
        assert np.abs(result.xywh[0] - skilled).sum() < np.abs(result.xywh[0] - careless).sum()


def _synthetic_image(
    rng: np.random.Generator, noise: list[float], miss: list[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gold boxes on a grid (so they never overlap) and each annotator's jittered, sometimes missing, copies."""
    cells = rng.choice(16, size=rng.integers(1, 6), replace=False)
    size = rng.uniform(40, 80, (len(cells), 2))
    gold = np.column_stack([(cells % 4) * 200 + 10.0, (cells // 4) * 200 + 10.0, size])
    gold_labels = rng.integers(0, 3, len(cells))
    xywh, labels, who = [], [], []
    for a, (sigma, p_miss) in enumerate(zip(noise, miss, strict=True)):
        kept = rng.random(len(gold)) >= p_miss
        drawn = gold[kept] + rng.normal(0, sigma, (int(kept.sum()), 4))
        drawn[:, 2:] = np.maximum(drawn[:, 2:], 5.0)
        xywh.append(drawn)
        labels.append(gold_labels[kept])
        who.append(np.full(int(kept.sum()), a))
    return gold, gold_labels, np.concatenate(xywh), np.concatenate(labels), np.concatenate(who)


def test_per_annotator_scores_follow_known_noise(rng: np.random.Generator) -> None:
    noise, miss = [1.0, 3.0, 8.0, 1.0], [0.0, 0.0, 0.0, 0.5]  # careful, fair, sloppy, lazy
    n = len(noise)
    empty = np.zeros(n, dtype=np.int64)
    vs_gold = vs_consensus = BoxScores(empty, empty, empty, np.zeros(n))
    fused_vs_gold = BoxScores(empty[:1], empty[:1], empty[:1], np.zeros(1))
    for _ in range(60):
        gold, gold_labels, xywh, labels, who = _synthetic_image(rng, noise, miss)
        consensus = BoxConsensus(iou_threshold=0.5).fit_predict(xywh, labels, who, weights=[4, 2, 1, 2])
        vs_gold += score_annotators(xywh, labels, who, n, gold, gold_labels)
        vs_consensus += score_annotators(xywh, labels, who, n, consensus.xywh, consensus.labels)
        fused_vs_gold += score_annotators(
            consensus.xywh, consensus.labels, np.zeros(len(consensus.labels), int), 1, gold, gold_labels
        )

    assert vs_gold.mean_iou[0] > vs_gold.mean_iou[1] > vs_gold.mean_iou[2]
    assert vs_consensus.mean_iou[0] > vs_consensus.mean_iou[1] > vs_consensus.mean_iou[2]
    assert vs_gold.precision[0] == 1.0 and vs_gold.recall[0] == 1.0
    assert vs_gold.precision[3] == 1.0 and 0.35 < vs_gold.recall[3] < 0.65
    # The fused boxes sit closer to gold than the sloppy annotator's, and miss almost nothing.
    assert fused_vs_gold.mean_iou[0] > vs_gold.mean_iou[2]
    assert fused_vs_gold.recall[0] > 0.95 and fused_vs_gold.precision[0] > 0.95


def _canonical(result: ConsensusBoxes) -> np.ndarray:
    table = np.column_stack([result.xywh, result.labels, result.confidence, result.votes, result.flagged])
    return table[np.lexsort(table.T[::-1])]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_invariant_to_annotator_numbering_and_box_order(seed: int, rng: np.random.Generator) -> None:
    _, _, xywh, labels, who = _synthetic_image(rng, [2.0, 4.0, 6.0], [0.1, 0.2, 0.3])
    weights = np.array([3.0, 1.5, 1.0])
    model = BoxConsensus(iou_threshold=0.5, few_votes="flag")
    before = model.fit_predict(xywh, labels, who, weights)
    relabel = np.random.default_rng(seed).permutation(3)  # old annotator a becomes relabel[a]
    rows = np.random.default_rng(seed + 10).permutation(len(who))
    new_weights = np.empty(3)
    new_weights[relabel] = weights
    after = model.fit_predict(xywh[rows], labels[rows], relabel[who][rows], new_weights)
    np.testing.assert_allclose(_canonical(after), _canonical(before))


def test_match_one_to_one_takes_the_best_pairs_first() -> None:
    boxes = [(0, 0, 10, 10), (1, 0, 10, 10)]
    ref = [(1, 0, 10, 10), (0, 0, 10, 10), (0, 0, 10, 10)]
    i, j, overlap = match_one_to_one(boxes, [0, 0], ref, [0, 0, 1])
    np.testing.assert_array_equal(i, [0, 1])
    np.testing.assert_array_equal(j, [1, 0])
    np.testing.assert_allclose(overlap, [1.0, 1.0])


def test_scores_are_nan_where_undefined() -> None:
    scores = score_annotators([(0, 0, 10, 10)], [0], [0], 2, np.zeros((0, 4)), np.zeros(0, dtype=int))
    np.testing.assert_array_equal(scores.n_boxes, [1, 0])
    assert scores.precision[0] == 0.0 and np.isnan(scores.precision[1])
    assert np.isnan(scores.recall).all() and np.isnan(scores.mean_iou).all()


BAD_INPUTS = {
    "wrong_shape": (dict(xywh=[[0, 0, 1]]), "expected an \\(n, 4\\) array"),
    "zero_width": (dict(xywh=[[0, 0, 0, 1]]), "w > 0 and h > 0"),
    "nan": (dict(xywh=[[0, np.nan, 1, 1]]), "finite"),
    "float_labels": (dict(labels=[0.5]), "integer codes"),
    "labels_count": (dict(labels=[0, 1]), "one per box"),
    "unknown_annotator": (dict(annotators=[2]), "0..1"),
    "negative_weight": (dict(weights=[1, -1]), "≥ 0"),
    "score_above_one": (dict(scores=[1.5]), "\\[0, 1\\]"),
}


@pytest.mark.parametrize("change,message", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_input_is_checked(change: dict[str, object], message: str) -> None:
    args: dict[str, object] = dict(xywh=[[0, 0, 1, 1]], labels=[0], annotators=[0], weights=[1, 1], scores=None)
    args.update(change)
    with pytest.raises(ValueError, match=message):
        BoxConsensus().fit(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs", [dict(iou_threshold=0.0), dict(iou_threshold=1.5), dict(min_votes=0), dict(few_votes="keep")]
)
def test_hyper_parameters_are_checked(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        BoxConsensus(**kwargs)  # type: ignore[arg-type]
