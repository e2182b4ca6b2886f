"""Answers per project kind, validated against the schema version they were made against."""

from __future__ import annotations

import math
import unicodedata
from typing import Any

import pytest

from kolam.errors import Invalid
from kolam.labels import evolve_schema, parse_schema, validate_answer
from kolam.labels.answers import answer_labels
from kolam.labels.schema import LabelSchemaDef

TAMIL = "வணக்கம் உலகம்"

SINGLE = parse_schema("image_classes", {"classes": [{"name": "cat"}, {"name": "dog"}, {"name": "owl"}]})
MULTI = parse_schema("image_classes", {"classes": [{"name": "cat"}, {"name": "dog"}], "multi_label": True})
TEXT = parse_schema("text_classes", {"classes": [{"name": "spam"}, {"name": "abuse"}, {"name": "ok"}]})
TEXT_ONE = parse_schema("text_classes", {"classes": [{"name": "spam"}, {"name": "ok"}], "multi_label": False})
TEXT_NO_SPANS = parse_schema("text_classes", {"classes": [{"name": "spam"}], "spans": False})
BOXES = parse_schema("image_boxes", {"labels": [{"name": "car"}, {"name": "person"}], "max_boxes": 3})
SPEECH = parse_schema("transcription", {"languages": ["ta", "en-IN"], "max_segments": 3, "max_chars": 20})


def refused(schema: LabelSchemaDef, value: Any, **kwargs: Any) -> Invalid:
    with pytest.raises(Invalid) as caught:
        validate_answer(schema, value, **kwargs)
    assert caught.value.message.startswith(f"invalid answer: {caught.value.field}: "), caught.value.message
    return caught.value


def box(**overrides: Any) -> dict[str, Any]:
    return {"x": 10, "y": 20.5, "w": 30, "h": 40, "label": "car", **overrides}


def segment(**overrides: Any) -> dict[str, Any]:
    return {"start": 0.0, "end": 1.5, "text": "hi", "language": "ta", **overrides}


# --- every kind -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("schema", [SINGLE, TEXT, BOXES, SPEECH], ids=lambda s: s.kind)
@pytest.mark.parametrize("value", [["cat"], "cat", None, 3], ids=["list", "str", "none", "int"])
def test_the_value_must_be_an_object(schema: LabelSchemaDef, value: Any):
    err = refused(schema, value)

    assert err.field == "value"
    assert err.message == f"invalid answer: value: must be an object, got {type(value).__name__}"


@pytest.mark.parametrize(
    ("schema", "value"),
    [(SINGLE, {"labels": ["cat"]}), (TEXT, {"labels": ["ok"]}), (BOXES, {"boxes": []}), (SPEECH, {"segments": []})],
    ids=lambda x: getattr(x, "kind", ""),
)
def test_unknown_fields_are_refused(schema: LabelSchemaDef, value: dict[str, Any]):
    err = refused(schema, {**value, "confidence": 0.9})

    assert err.field == "value.confidence"
    assert "Extra inputs are not permitted" in err.message


def test_a_comment_is_kept_and_limited():
    assert validate_answer(SINGLE, {"labels": ["cat"], "comment": TAMIL})["comment"] == TAMIL
    assert refused(SINGLE, {"labels": ["cat"], "comment": "x" * 5001}).field == "value.comment"


# --- image classes --------------------------------------------------------------------------------------------


def test_a_valid_class_answer_in_its_canonical_form():
    assert validate_answer(SINGLE, {"labels": ["dog"]}) == {"unclear": False, "comment": "", "labels": ["dog"]}


def test_one_class_per_item_unless_multi_label():
    err = refused(SINGLE, {"labels": ["cat", "dog"]})

    assert (err.field, err.message) == (
        "value.labels",
        "invalid answer: value.labels: this project takes one class per item",
    )
    assert validate_answer(MULTI, {"labels": ["dog", "cat"]})["labels"] == ["dog", "cat"]  # order kept


def test_a_class_given_twice_is_refused_even_with_multi_label():
    assert refused(MULTI, {"labels": ["cat", "cat"]}).message == "invalid answer: value.labels: a class is given twice"


