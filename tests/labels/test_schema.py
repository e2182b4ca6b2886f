"""Label schemas per project kind: what is accepted, what is refused (naming the field), and how versions evolve."""

from __future__ import annotations

from typing import Any

import pytest

from kolam.errors import Invalid
from kolam.labels import PROJECT_KINDS, evolve_schema, parse_schema
from kolam.labels.schema import ImageBoxesSchema, ImageClassesSchema, TextClassesSchema, TranscriptionSchema

VALID: dict[str, dict[str, Any]] = {
    "image_classes": {"classes": [{"name": "cat", "hotkey": "c"}, {"name": "dog", "hotkey": "1"}]},
    "text_classes": {"classes": [{"name": "spam"}, {"name": "abuse", "description": "insults, threats"}]},
    "image_boxes": {"labels": [{"name": "car"}, {"name": "person", "hotkey": "p"}], "max_boxes": 50},
    "transcription": {"languages": ["ta", "hi", "en-IN"]},
}


def refused(kind: str, definition: dict[str, Any]) -> Invalid:
    with pytest.raises(Invalid) as caught:
        parse_schema(kind, definition)
    return caught.value


def classes(*names: str, **extra: Any) -> dict[str, Any]:
    return {"classes": [{"name": n} for n in names], **extra}


# --- accepted -------------------------------------------------------------------------------------------------


def test_every_project_kind_has_a_valid_example():
    assert set(VALID) == set(PROJECT_KINDS)


def test_image_classes_defaults_to_one_class_per_item():
    schema = parse_schema("image_classes", VALID["image_classes"])

    assert isinstance(schema, ImageClassesSchema)
    assert (schema.kind, schema.multi_label) == ("image_classes", False)
    assert [(c.name, c.hotkey, c.retired) for c in schema.classes] == [("cat", "c", False), ("dog", "1", False)]


def test_text_classes_defaults_to_several_labels_and_spans():
    schema = parse_schema("text_classes", VALID["text_classes"])

    assert isinstance(schema, TextClassesSchema)
    assert (schema.multi_label, schema.spans) == (True, True)
    assert schema.classes[1].description == "insults, threats"


def test_image_boxes_and_its_limit():
    schema = parse_schema("image_boxes", VALID["image_boxes"])

    assert isinstance(schema, ImageBoxesSchema)
    assert (schema.label_names(), schema.max_boxes) == (["car", "person"], 50)
    assert parse_schema("image_boxes", {"labels": [{"name": "car"}]}).max_boxes == 500


def test_transcription_languages_and_limits():
    schema = parse_schema("transcription", VALID["transcription"])

    assert isinstance(schema, TranscriptionSchema)
    assert (schema.languages, schema.max_segments, schema.max_chars) == (["ta", "hi", "en-IN"], 1000, 20_000)


@pytest.mark.parametrize("code", ["ta", "hi", "en", "kok", "ta-IN", "en-IN", "sa-Deva", "zh-Hant-TW", "sr-Latn-RS"])
def test_language_codes_in_bcp47_form_are_accepted(code: str):
    assert parse_schema("transcription", {"languages": [code]}).languages == [code]


def test_names_are_trimmed_and_scripts_kept():
    schema = parse_schema("image_classes", classes("  பூனை ", "कुत्ता"))

    assert schema.label_names() == ["பூனை", "कुत्ता"]


def test_the_kind_comes_from_the_project_not_the_definition():
    schema = parse_schema("text_classes", {**VALID["text_classes"], "kind": "image_classes"})

    assert schema.kind == "text_classes"


def test_a_schema_survives_its_stored_form():
    for kind, definition in VALID.items():
        schema = parse_schema(kind, definition)
        assert parse_schema(kind, schema.model_dump(mode="json")) == schema


