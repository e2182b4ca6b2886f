"""Answers per project kind, validated against the schema version they were made against.

An invalid answer is refused with a message naming the field (``value.boxes[3].w``) and what was wrong, so
the annotator's tool can point at it.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kolam.errors import Invalid
from kolam.labels.schema import (
    ImageBoxesSchema,
    ImageClassesSchema,
    LabelSchemaDef,
    TextClassesSchema,
    TranscriptionSchema,
    raise_invalid,
)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unclear: bool = False
    comment: str = Field(default="", max_length=5000)


class ClassesAnswer(_Answer):
    """Classes for an item; none at all only when the annotator marks it unclear (a "can't tell" answer)."""

    labels: list[str] = Field(default_factory=list)


class Span(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: int = Field(ge=0)
    end: int = Field(gt=0)
    label: str

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class TextClassesAnswer(ClassesAnswer):
    spans: list[Span] = Field(default_factory=list)


class Box(BaseModel):
    """A box in original-image pixels, whatever size the annotator saw it at."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    x: float = Field(ge=0)
    y: float = Field(ge=0)
    w: float = Field(gt=0)
    h: float = Field(gt=0)
    label: str | None = None


class BoxesAnswer(_Answer):
    boxes: list[Box] = Field(default_factory=list)


class Segment(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    start: float = Field(ge=0)
    end: float = Field(gt=0)
    text: str
    language: str | None = None

    @field_validator("text")
    @classmethod
    def _nfc(cls, value: str) -> str:
        # Tamil and Devanagari input methods may produce decomposed sequences; store one canonical form.
        return unicodedata.normalize("NFC", value)

    @model_validator(mode="after")
    def _ordered(self) -> Segment:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class TranscriptAnswer(_Answer):
    segments: list[Segment] = Field(default_factory=list)


def _parse(model: type[_Answer], value: dict[str, Any]) -> Any:
    try:
        return model.model_validate(value)
    except ValidationError as err:
        raise_invalid(err, "value", "invalid answer")


def _known(name: str, schema: LabelSchemaDef, field: str) -> None:
    allowed = schema.label_names()
    if name not in allowed:
        retired = name in schema.label_names(include_retired=True)
        why = "is retired" if retired else "is not in the label schema"
        raise Invalid(f"invalid answer: {field}: class '{name}' {why}; allowed: {', '.join(allowed)}", field=field)


def _check_classes(answer: ClassesAnswer, schema: ImageClassesSchema | TextClassesSchema) -> None:
    if not answer.labels and not answer.unclear:
        raise Invalid("invalid answer: value.labels: choose at least one label", field="value.labels")
    for i, name in enumerate(answer.labels):
        _known(name, schema, f"value.labels[{i}]")
    if len(set(answer.labels)) != len(answer.labels):
        raise Invalid("invalid answer: value.labels: a class is given twice", field="value.labels")
    if not schema.multi_label and len(answer.labels) > 1:
        raise Invalid("invalid answer: value.labels: this project takes one class per item", field="value.labels")


def validate_answer(schema: LabelSchemaDef, value: Any, *, text_length: int | None = None) -> dict[str, Any]:
    """Check ``value`` against ``schema``; return its canonical form (what is stored)."""
    if not isinstance(value, dict):
        raise Invalid(f"invalid answer: value: must be an object, got {type(value).__name__}", field="value")
    parsed: _Answer
    if isinstance(schema, ImageClassesSchema):
        parsed = _parse(ClassesAnswer, value)
        assert isinstance(parsed, ClassesAnswer)
        _check_classes(parsed, schema)
    elif isinstance(schema, TextClassesSchema):
        parsed = _parse(TextClassesAnswer, value)
        assert isinstance(parsed, TextClassesAnswer)
        _check_classes(parsed, schema)
        _check_spans(parsed, schema, text_length)
    elif isinstance(schema, ImageBoxesSchema):
        parsed = _parse(BoxesAnswer, value)
        assert isinstance(parsed, BoxesAnswer)
        if len(parsed.boxes) > schema.max_boxes:
            raise Invalid(f"invalid answer: value.boxes: more than {schema.max_boxes} boxes", field="value.boxes")
        for i, box in enumerate(parsed.boxes):
            if box.label is not None:
                _known(box.label, schema, f"value.boxes[{i}].label")
    else:
        assert isinstance(schema, TranscriptionSchema)
        parsed = _parse(TranscriptAnswer, value)
        assert isinstance(parsed, TranscriptAnswer)
        _check_segments(parsed, schema)
    return parsed.model_dump(mode="json", exclude_defaults=False)


def _check_spans(answer: TextClassesAnswer, schema: TextClassesSchema, text_length: int | None) -> None:
    if answer.spans and not schema.spans:
        raise Invalid("invalid answer: value.spans: this project does not take spans", field="value.spans")
    for i, span in enumerate(answer.spans):
        _known(span.label, schema, f"value.spans[{i}].label")
        if text_length is not None and span.end > text_length:
            field = f"value.spans[{i}].end"
            raise Invalid(
                f"invalid answer: {field}: {span.end} is past the end of the text ({text_length})", field=field
            )


def _check_segments(answer: TranscriptAnswer, schema: TranscriptionSchema) -> None:
    if len(answer.segments) > schema.max_segments:
        raise Invalid(f"invalid answer: value.segments: more than {schema.max_segments}", field="value.segments")
    total = 0
    for i, seg in enumerate(answer.segments):
        total += len(seg.text)
        if seg.language is not None and seg.language not in schema.languages:
            field = f"value.segments[{i}].language"
            allowed = ", ".join(schema.languages)
            raise Invalid(f"invalid answer: {field}: '{seg.language}' is not one of {allowed}", field=field)
    if total > schema.max_chars:
        raise Invalid(f"invalid answer: value.segments: over {schema.max_chars} characters", field="value.segments")


def answer_labels(value: dict[str, Any]) -> set[str]:
    """Every class an answer names (classes, span labels, box labels): what the label filter indexes."""
    names = set(value.get("labels") or [])
    names.update(s["label"] for s in value.get("spans") or [] if s.get("label"))
    names.update(b["label"] for b in value.get("boxes") or [] if b.get("label"))
    return names