def test_an_unknown_class_names_its_position_and_the_allowed_ones():
    err = refused(MULTI, {"labels": ["cat", "Dog"]})

    assert (err.field, err.message) == (
        "value.labels[1]",
        "invalid answer: value.labels[1]: class 'Dog' is not in the label schema; allowed: cat, dog",
    )


@pytest.mark.parametrize(
    ("value", "field", "says"),
    [
        ({}, "value.labels", "choose at least one label"),
        ({"labels": []}, "value.labels", "choose at least one label"),
        ({"labels": "cat"}, "value.labels", "valid list"),
        ({"labels": [1]}, "value.labels[0]", "valid string"),
        ({"labels": [None]}, "value.labels[0]", "valid string"),
        ({"labels": ["cat"], "unclear": "perhaps"}, "value.unclear", "valid boolean"),
    ],
)
def test_a_class_answer_of_the_wrong_shape_names_the_field(value: dict[str, Any], field: str, says: str):
    err = refused(SINGLE, value)

    assert err.field == field
    assert says in err.message


def test_unclear_alone_is_an_answer_for_images_as_for_text():
    """A blank or unrecognisable image: "can't tell" is the honest answer, with or without a best guess."""
    assert validate_answer(SINGLE, {"labels": [], "unclear": True})["labels"] == []
    assert validate_answer(SINGLE, {"labels": ["owl"], "unclear": True})["unclear"] is True


# --- retired classes ------------------------------------------------------------------------------------------


def test_an_answer_keeps_meaning_against_the_version_it_was_made_for_but_a_new_one_cannot_name_a_retired_class():
    v1 = parse_schema("image_classes", {"classes": [{"name": "cat"}, {"name": "dog"}]})
    v2 = evolve_schema(v1, parse_schema("image_classes", {"classes": [{"name": "cat"}, {"name": "bird"}]}))

    assert validate_answer(v1, {"labels": ["dog"]})["labels"] == ["dog"]
    err = refused(v2, {"labels": ["dog"]})
    assert (err.field, err.message) == (
        "value.labels[0]",
        "invalid answer: value.labels[0]: class 'dog' is retired; allowed: cat, bird",
    )
    assert refused(v1, {"labels": ["bird"]}).message.endswith("'bird' is not in the label schema; allowed: cat, dog")


def test_retired_box_labels_and_span_labels_are_refused_too():
    boxes_v2 = evolve_schema(BOXES, parse_schema("image_boxes", {"labels": [{"name": "car"}]}))
    text_v2 = evolve_schema(TEXT, parse_schema("text_classes", {"classes": [{"name": "ok"}, {"name": "abuse"}]}))

    assert validate_answer(BOXES, {"boxes": [box(label="person")]})["boxes"][0]["label"] == "person"
    assert "'person' is retired" in refused(boxes_v2, {"boxes": [box(label="person")]}).message
    span = {"start": 0, "end": 2, "label": "spam"}
    assert validate_answer(TEXT, {"labels": ["abuse"], "spans": [span]})["spans"] == [span]
    assert refused(text_v2, {"labels": ["abuse"], "spans": [span]}).field == "value.spans[0].label"


# --- text classes ---------------------------------------------------------------------------------------------


def test_a_text_answer_with_labels_and_spans():
    value = {"labels": ["spam", "abuse"], "spans": [{"start": 0, "end": 5, "label": "abuse"}]}

    assert validate_answer(TEXT, value, text_length=5) == {
        "unclear": False,
        "comment": "",
        "labels": ["spam", "abuse"],
        "spans": [{"start": 0, "end": 5, "label": "abuse"}],
    }


def test_a_text_answer_needs_a_label_unless_unclear():
    err = refused(TEXT, {"labels": []})

    assert (err.field, err.message) == ("value.labels", "invalid answer: value.labels: choose at least one label")
    assert validate_answer(TEXT, {"unclear": True}) == {"unclear": True, "comment": "", "labels": [], "spans": []}


def test_a_single_label_text_project_takes_one_label():
    assert refused(TEXT_ONE, {"labels": ["spam", "ok"]}).message.endswith("this project takes one class per item")


