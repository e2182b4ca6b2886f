"""Score one answer against a known answer (a gold item or a reviewed one), per project kind.

Answers are the stored JSON dicts of ``kolam.labels.answers``; this module reads them with ``.get`` and does not
validate them again. Every score is in [0, 1], higher is better, and ``correct`` says whether it passes the
kind's threshold:

* ``image_classes`` / ``text_classes``: the label *sets* must be equal (order and repeats do not matter), so the
  score is 1 or 0; ``detail["jaccard"]`` = |A ∩ G| / |A ∪ G| gives partial credit for multi-label items. An
  answer with no labels (an "unclear" answer) is correct only when the known answer has no labels either or is
  itself marked unclear. ``text_classes`` also reports span precision, recall and F1 with exact offsets and
  label, which do not change ``correct``.
* ``image_boxes``: boxes are matched one-to-one by IoU, same label only (``boxes.match_one_to_one``); the
  score is F1 = 2·TP / (boxes drawn + known boxes), 1.0 when both are empty.
* ``transcription``: segment texts in time order joined by spaces, normalised for the language
  (``text_normalize``); score = max(0, 1 − CER), correct when CER ≤ ``max_cer``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kolam.quality.boxes import match_one_to_one
from kolam.quality.transcripts import cer, wer

__all__ = ["KINDS", "GoldScore", "score_answer"]

KINDS = ("image_classes", "image_boxes", "transcription", "text_classes")
_EPS = 1e-12  # thresholds are compared with this slack so that e.g. F1 = 4/5 passes at 0.8


@dataclass(frozen=True)
class GoldScore:
    """How one answer compares with the known answer; ``detail`` holds the figures behind ``score``."""

    score: float
    correct: bool
    detail: dict[str, float] = field(default_factory=dict)


def _ratio(num: float, den: float, *, empty: float) -> float:
    return num / den if den > 0 else empty


def _f1(matched: float, n_answer: float, n_gold: float) -> dict[str, float]:
    """Precision, recall and F1 of ``matched`` hits; both sides empty is a perfect match, one side empty 0."""
    both_empty = 1.0 if n_answer == 0 and n_gold == 0 else 0.0
    return {
        "precision": _ratio(matched, n_answer, empty=both_empty),
        "recall": _ratio(matched, n_gold, empty=both_empty),
        "f1": _ratio(2.0 * matched, n_answer + n_gold, empty=1.0),
    }


def _score_classes(answer: dict[str, Any], gold: dict[str, Any]) -> GoldScore:
    mine, known = set(answer.get("labels") or ()), set(gold.get("labels") or ())
    # No labels ("can't tell") is right only where the known answer could not tell either.
    correct = mine == known if mine else not known or bool(gold.get("unclear"))
    union = mine | known
    jaccard = _ratio(len(mine & known), len(union), empty=1.0)
    return GoldScore(float(correct), correct, {"exact": float(correct), "jaccard": jaccard})


def _spans(value: dict[str, Any]) -> Counter[tuple[int, int, str]]:
    return Counter((int(s["start"]), int(s["end"]), str(s["label"])) for s in value.get("spans") or ())


def _score_text_classes(answer: dict[str, Any], gold: dict[str, Any]) -> GoldScore:
    result = _score_classes(answer, gold)
    mine, known = _spans(answer), _spans(gold)
    matched = sum((mine & known).values())
    spans = _f1(matched, sum(mine.values()), sum(known.values()))
    detail = result.detail | {f"span_{name}": value for name, value in spans.items()}
    return GoldScore(result.score, result.correct, detail)


def _boxes(value: dict[str, Any], codes: dict[str | None, int]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    boxes = value.get("boxes") or ()
    xywh = np.array([[b["x"], b["y"], b["w"], b["h"]] for b in boxes], dtype=np.float64).reshape(-1, 4)
    labels = np.array([codes.setdefault(b.get("label"), len(codes)) for b in boxes], dtype=np.int64)
    return xywh, labels


def _score_boxes(answer: dict[str, Any], gold: dict[str, Any], iou_threshold: float, box_f1_pass: float) -> GoldScore:
    codes: dict[str | None, int] = {}  # one code per label name, shared by both sides; None is a label too
    xywh, labels = _boxes(answer, codes)
    ref_xywh, ref_labels = _boxes(gold, codes)
    _, _, overlap = match_one_to_one(xywh, labels, ref_xywh, ref_labels, iou_threshold)
    matched, n_answer, n_gold = len(overlap), len(xywh), len(ref_xywh)
    detail = _f1(matched, n_answer, n_gold)
    both_empty = 1.0 if n_answer == 0 and n_gold == 0 else 0.0
    detail |= {
        "mean_iou": float(overlap.mean()) if matched else both_empty,
        "matched": float(matched),
        "n_boxes": float(n_answer),
        "n_gold": float(n_gold),
    }
    f1 = detail["f1"]
    return GoldScore(f1, f1 >= box_f1_pass - _EPS, detail)


def _transcript(value: dict[str, Any]) -> str:
    segments = sorted(value.get("segments") or (), key=lambda s: (float(s["start"]), float(s["end"])))
    return " ".join(str(s["text"]) for s in segments)


def _gold_language(gold: dict[str, Any]) -> str | None:
    """The known answer's language when its segments name exactly one; otherwise the generic profile."""
    languages = {s.get("language") for s in gold.get("segments") or ()} - {None}
    return languages.pop() if len(languages) == 1 else None


def _score_transcription(
    answer: dict[str, Any], gold: dict[str, Any], language: str | None, max_cer: float
) -> GoldScore:
    lang = language if language is not None else _gold_language(gold)
    reference, hypothesis = _transcript(gold), _transcript(answer)
    char_rate = cer(reference, hypothesis, lang)
    word_rate = wer(reference, hypothesis, lang)
    return GoldScore(max(0.0, 1.0 - char_rate), char_rate <= max_cer + _EPS, {"cer": char_rate, "wer": word_rate})


def _check_parameters(iou_threshold: float, box_f1_pass: float, max_cer: float) -> None:
    if not 0.0 < iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in (0, 1]; got {iou_threshold}")
    if not 0.0 <= box_f1_pass <= 1.0:
        raise ValueError(f"box_f1_pass must be in [0, 1]; got {box_f1_pass}")
    if not max_cer >= 0.0:
        raise ValueError(f"max_cer must be ≥ 0; got {max_cer}")


def score_answer(
    kind: str,
    answer: dict[str, Any],
    gold: dict[str, Any],
    *,
    language: str | None = None,
    iou_threshold: float = 0.5,
    box_f1_pass: float = 0.8,
    max_cer: float = 0.1,
) -> GoldScore:
    """Score ``answer`` against the known answer ``gold`` for a project of ``kind`` (see the module docstring).

    ``language`` picks the transcript normalisation; by default the gold segments' language when they agree.
    """
    _check_parameters(iou_threshold, box_f1_pass, max_cer)
    if kind == "image_classes":
        return _score_classes(answer, gold)
    if kind == "text_classes":
        return _score_text_classes(answer, gold)
    if kind == "image_boxes":
        return _score_boxes(answer, gold, iou_threshold, box_f1_pass)
    if kind == "transcription":
        return _score_transcription(answer, gold, language, max_cer)
    raise ValueError(f"unknown project kind {kind!r}; kinds are {', '.join(KINDS)}")
