"""Learning a box project's corrections to the COCO detector: matching, relabelling, re-scoring, storage."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from kolam.learning.box_corrections import BoxCorrections, apply_corrections, learn_corrections, match


def box(x: float, y: float, w: float = 10, h: float = 10, **extra: Any) -> dict[str, Any]:
    return {"x": x, "y": y, "w": w, "h": h, **extra}


def proposal(x: float, coco: str, score: float) -> dict[str, Any]:
    return box(x, 0, coco=coco, score=score)


MATCHES = [
    ("identical", [[0, 0, 10, 10]], [[0, 0, 10, 10]], 0.5, [(0, 0)]),
    ("nudged-box-still-matches", [[0, 0, 10, 10]], [[1, 1, 10, 10]], 0.5, [(0, 0)]),
    ("too-far-apart", [[0, 0, 10, 10]], [[6, 0, 10, 10]], 0.5, []),
    ("nothing-proposed", np.zeros((0, 4)), [[0, 0, 10, 10]], 0.5, []),
    ("nothing-settled", [[0, 0, 10, 10]], [], 0.5, []),
    # both proposals overlap people's first box; the closer one (1) gets it and proposal 0 takes the other
    ("closest-pair-first", [[0, 0, 10, 10], [3, 0, 10, 10]], [[2, 0, 10, 10], [-4, 0, 10, 10]], 0.3, [(1, 0), (0, 1)]),
    ("one-to-one", [[0, 0, 10, 10], [0, 0, 10, 10]], [[0, 0, 10, 10]], 0.5, [(0, 0)]),
    ("threshold-inclusive", [[0, 0, 10, 10]], [[0, 0, 10, 20]], 0.5, [(0, 0)]),
]


@pytest.mark.parametrize(("proposed", "settled", "iou", "pairs"), [m[1:] for m in MATCHES], ids=[m[0] for m in MATCHES])
def test_match_pairs_boxes_greedily_by_iou(
    proposed: Any, settled: Any, iou: float, pairs: list[tuple[int, int]]
) -> None:
    assert match(np.asarray(proposed, dtype=float), np.asarray(settled, dtype=float), iou) == pairs


def _kept_as(label: str | None, n: int, coco: str = "person", score: float = 0.8) -> list[tuple[Any, Any]]:
    """``n`` items where the detector proposed one ``coco`` box and people kept it as ``label``."""
    return [([proposal(0, coco, score)], [box(1, 0, label=label)]) for _ in range(n)]


RELABELS = [
    ("five-agree", _kept_as("astronaut", 5), {"person": "astronaut"}),
    ("four-are-too-few", _kept_as("astronaut", 4), {}),
    ("three-of-five-is-enough", _kept_as("astronaut", 3) + _kept_as("crew", 2), {"person": "astronaut"}),
    ("three-of-six-is-not", _kept_as("astronaut", 3) + _kept_as("crew", 3), {}),
    ("unnamed-boxes-are-no-evidence", _kept_as("astronaut", 4) + _kept_as(None, 6), {}),
    ("per-class", _kept_as("astronaut", 5) + _kept_as("kitty", 5, coco="cat"), {"person": "astronaut", "cat": "kitty"}),
]


@pytest.mark.parametrize(("items", "expected"), [r[1:] for r in RELABELS], ids=[r[0] for r in RELABELS])
def test_a_label_is_adopted_with_five_kept_boxes_and_a_sixty_percent_share(
    items: Any, expected: dict[str, str]
) -> None:
    learnt = learn_corrections(items)
    assert learnt.relabel == expected
    assert learnt.min_score == {}


def test_a_class_named_several_ways_with_enough_evidence_is_split() -> None:
    assert learn_corrections(_kept_as("astronaut", 3) + _kept_as("crew", 3)).split == ("person",)
    assert learn_corrections(_kept_as("astronaut", 2) + _kept_as("crew", 2)).split == ()  # too few to tell
    assert learn_corrections(_kept_as("astronaut", 5) + _kept_as("crew", 1)).split == ()  # a label won


def test_relabel_evidence_counts_the_votes() -> None:
    learnt = learn_corrections(_kept_as("astronaut", 4) + _kept_as("crew", 2))
    assert learnt.relabel_evidence == {"person": (4, 6)}
    assert learnt.kept == {"person": (6, 6)}
    assert learnt.items == 6


def _scored(kept: list[float], deleted: list[float], coco: str = "car") -> list[tuple[Any, Any]]:
    """One item per proposal: people kept it (a box where it was) or deleted it (no box)."""
    return [([proposal(0, coco, s)], [box(0, 0, label="car")]) for s in kept] + [
        ([proposal(0, coco, s)], []) for s in deleted
    ]


RESCORES = [
    # deleted low, kept high: cut halfway between the highest deleted and lowest kept
    ("clean-split", [0.7, 0.8, 0.9], [0.36, 0.37, 0.38, 0.39, 0.40], 0.55, (5, 5)),
    ("four-deleted-are-too-few", [0.7, 0.8], [0.36, 0.37, 0.38, 0.39], None, None),  # (a cut at 0.75 is 4 − 1)
    # one kept among the low ones: still mostly deleted there, so the cut drops it with them
    ("mostly-deleted", [0.38, 0.7, 0.8], [0.36, 0.37, 0.39, 0.40, 0.41], 0.555, (5, 6)),
    ("half-kept-is-not-mostly-deleted", [0.36, 0.37, 0.38, 0.39, 0.40], [0.41, 0.42, 0.43, 0.44, 0.45], None, None),
    ("kept-low-deleted-high", [0.36, 0.37, 0.38, 0.39, 0.40], [0.7, 0.8, 0.9], None, None),
]


@pytest.mark.parametrize(
    ("kept", "deleted", "cut", "evidence"), [r[1:] for r in RESCORES], ids=[r[0] for r in RESCORES]
)
def test_a_class_min_score_is_learnt_where_people_deleted_most_proposals(
    kept: list[float], deleted: list[float], cut: float | None, evidence: tuple[int, int] | None
) -> None:
    learnt = learn_corrections(_scored(kept, deleted))
    assert learnt.min_score.get("car") == (None if cut is None else pytest.approx(cut))
    assert learnt.score_evidence.get("car") == evidence


def test_a_class_people_always_deleted_is_cut_just_above_its_best_score() -> None:
    learnt = learn_corrections(_scored([], [0.36, 0.37, 0.38, 0.39, 0.40]))
    assert 0.40 < learnt.min_score["car"] < 0.4000001
    assert learnt.kept == {"car": (0, 5)}


def test_ties_are_never_split() -> None:
    # three deleted and one kept share 0.4: cutting inside the tie would be arbitrary
    learnt = learn_corrections(_scored([0.4, 0.9, 0.9], [0.3, 0.3, 0.3, 0.4, 0.4, 0.4], coco="car"))
    assert learnt.min_score["car"] == pytest.approx(0.65)
    assert learnt.score_evidence["car"] == (6, 7)


def test_a_duplicate_proposal_counts_as_deleted() -> None:
    items = [([proposal(0, "dog", 0.9), proposal(0, "dog", 0.4)], [box(0, 0, label="dog")]) for _ in range(5)]
    learnt = learn_corrections(items)
    assert learnt.kept == {"dog": (5, 10)}
    assert learnt.min_score["dog"] == pytest.approx(0.65)


def test_apply_drops_low_scores_relabels_and_falls_back_to_the_synonyms() -> None:
    learnt = BoxCorrections(relabel={"person": "astronaut", "dog": "gone"}, min_score={"car": 0.5})
    found = [
        proposal(0, "person", 0.9),
        proposal(1, "car", 0.6),
        proposal(2, "car", 0.45),
        proposal(3, "dog", 0.4),
        proposal(4, "kite", 0.4),
    ]
    labels = ["astronaut", "vehicle", "canine"]
    out = apply_corrections(learnt, found, {"car": "vehicle", "dog": "canine"}, labels)
    assert [(b["x"], b["label"]) for b in out] == [(0, "astronaut"), (1, "vehicle"), (3, "canine"), (4, None)]
    assert set(out[0]) == {"x", "y", "w", "h", "label"}  # a valid box answer: no coco, no score


def test_json_round_trip() -> None:
    items = _kept_as("astronaut", 5) + _kept_as("kitty", 3, "cat") + _kept_as("lion", 3, "cat")
    learnt = learn_corrections(items + _scored([0.9], [0.36, 0.37, 0.38, 0.39, 0.40]))
    assert learnt.relabel and learnt.min_score and learnt.split == ("cat",)
    stored = json.loads(json.dumps(learnt.to_json()))
    assert BoxCorrections.from_json(stored) == learnt
    assert not learnt.empty and BoxCorrections().empty
    assert BoxCorrections.from_json({}) == BoxCorrections()


BAD_ITEMS = [
    ("missing-coco", [([box(0, 0, score=0.5)], [])], r"items\[0\]\.proposed\[0\]\.coco"),
    ("score-above-one", [([proposal(0, "car", 1.5)], [])], r"items\[0\]\.proposed\[0\]\.score"),
    ("no-width", [([], [box(0, 0, w=0)])], r"items\[0\]\.settled\[0\]\.w: must be above 0"),
    ("nan", [([box(float("nan"), 0, coco="car", score=0.5)], [])], r"items\[0\]\.proposed\[0\]\.x"),
    ("label-not-text", [([], [box(0, 0, label=3)])], r"items\[0\]\.settled\[0\]\.label"),
    ("not-a-list", [("boxes", [])], r"items\[0\]\.proposed: expected a list"),
]


@pytest.mark.parametrize(("items", "message"), [b[1:] for b in BAD_ITEMS], ids=[b[0] for b in BAD_ITEMS])
def test_bad_items_are_refused_naming_the_field(items: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        learn_corrections(items)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"min_evidence": 0}, "min_evidence"), ({"label_share": 0}, "label_share"), ({"keep_share": 1.5}, "keep_share")],
    ids=["min-evidence", "label-share", "keep-share"],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        learn_corrections([], **kwargs)


@pytest.mark.parametrize(
    ("proposed", "settled", "iou", "message"),
    [
        (np.zeros((2, 3)), np.zeros((0, 4)), 0.5, r"proposed: expected an \(n, 4\) array"),
        ([[0, 0, 10, 10]], [[0, 0, 10, -1]], 0.5, "settled: box 0 has no area"),
        ([[0, 0, 10, 10]], [[0, 0, 10, 10]], 0.0, r"iou must be in \(0, 1\]"),
    ],
    ids=["wrong-shape", "no-area", "iou-zero"],
)
def test_match_refuses_bad_boxes(proposed: Any, settled: Any, iou: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        match(np.asarray(proposed, dtype=float), np.asarray(settled, dtype=float), iou)


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ({"relabel": {"person": 3}}, r"relabel\.person"),
        ({"min_score": {"car": "high"}}, r"min_score\.car"),
        ({"kept": {"car": [1]}}, r"kept\.car: expected two counts"),
        ({"items": -1}, "items"),
        ({"split": "person"}, "split: expected a list"),
        ([], "must be an object"),
    ],
    ids=[
        "label-not-text",
        "score-not-number",
        "evidence-not-a-pair",
        "negative-items",
        "split-not-a-list",
        "not-an-object",
    ],
)
def test_stored_corrections_that_are_wrong_are_refused(stored: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BoxCorrections.from_json(stored)