@pytest.mark.parametrize(
    ("span", "field", "says"),
    [
        ({"start": 3, "end": 3, "label": "spam"}, "value.spans[1]", "end must be after start"),
        ({"start": 4, "end": 2, "label": "spam"}, "value.spans[1]", "end must be after start"),
        ({"start": -1, "end": 2, "label": "spam"}, "value.spans[1].start", "greater than or equal to 0"),
        ({"start": 0, "end": 2.5, "label": "spam"}, "value.spans[1].end", "valid integer"),
        ({"start": 0, "end": 2}, "value.spans[1].label", "Field required"),
        ({"start": 0, "end": 2, "label": "nope"}, "value.spans[1].label", "'nope' is not in the label schema"),
        ({"start": 0, "end": 2, "label": "spam", "text": "x"}, "value.spans[1].text", "Extra inputs"),
    ],
    ids=["empty", "backwards", "negative", "fraction", "no-label", "unknown-label", "extra-field"],
)
def test_a_bad_span_names_itself(span: dict[str, Any], field: str, says: str):
    good = {"start": 0, "end": 1, "label": "ok"}

    err = refused(TEXT, {"labels": ["spam"], "spans": [good, span]})

    assert err.field == field
    assert says in err.message


def test_a_span_may_end_at_the_end_of_the_text_but_not_past_it():
    at_end = {"labels": ["spam"], "spans": [{"start": 2, "end": 10, "label": "spam"}]}
    past = {"labels": ["spam"], "spans": [{"start": 2, "end": 11, "label": "spam"}]}

    assert validate_answer(TEXT, at_end, text_length=10)["spans"][0]["end"] == 10
    err = refused(TEXT, past, text_length=10)
    assert (err.field, err.message) == (
        "value.spans[0].end",
        "invalid answer: value.spans[0].end: 11 is past the end of the text (10)",
    )
    assert validate_answer(TEXT, past)["spans"][0]["end"] == 11  # without the text's length, not checked


def test_overlapping_spans_are_allowed():
    spans = [{"start": 0, "end": 5, "label": "spam"}, {"start": 3, "end": 8, "label": "abuse"}]

    assert validate_answer(TEXT, {"labels": ["spam"], "spans": spans})["spans"] == spans


def test_spans_are_refused_where_the_project_takes_none():
    err = refused(TEXT_NO_SPANS, {"labels": ["spam"], "spans": [{"start": 0, "end": 1, "label": "spam"}]})

    assert (err.field, err.message) == ("value.spans", "invalid answer: value.spans: this project does not take spans")


# --- boxes ----------------------------------------------------------------------------------------------------


def test_a_valid_boxes_answer_in_its_canonical_form():
    value = {"boxes": [box(), box(x=0, y=0, w=0.5, h=1e4, label="person")]}

    assert validate_answer(BOXES, value) == {
        "unclear": False,
        "comment": "",
        "boxes": [
            {"x": 10.0, "y": 20.5, "w": 30.0, "h": 40.0, "label": "car"},
            {"x": 0.0, "y": 0.0, "w": 0.5, "h": 10000.0, "label": "person"},
        ],
    }


def test_no_boxes_is_an_answer():
    assert validate_answer(BOXES, {})["boxes"] == []


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"x": -1}, "value.boxes[1].x", "greater than or equal to 0"),
        ({"y": -0.01}, "value.boxes[1].y", "greater than or equal to 0"),
        ({"w": 0}, "value.boxes[1].w", "greater than 0"),
        ({"h": -5}, "value.boxes[1].h", "greater than 0"),
        ({"w": math.inf}, "value.boxes[1].w", "finite number"),
        ({"x": math.nan}, "value.boxes[1].x", "finite number"),
        ({"h": -math.inf}, "value.boxes[1].h", "finite number"),
        ({"x": "left"}, "value.boxes[1].x", "valid number"),
        ({"x": None}, "value.boxes[1].x", "valid number"),
        ({"label": "bus"}, "value.boxes[1].label", "'bus' is not in the label schema"),
        ({"label": 3}, "value.boxes[1].label", "valid string"),
        ({"angle": 30}, "value.boxes[1].angle", "Extra inputs"),
    ],
    ids=[
        "negative-x",
        "negative-y",
        "zero-width",
        "negative-height",
        "inf",
        "nan",
        "minus-inf",
        "word",
        "null",
        "unknown-label",
        "label-number",
        "extra-field",
    ],
)
def test_a_bad_box_names_itself(change: dict[str, Any], field: str, says: str):
    err = refused(BOXES, {"boxes": [box(), box(**change)]})

    assert err.field == field
    assert says in err.message