# --- refused, naming the field --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "definition", "field", "says"),
    [
        ("image_classes", {}, "schema.classes", "Field required"),
        ("image_classes", {"classes": []}, "schema.classes", "at least 1 item"),
        ("image_classes", {"classes": ["cat"]}, "schema.classes[0]", "valid dictionary"),
        ("image_classes", classes("cat", "cat"), "schema.classes", "duplicate label names: cat"),
        ("image_classes", classes("cat", " cat "), "schema.classes", "duplicate label names: cat"),
        ("image_classes", classes("cat", "   "), "schema.classes[1].name", "must not be blank"),
        ("image_classes", classes("cat", ""), "schema.classes[1].name", "at least 1 character"),
        ("image_classes", classes("x" * 201), "schema.classes[0].name", "at most 200 characters"),
        ("image_classes", {"classes": [{"name": 7}]}, "schema.classes[0].name", "valid string"),
        ("image_classes", {"classes": [{"name": "a", "colour": "red"}]}, "schema.classes[0].colour", "Extra inputs"),
        ("image_classes", {**classes("a"), "colours": 2}, "schema.colours", "Extra inputs"),
        ("image_classes", {**classes("a"), "multi_label": "maybe"}, "schema.multi_label", "valid boolean"),
        ("text_classes", {"classes": []}, "schema.classes", "at least 1 item"),
        ("text_classes", {**classes("a"), "spans": []}, "schema.spans", "valid boolean"),
        ("image_boxes", {"classes": [{"name": "car"}]}, "schema.labels", "Field required"),
        ("image_boxes", {"labels": [{"name": "car"}], "max_boxes": 0}, "schema.max_boxes", "greater than or equal"),
        ("image_boxes", {"labels": [{"name": "car"}], "max_boxes": 10_001}, "schema.max_boxes", "less than or equal"),
        ("image_boxes", {"labels": [{"name": "a"}, {"name": "a"}]}, "schema.labels", "duplicate label names: a"),
        ("transcription", {}, "schema.languages", "Field required"),
        ("transcription", {"languages": []}, "schema.languages", "at least 1 item"),
        ("transcription", {"languages": ["ta", "ta"]}, "schema.languages", "a language is listed twice"),
        ("transcription", {"languages": ["ta"], "max_chars": 0}, "schema.max_chars", "greater than or equal"),
        ("transcription", {"languages": ["ta"], "max_segments": 0}, "schema.max_segments", "greater than or equal"),
    ],
)
def test_a_bad_schema_names_the_field(kind: str, definition: dict[str, Any], field: str, says: str):
    err = refused(kind, definition)

    assert err.field == field
    assert err.message.startswith(f"invalid label schema: {field}: ")
    assert says in err.message


@pytest.mark.parametrize("code", ["Tamil", "TA", "t", "tamil", "ta_IN", "ta-", "ta-I", "", " ta", "ta\n", "ta-IN\n"])
def test_a_bad_language_code_is_refused(code: str):
    err = refused("transcription", {"languages": ["hi", code]})

    assert err.field == "schema.languages"
    assert f"{code!r} is not a language code" in err.message


@pytest.mark.parametrize("key", ["F1", "A", "ab", "", " ", "ä", "-", "a\n", "1\n", "\n"])
def test_a_hotkey_is_one_digit_or_lower_case_letter(key: str):
    err = refused("image_classes", {"classes": [{"name": "cat"}, {"name": "dog", "hotkey": key}]})

    assert err.field == "schema.classes[1].hotkey"
    assert "hotkey must be one digit or lower-case letter" in err.message


def test_a_hotkey_used_twice_is_refused():
    err = refused("image_boxes", {"labels": [{"name": "a", "hotkey": "x"}, {"name": "b", "hotkey": "x"}]})

    assert (err.field, err.message) == (
        "schema.labels",
        "invalid label schema: schema.labels: Value error, hotkey used twice: x",
    )


def test_a_retired_class_frees_its_hotkey():
    schema = parse_schema(
        "image_classes", {"classes": [{"name": "new", "hotkey": "1"}, {"name": "old", "hotkey": "1", "retired": True}]}
    )

    assert schema.label_names() == ["new"]
    assert schema.label_names(include_retired=True) == ["new", "old"]


