"""What a box project's people taught the COCO detector: which project label they give each COCO class's boxes,
and below which score they delete a class's boxes. Pure: lists of box dicts and NumPy in, a small record out.

The detector's proposals for an item are matched one to one with the boxes people settled on (IoU ≥ 0.5,
highest first). A matched proposal was *kept* (perhaps moved or renamed); an unmatched one was *deleted*.

- **Relabelling.** Per COCO class, the labels people gave its kept proposals: when at least ``min_evidence`` of
  them carry a label and one label holds ≥ ``label_share`` of them, that label replaces the synonym mapping
  (people who call every ``person`` an "astronaut" stop having to name each one). A class with that much
  evidence but no such label is *split* (some persons are "astronaut", others "cameraman"): only the look of
  each box can name it, which is what the crop head in ``kolam.services.box_training`` is for.
- **Re-scoring.** Per COCO class, proposals sorted by score and cut at the score s that removes the most more
  deleted than kept proposals, among cuts with at least ``min_evidence`` deleted proposals below s and a kept
  share below ``keep_share`` there. Proposals under s are no longer offered: a false box costs a delete, and people
  showed that under s most of them were false.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kolam.quality.boxes import match_one_to_one

BoxDicts = Sequence[Mapping[str, Any]]
"""Boxes as dicts with ``x``, ``y``, ``w``, ``h`` in original pixels (and ``coco``/``score`` or ``label``)."""


@dataclass(frozen=True)
class BoxCorrections:
    """Learnt corrections to the detector's proposals, and the evidence behind each.

    ``relabel``: COCO class → project label. ``min_score``: COCO class → lowest score still offered.
    ``relabel_evidence``: COCO class → (kept proposals with the adopted label, kept proposals with any label).
    ``score_evidence``: COCO class → (deleted proposals below the min score, proposals below it).
    ``kept``: COCO class → (proposals people kept, proposals made), for every class proposed.
    ``split``: COCO classes whose kept proposals people named with several labels, none with a clear majority.
    """

    relabel: dict[str, str] = field(default_factory=dict)
    min_score: dict[str, float] = field(default_factory=dict)
    relabel_evidence: dict[str, tuple[int, int]] = field(default_factory=dict)
    score_evidence: dict[str, tuple[int, int]] = field(default_factory=dict)
    kept: dict[str, tuple[int, int]] = field(default_factory=dict)
    items: int = 0
    split: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing learnt: the proposals are offered as the packaged detector makes them."""
        return not self.relabel and not self.min_score

    def same_rules(self, other: BoxCorrections) -> bool:
        """Whether both change the proposals in the same way (the evidence behind them may differ)."""
        return self.relabel == other.relabel and self.min_score == other.min_score

    def to_json(self) -> dict[str, Any]:
        return {
            "relabel": dict(self.relabel),
            "min_score": dict(self.min_score),
            "relabel_evidence": {k: list(v) for k, v in self.relabel_evidence.items()},
            "score_evidence": {k: list(v) for k, v in self.score_evidence.items()},
            "kept": {k: list(v) for k, v in self.kept.items()},
            "items": self.items,
            "split": list(self.split),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BoxCorrections:
        """The corrections stored by ``to_json``; raises ``ValueError`` naming the field that is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError(f"box corrections must be an object, got {type(data).__name__}")
        relabel = _str_map(data.get("relabel", {}), "relabel")
        for coco, label in relabel.items():
            if not isinstance(label, str) or not label:
                raise ValueError(f"relabel.{coco}: expected a label name, got {label!r}")
        min_score = {
            k: _score(v, f"min_score.{k}") for k, v in _str_map(data.get("min_score", {}), "min_score").items()
        }
        evidence = {
            name: {k: _pair(v, f"{name}.{k}") for k, v in _str_map(data.get(name, {}), name).items()}
            for name in ("relabel_evidence", "score_evidence", "kept")
        }
        items = data.get("items", 0)
        if not isinstance(items, int) or isinstance(items, bool) or items < 0:
            raise ValueError(f"items: expected a count, got {items!r}")
        split = data.get("split", [])
        if not isinstance(split, list | tuple) or not all(isinstance(c, str) and c for c in split):
            raise ValueError(f"split: expected a list of COCO class names, got {split!r}")
        return cls(relabel, min_score, items=items, split=tuple(split), **evidence)


def match(proposed: NDArray[Any], settled: NDArray[Any], iou: float = 0.5) -> list[tuple[int, int]]:
    """Greedy one-to-one pairs (proposal index, settled index) with IoU ≥ ``iou``, highest IoU first, ties in
    index order: the matching gold scoring uses (``kolam.quality.boxes``), whatever the labels.

    Greedy rather than optimal assignment: boxes of one item rarely compete for the same partner at IoU ≥ 0.5,
    and when they do the closer pair is the one a person would call the same box (COCO's evaluation does this).
    """
    if not 0 < iou <= 1:
        raise ValueError(f"iou must be in (0, 1], got {iou}")
    a, b = _boxes_array(proposed, "proposed"), _boxes_array(settled, "settled")
    rows, cols, _ = match_one_to_one(a, np.zeros(len(a), np.int64), b, np.zeros(len(b), np.int64), iou)
    return list(zip(rows.tolist(), cols.tolist(), strict=True))


def learn_corrections(
    items: Iterable[tuple[BoxDicts, BoxDicts]], *, iou: float = 0.5, min_evidence: int = 5,
    label_share: float = 0.6, keep_share: float = 0.5,
) -> BoxCorrections:  # fmt: skip
    """Corrections learnt from (detector proposals, people's settled boxes) per item.

    Proposals need ``coco`` and ``score``; settled boxes may carry a ``label`` (``None``: left unnamed).
    """
    if min_evidence < 1:
        raise ValueError(f"min_evidence must be at least 1, got {min_evidence}")
    for name, share in (("label_share", label_share), ("keep_share", keep_share)):
        if not 0 < share <= 1:
            raise ValueError(f"{name} must be in (0, 1], got {share}")
    scores: dict[str, list[float]] = {}
    kept: dict[str, list[bool]] = {}
    votes: dict[str, Counter[str]] = {}
    n_items = 0
    for n_items, (proposed, settled) in enumerate(items, start=1):
        where = f"items[{n_items - 1}]"
        p_boxes, p_coco, p_score = _proposals(proposed, f"{where}.proposed")
        s_boxes, s_labels = _settled(settled, f"{where}.settled")
        pairs = dict(match(p_boxes, s_boxes, iou))
        for i, (coco, score) in enumerate(zip(p_coco, p_score, strict=True)):
            scores.setdefault(coco, []).append(score)
            kept.setdefault(coco, []).append(i in pairs)
            label = s_labels[pairs[i]] if i in pairs else None
            if label is not None:
                votes.setdefault(coco, Counter())[label] += 1
    relabel, relabel_evidence, split = {}, {}, []
    for coco, counter in sorted(votes.items()):
        (label, top), total = counter.most_common(1)[0], sum(counter.values())
        if total >= min_evidence and top >= label_share * total:
            relabel[coco], relabel_evidence[coco] = label, (top, total)
        elif total >= min_evidence:
            split.append(coco)
    min_score, score_evidence = {}, {}
    for coco in sorted(scores):
        cut = _score_cut(np.array(scores[coco]), np.array(kept[coco]), min_evidence, keep_share)
        if cut is not None:
            min_score[coco], score_evidence[coco] = cut[0], (cut[1], cut[2])
    counts = {coco: (int(sum(flags)), len(flags)) for coco, flags in sorted(kept.items())}
    return BoxCorrections(relabel, min_score, relabel_evidence, score_evidence, counts, n_items, tuple(split))


def offered(corrections: BoxCorrections, found: BoxDicts) -> list[Mapping[str, Any]]:
    """The detector's boxes still offered: those under their class's learnt minimum score are dropped (people
    deleted most such boxes). Order (best first) is kept."""
    return [box for box in found if float(box["score"]) >= corrections.min_score.get(box["coco"], -math.inf)]


def name_boxes(
    corrections: BoxCorrections, found: BoxDicts, mapping: Mapping[str, str], labels: Collection[str]
) -> list[dict[str, Any]]:
    """Detector boxes as answer boxes, named by the learnt label (when the project still has it), else by the
    synonym ``mapping``, else left unnamed for the annotator to name; ``coco`` and ``score`` are left out (an
    answer box has neither)."""
    out = []
    for box in found:
        learnt = corrections.relabel.get(box["coco"])
        label = learnt if learnt is not None and learnt in labels else mapping.get(box["coco"])
        out.append({"x": box["x"], "y": box["y"], "w": box["w"], "h": box["h"], "label": label})
    return out


def apply_corrections(
    corrections: BoxCorrections, found: BoxDicts, mapping: Mapping[str, str], labels: Collection[str]
) -> list[dict[str, Any]]:
    """The detector's boxes as the project's proposals: ``offered`` ones, named by ``name_boxes``."""
    return name_boxes(corrections, offered(corrections, found), mapping, labels)


def _score_cut(
    scores: NDArray[np.float64], kept: NDArray[np.bool_], min_evidence: int, keep_share: float
) -> tuple[float, int, int] | None:
    """(min score, deleted below it, proposals below it) of the best cut, or ``None`` when no cut qualifies.

    A cut falls between two distinct scores (never inside a tie), halfway; above the highest score when every
    proposal of the class is under it. Among the cuts with enough deleted proposals and a kept share under
    ``keep_share``, the one removing the most deleted-minus-kept proposals wins; the lowest among equals."""
    order = np.argsort(scores, kind="stable")
    s, k = scores[order], kept[order]
    count = np.arange(1, s.size + 1)
    kept_below = np.cumsum(k)
    between = np.append(s[1:] > s[:-1], True)
    valid = between & (count - kept_below >= min_evidence) & (kept_below < keep_share * count)
    if not valid.any():
        return None
    gain = np.where(valid, count - 2 * kept_below, np.iinfo(np.int64).min)
    i = int(np.argmax(gain))
    cut = (s[i] + s[i + 1]) / 2 if i + 1 < s.size else np.nextafter(s[i], np.inf)
    return float(cut), int(count[i] - kept_below[i]), int(count[i])


def _boxes_array(boxes: NDArray[Any], what: str) -> NDArray[np.float64]:
    array = np.asarray(boxes, dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 4))
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"{what}: expected an (n, 4) array of x, y, w, h, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{what}: boxes must be finite numbers")
    if (array[:, 2:] <= 0).any():
        raise ValueError(f"{what}: box {int(np.nonzero((array[:, 2:] <= 0).any(axis=1))[0][0])} has no area")
    return array


def _xywh(boxes: BoxDicts, where: str) -> NDArray[np.float64]:
    if isinstance(boxes, str | bytes) or not isinstance(boxes, Sequence):
        raise ValueError(f"{where}: expected a list of boxes, got {type(boxes).__name__}")
    rows = []
    for i, box in enumerate(boxes):
        if not isinstance(box, Mapping):
            raise ValueError(f"{where}[{i}]: expected a box object, got {type(box).__name__}")
        row = []
        for key in ("x", "y", "w", "h"):
            value = box.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{where}[{i}].{key}: expected a finite number, got {value!r}")
            if key in ("w", "h") and value <= 0:
                raise ValueError(f"{where}[{i}].{key}: must be above 0, got {value!r}")
            row.append(float(value))
        rows.append(row)
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def _proposals(boxes: BoxDicts, where: str) -> tuple[NDArray[np.float64], list[str], list[float]]:
    array = _xywh(boxes, where)
    coco, score = [], []
    for i, box in enumerate(boxes):
        if not isinstance(box.get("coco"), str) or not box["coco"]:
            raise ValueError(f"{where}[{i}].coco: expected a COCO class name, got {box.get('coco')!r}")
        coco.append(box["coco"])
        score.append(_score(box.get("score"), f"{where}[{i}].score"))
    return array, coco, score


def _settled(boxes: BoxDicts, where: str) -> tuple[NDArray[np.float64], list[str | None]]:
    array = _xywh(boxes, where)
    labels = []
    for i, box in enumerate(boxes):
        label = box.get("label")
        if label is not None and not isinstance(label, str):
            raise ValueError(f"{where}[{i}].label: expected a label name or null, got {label!r}")
        labels.append(label or None)
    return array, labels


def _score(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1.0 + 1e-9:
        raise ValueError(f"{where}: expected a score in [0, 1], got {value!r}")
    return float(value)


def _str_map(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"{where}: expected an object keyed by COCO class, got {value!r}")
    return dict(value)


def _pair(value: Any, where: str) -> tuple[int, int]:
    ok = isinstance(value, list | tuple) and len(value) == 2
    if not ok or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        raise ValueError(f"{where}: expected two counts, got {value!r}")
    return int(value[0]), int(value[1])