def test_a_box_missing_a_coordinate():
    without_h = {"x": 1, "y": 1, "w": 1}

    assert refused(BOXES, {"boxes": [without_h]}).field == "value.boxes[0].h"


def test_a_box_without_a_label_is_accepted():
    """Not checked today: a box with no label in a project with several box labels (see the report)."""
    assert validate_answer(BOXES, {"boxes": [box(label=None)]})["boxes"][0]["label"] is None


def test_more_boxes_than_the_project_allows():
    err = refused(BOXES, {"boxes": [box()] * 4})

    assert (err.field, err.message) == ("value.boxes", "invalid answer: value.boxes: more than 3 boxes")
    assert len(validate_answer(BOXES, {"boxes": [box()] * 3})["boxes"]) == 3


# --- transcription --------------------------------------------------------------------------------------------


def test_a_valid_transcript_in_its_canonical_form():
    value = {"segments": [segment(text=TAMIL[:5]), segment(start=1.5, end=3, text="ok", language=None)]}

    assert validate_answer(SPEECH, value) == {
        "unclear": False,
        "comment": "",
        "segments": [
            {"start": 0.0, "end": 1.5, "text": TAMIL[:5], "language": "ta"},
            {"start": 1.5, "end": 3.0, "text": "ok", "language": None},
        ],
    }


def test_transcript_text_is_stored_in_one_unicode_form():
    decomposed = unicodedata.normalize("NFD", "கொ")  # what some Tamil keyboards send
    assert decomposed != "கொ"

    stored = validate_answer(SPEECH, {"segments": [segment(text=decomposed)]})

    assert stored["segments"][0]["text"] == "கொ"


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"start": 2, "end": 2}, "value.segments[1]", "end must be after start"),
        ({"start": 3, "end": 2}, "value.segments[1]", "end must be after start"),
        ({"start": -0.5}, "value.segments[1].start", "greater than or equal to 0"),
        ({"end": math.inf}, "value.segments[1].end", "finite number"),
        ({"start": math.nan}, "value.segments[1].start", "finite number"),
        ({"text": None}, "value.segments[1].text", "valid string"),
        ({"language": "hi"}, "value.segments[1].language", "'hi' is not one of ta, en-IN"),
        ({"language": "en"}, "value.segments[1].language", "'en' is not one of ta, en-IN"),
        ({"speaker": 1}, "value.segments[1].speaker", "Extra inputs"),
    ],
    ids=["empty", "backwards", "negative", "inf", "nan", "no-text", "other-language", "base-language", "extra"],
)
def test_a_bad_segment_names_itself(change: dict[str, Any], field: str, says: str):
    err = refused(SPEECH, {"segments": [segment(), segment(**change)]})

    assert err.field == field
    assert says in err.message


def test_segment_count_and_total_characters_are_limited():
    four = [segment(start=i, end=i + 1, text="a") for i in range(4)]
    long = [segment(text="அ" * 11), segment(start=2, end=3, text="ஆ" * 10)]  # 21 characters, not bytes

    assert refused(SPEECH, {"segments": four}).message == "invalid answer: value.segments: more than 3"
    assert refused(SPEECH, {"segments": long}).message == "invalid answer: value.segments: over 20 characters"
    assert len(validate_answer(SPEECH, {"segments": [segment(text="அ" * 20)]})["segments"]) == 1


def test_segments_are_not_checked_for_order_overlap_or_empty_text():
    """Accepted today (see the report): an aligner or a reviewer may want these refused."""
    value = {"segments": [segment(start=5, end=6, text=""), segment(start=0, end=5.5, text="   ")]}

    assert len(validate_answer(SPEECH, value)["segments"]) == 2


# --- labels an answer names -----------------------------------------------------------------------------------


def test_answer_labels_collects_classes_span_labels_and_box_labels():
    assert answer_labels({"labels": ["a", "b"], "spans": [{"label": "c"}, {"label": "a"}]}) == {"a", "b", "c"}
    assert answer_labels({"boxes": [{"label": "car"}, {"label": None}, {}]}) == {"car"}
    assert answer_labels({"segments": [{"text": "x"}]}) == set()
    assert answer_labels(validate_answer(TEXT, {"unclear": True})) == set()