def test_a_schema_needs_one_class_that_is_not_retired():
    err = refused("text_classes", {"classes": [{"name": "a", "retired": True}]})

    assert err.field == "schema.classes"
    assert "at least one label that is not retired is needed" in err.message


def test_an_unknown_project_kind():
    err = refused("video_tracks", {})

    assert err.field == "kind"
    assert err.message == (
        "unknown project kind 'video_tracks'; kinds are image_classes, image_boxes, transcription, text_classes"
    )


def test_a_field_named_like_a_kind_is_still_named_in_the_error():
    """The kind tag is taken off the front of pydantic's location only, not wherever it appears."""
    err = refused("image_classes", {**classes("a"), "transcription": True})

    assert err.field == "schema.transcription"


# --- versions -------------------------------------------------------------------------------------------------


def test_a_removed_class_is_kept_as_retired_at_the_end():
    old = parse_schema("image_classes", {"classes": [{"name": "cat", "hotkey": "c"}, {"name": "dog"}, {"name": "owl"}]})

    new = evolve_schema(old, parse_schema("image_classes", classes("cat", "bird")))

    assert [(c.name, c.retired) for c in new.all_labels()] == [
        ("cat", False),
        ("bird", False),
        ("dog", True),
        ("owl", True),
    ]
    assert new.label_names() == ["cat", "bird"]
    assert new.all_labels()[0].hotkey is None  # the new definition wins for classes it keeps
    assert [c.retired for c in old.all_labels()] == [False, False, False]  # the old version is untouched


def test_a_class_given_again_comes_back_from_retirement():
    v1 = parse_schema("image_classes", classes("cat", "dog"))
    v2 = evolve_schema(v1, parse_schema("image_classes", classes("cat")))

    v3 = evolve_schema(v2, parse_schema("image_classes", classes("cat", "dog")))

    assert [(c.name, c.retired) for c in v3.all_labels()] == [("cat", False), ("dog", False)]


def test_retired_classes_stay_retired_through_later_versions():
    v1 = parse_schema("text_classes", classes("a", "b", "c"))
    v2 = evolve_schema(v1, parse_schema("text_classes", classes("a", "b")))

    v3 = evolve_schema(v2, parse_schema("text_classes", classes("b")))

    assert [(c.name, c.retired) for c in v3.all_labels()] == [("b", False), ("a", True), ("c", True)]


def test_nothing_removed_gives_the_new_schema_unchanged():
    old = parse_schema("image_boxes", {"labels": [{"name": "car"}]})
    new = parse_schema("image_boxes", {"labels": [{"name": "car"}, {"name": "bus"}], "max_boxes": 9})

    assert evolve_schema(old, new) is new


def test_retired_labels_keep_their_hotkeys_without_clashing():
    v1 = parse_schema("image_classes", {"classes": [{"name": "cat", "hotkey": "1"}, {"name": "dog", "hotkey": "2"}]})

    v2 = evolve_schema(v1, parse_schema("image_classes", {"classes": [{"name": "owl", "hotkey": "1"}]}))

    assert [(c.name, c.hotkey, c.retired) for c in v2.all_labels()] == [
        ("owl", "1", False),
        ("cat", "1", True),
        ("dog", "2", True),
    ]
    assert parse_schema("image_classes", v2.model_dump(mode="json")) == v2  # and it can be stored and read back


def test_transcription_languages_are_replaced_not_retired():
    v1 = parse_schema("transcription", {"languages": ["ta", "hi"]})

    v2 = evolve_schema(v1, parse_schema("transcription", {"languages": ["ta"]}))

    assert v2.languages == ["ta"]


def test_the_kind_cannot_change():
    with pytest.raises(Invalid) as caught:
        evolve_schema(parse_schema("image_classes", classes("a")), parse_schema("text_classes", classes("a")))

    assert (caught.value.field, caught.value.message) == ("schema.kind", "a project's kind cannot change")
