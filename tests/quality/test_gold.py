"""Scoring one answer against a known answer: one table of tiny hand-made cases per kind, then edge cases."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from kolam.quality.gold import KINDS, GoldScore, score_answer


@dataclass
class Case:
    kind: str
    answer: dict[str, Any]
    gold: dict[str, Any]
    score: float
    correct: bool
    detail: dict[str, float]
    options: dict[str, Any] | None = None


def _classes(*labels: str, unclear: bool = False) -> dict[str, Any]:
    return {"labels": list(labels), "unclear": unclear, "comment": ""}


def _spans(*spans: tuple[int, int, str], labels: tuple[str, ...] = ("news",)) -> dict[str, Any]:
    return _classes(*labels) | {"spans": [{"start": s, "end": e, "label": lab} for s, e, lab in spans]}


def _boxes(*boxes: tuple[float, float, float, float, str | None]) -> dict[str, Any]:
    return {"boxes": [{"x": x, "y": y, "w": w, "h": h, "label": lab} for x, y, w, h, lab in boxes], "unclear": False}


def _segments(*segments: tuple[float, float, str], language: str | None = None) -> dict[str, Any]:
    return {"segments": [{"start": s, "end": e, "text": t, "language": language} for s, e, t in segments]}


# Five well-separated 10x10 boxes; the first four carry "car", the fifth "bus".
FIVE = [(20.0 * i, 0.0, 10.0, 10.0, "car" if i < 4 else "bus") for i in range(5)]

CASES = {
    # image_classes: exact set match; Jaccard for partial credit
    "classes_exact": Case("image_classes", _classes("cat"), _classes("cat"), 1.0, True, {"exact": 1, "jaccard": 1}),
    "classes_wrong": Case("image_classes", _classes("dog"), _classes("cat"), 0.0, False, {"exact": 0, "jaccard": 0}),
    "classes_order_free": Case(
        "image_classes", _classes("b", "a"), _classes("a", "b"), 1.0, True, {"exact": 1, "jaccard": 1}
    ),
    # {a, b} vs {b, c}: |∩| = 1, |∪| = 3
    "multi_label_partial": Case(
        "image_classes", _classes("a", "b"), _classes("b", "c"), 0.0, False, {"exact": 0, "jaccard": 1 / 3}
    ),
    "unclear_vs_labelled": Case(
        "image_classes", _classes(unclear=True), _classes("cat"), 0.0, False, {"exact": 0, "jaccard": 0}
    ),
    "unclear_vs_unclear": Case(
        "image_classes", _classes(unclear=True), _classes(unclear=True), 1.0, True, {"exact": 1, "jaccard": 1}
    ),
    "unclear_vs_unclear_gold_with_label": Case(
        "image_classes", _classes(unclear=True), _classes("cat", unclear=True), 1.0, True, {"exact": 1, "jaccard": 0}
    ),
    "labelled_vs_empty_gold": Case(
        "image_classes", _classes("cat"), _classes(), 0.0, False, {"exact": 0, "jaccard": 0}
    ),
    "unclear_but_labelled_matches": Case(
        "image_classes", _classes("cat", unclear=True), _classes("cat"), 1.0, True, {"exact": 1, "jaccard": 1}
    ),
    # text_classes: spans need exact offsets and label; they do not decide correctness
    "spans_all_match": Case(
        "text_classes",
        _spans((0, 4, "org"), (10, 15, "loc")),
        _spans((10, 15, "loc"), (0, 4, "org")),
        1.0,
        True,
        {"span_precision": 1, "span_recall": 1, "span_f1": 1},
    ),
    "spans_half_match": Case(
        "text_classes",
        _spans((0, 4, "org"), (10, 15, "loc")),
        _spans((0, 4, "org"), (10, 16, "loc")),
        1.0,
        True,
        {"span_precision": 0.5, "span_recall": 0.5, "span_f1": 0.5},
    ),
    # one of one drawn span is right (P = 1), one of three known spans found (R = 1/3): F1 = 2·1/(1+3)
    "spans_missing_and_wrong_label": Case(
        "text_classes",
        _spans((0, 4, "org")),
        _spans((0, 4, "org"), (5, 9, "per"), (10, 15, "loc"), labels=("sport",)),
        0.0,
        False,
        {"span_precision": 1, "span_recall": 1 / 3, "span_f1": 0.5},
    ),
    "no_spans_either_side": Case(
        "text_classes", _spans(), _spans(), 1.0, True, {"span_precision": 1, "span_recall": 1, "span_f1": 1}
    ),
    # image_boxes: F1 of one-to-one matching, pass at 0.8
    "boxes_permuted": Case(
        "image_boxes", _boxes(*FIVE[::-1]), _boxes(*FIVE), 1.0, True, {"f1": 1, "mean_iou": 1, "matched": 5}
    ),
    # 4 of 5 drawn, all right: P = 1, R = 4/5, F1 = 8/9
    "boxes_one_missed": Case(
        "image_boxes", _boxes(*FIVE[:4]), _boxes(*FIVE), 8 / 9, True, {"precision": 1, "recall": 0.8, "f1": 8 / 9}
    ),
    # 4 drawn of 6 known, all right: F1 = 2·4/(4+6) = 0.8, exactly the pass mark
    "boxes_f1_at_pass_mark": Case(
        "image_boxes",
        _boxes(*FIVE[:4]),
        _boxes(*FIVE, (0, 50, 10, 10, "car")),
        0.8,
        True,
        {"f1": 0.8},
    ),
    # 3 of 5: F1 = 6/8
    "boxes_two_missed": Case("image_boxes", _boxes(*FIVE[:3]), _boxes(*FIVE), 0.75, False, {"f1": 0.75}),
    "boxes_label_disagrees": Case(
        "image_boxes", _boxes((0, 0, 10, 10, "bus")), _boxes((0, 0, 10, 10, "car")), 0.0, False, {"matched": 0}
    ),
    "boxes_unlabelled_match": Case(
        "image_boxes", _boxes((0, 0, 10, 10, None)), _boxes((0, 0, 10, 10, None)), 1.0, True, {"f1": 1}
    ),
    # shifted by half a side: intersection 50, union 150, IoU 1/3 — below 0.5, above 0.3
    "boxes_iou_below_threshold": Case(
        "image_boxes", _boxes((5, 0, 10, 10, "car")), _boxes((0, 0, 10, 10, "car")), 0.0, False, {"matched": 0}
    ),
    "boxes_iou_threshold_lowered": Case(
        "image_boxes",
        _boxes((5, 0, 10, 10, "car")),
        _boxes((0, 0, 10, 10, "car")),
        1.0,
        True,
        {"matched": 1, "mean_iou": 1 / 3},
        {"iou_threshold": 0.3},
    ),
    "boxes_both_empty": Case(
        "image_boxes", _boxes(), _boxes(), 1.0, True, {"precision": 1, "recall": 1, "f1": 1, "mean_iou": 1}
    ),
    "boxes_none_drawn": Case(
        "image_boxes", _boxes(), _boxes(*FIVE), 0.0, False, {"precision": 0, "recall": 0, "f1": 0, "n_gold": 5}
    ),
    "boxes_none_known": Case("image_boxes", _boxes(*FIVE), _boxes(), 0.0, False, {"f1": 0, "n_boxes": 5}),
    # transcription: CER on normalised text, pass at CER <= 0.1
    "transcript_exact_after_normalising": Case(
        "transcription",
        _segments((0, 1, "Hello, World!")),
        _segments((0, 1, "hello world")),
        1.0,
        True,
        {"cer": 0, "wer": 0},
    ),
    # one substitution in ten characters: CER 0.1 (at the pass mark), WER 1/1
    "transcript_cer_at_pass_mark": Case(
        "transcription", _segments((0, 1, "abcdefghix")), _segments((0, 1, "abcdefghij")), 0.9, True, {"cer": 0.1}
    ),
    "transcript_cer_over_pass_mark": Case(
        "transcription", _segments((0, 1, "abcdefghyx")), _segments((0, 1, "abcdefghij")), 0.8, False, {"cer": 0.2}
    ),
    # segments are read in time order, whatever order they are listed in
    "transcript_segments_out_of_order": Case(
        "transcription",
        _segments((2, 3, "brown fox"), (0, 2, "the quick")),
        _segments((0, 2, "the quick"), (2, 3, "brown fox")),
        1.0,
        True,
        {"cer": 0, "wer": 0},
    ),
    # three insertions on a one-character reference: CER 3, score floored at 0
    "transcript_cer_over_one": Case(
        "transcription", _segments((0, 1, "abcd")), _segments((0, 1, "a")), 0.0, False, {"cer": 3.0}
    ),
    "transcript_both_empty": Case("transcription", _segments(), _segments(), 1.0, True, {"cer": 0, "wer": 0}),
    "transcript_nothing_written": Case(
        "transcription", _segments(), _segments((0, 1, "vanakkam")), 0.0, False, {"cer": 1, "wer": 1}
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_score_answer(case: Case) -> None:
    result = score_answer(case.kind, case.answer, case.gold, **(case.options or {}))
    assert isinstance(result, GoldScore)
    assert result.score == pytest.approx(case.score)
    assert result.correct is case.correct
    for name, value in case.detail.items():
        assert result.detail[name] == pytest.approx(value), name
    assert 0.0 <= result.score <= 1.0


TAMIL_NFC = "\u0b95\u0bca\u0bb4\u0bc1\u0bae\u0bcd\u0baa\u0bc1"  # கொழும்பு, vowel sign ொ precomposed (U+0BCA)
TAMIL_NFD = "\u0b95\u0bc6\u0bbe\u0bb4\u0bc1\u0bae\u0bcd\u0baa\u0bc1"  # the same word, ொ typed as ெ + ா
# ज़मीन: U+095B is a composition exclusion, so NFC spells it ज + nukta and a keyboard may type either.
HINDI_PRECOMPOSED = "\u095b\u092e\u0940\u0928"
HINDI_NUKTA = "\u091c\u093c\u092e\u0940\u0928"
# ऩ (U+0929) composes under NFC; NFD splits it into न + nukta.
DEVANAGARI_NFC = "\u0924\u092e\u093f\u0929"
DEVANAGARI_NFD = "\u0924\u092e\u093f\u0928\u093c"

FORMS = {
    "tamil_nfd_answer": (TAMIL_NFD, TAMIL_NFC, "ta"),
    "tamil_nfc_answer": (TAMIL_NFC, TAMIL_NFD, "ta"),
    "tamil_no_language": (TAMIL_NFD, TAMIL_NFC, None),
    "hindi_nukta_answer": (HINDI_NUKTA, HINDI_PRECOMPOSED, "hi"),
    "hindi_precomposed_answer": (HINDI_PRECOMPOSED, HINDI_NUKTA, "hi"),
    "devanagari_nfd_answer": (DEVANAGARI_NFD, DEVANAGARI_NFC, "hi"),
}


@pytest.mark.parametrize(("answer", "gold", "language"), FORMS.values(), ids=FORMS.keys())
def test_normalisation_forms_score_as_equal(answer: str, gold: str, language: str | None) -> None:
    assert answer != gold
    assert unicodedata.normalize("NFC", answer) == unicodedata.normalize("NFC", gold)
    result = score_answer(
        "transcription", _segments((0, 1, f"{answer} {gold}")), _segments((0, 1, f"{gold} {gold}")), language=language
    )
    assert result == GoldScore(1.0, True, {"cer": 0.0, "wer": 0.0})


def test_danda_and_native_digits_do_not_count_as_errors() -> None:
    gold = _segments((0, 1, "मेरे पास 12 किताबें हैं"), language="hi")
    answer = _segments((0, 1, "मेरे पास १२ किताबें हैं।"))
    assert score_answer("transcription", answer, gold).detail == {"cer": 0.0, "wer": 0.0}


def test_gold_segment_language_picks_the_profile() -> None:
    """English drops every zero-width joiner; the generic profile keeps one between Latin letters."""
    answer = _segments((0, 1, "co\u200dop"))
    english = score_answer("transcription", answer, _segments((0, 1, "coop"), language="en"))
    generic = score_answer("transcription", answer, _segments((0, 1, "coop")))
    assert english.detail["cer"] == 0.0
    assert generic.detail["cer"] == pytest.approx(1 / 4)
    forced = score_answer("transcription", answer, _segments((0, 1, "coop")), language="en")
    assert forced.detail["cer"] == 0.0


def test_permuted_random_boxes_score_perfectly(rng: np.random.Generator) -> None:
    corners = rng.uniform(0, 1000, size=(30, 2))
    sides = rng.uniform(5, 80, size=(30, 2))
    labels = rng.choice(["car", "bus", None], size=30)
    gold = _boxes(*[(*c, *s, lab) for c, s, lab in zip(corners, sides, labels, strict=True)])
    answer = {"boxes": [gold["boxes"][i] for i in rng.permutation(30)]}
    result = score_answer("image_boxes", answer, gold)
    assert result.score == pytest.approx(1.0)
    assert result.detail["matched"] == 30
    assert result.detail["mean_iou"] == pytest.approx(1.0)


def test_unknown_kind_names_the_kinds() -> None:
    with pytest.raises(ValueError, match="unknown project kind 'video'") as info:
        score_answer("video", {}, {})
    for kind in KINDS:
        assert kind in str(info.value)


@pytest.mark.parametrize(
    "options",
    [{"iou_threshold": 0.0}, {"iou_threshold": 1.5}, {"box_f1_pass": 1.2}, {"max_cer": -0.1}],
    ids=["iou_zero", "iou_over_one", "f1_pass_over_one", "negative_cer"],
)
def test_bad_thresholds_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        score_answer("image_boxes", _boxes(), _boxes(), **options)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("kind", KINDS)
def test_empty_dicts_score_as_agreeing(kind: str) -> None:
    """Missing keys read as empty: nothing answered against nothing known is a match, with no warnings."""
    assert score_answer(kind, {}, {}).correct
