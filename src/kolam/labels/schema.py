"""What a project may be asked: classes, box labels, languages, policy labels — per project kind.

A schema is versioned by the service; here live its shape, its validation and how a new version is derived
from the old one (a class that disappears is retired, never deleted, so older answers stay meaningful).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from kolam.errors import Invalid

PROJECT_KINDS = ("image_classes", "image_boxes", "transcription", "text_classes")
HOTKEY = re.compile(r"[0-9a-z]")  # used with fullmatch: "$" would also let a trailing newline through
LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


class LabelDef(BaseModel):
    """One class (or box label, or policy label)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    hotkey: str | None = None
    description: str = ""
    retired: bool = False

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    @field_validator("hotkey")
    @classmethod
    def _hotkey(cls, value: str | None) -> str | None:
        if value is not None and not HOTKEY.fullmatch(value):
            raise ValueError("hotkey must be one digit or lower-case letter")
        return value


def _check_labels(labels: list[LabelDef]) -> list[LabelDef]:
    names = [label.name for label in labels]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"duplicate label names: {', '.join(dupes)}")
    keys = [label.hotkey for label in labels if label.hotkey and not label.retired]
    dupe_keys = sorted({k for k in keys if keys.count(k) > 1})
    if dupe_keys:
        raise ValueError(f"hotkey used twice: {', '.join(dupe_keys)}")
    if not any(not label.retired for label in labels):
        raise ValueError("at least one label that is not retired is needed")
    return labels


class _SchemaBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def label_names(self, *, include_retired: bool = False) -> list[str]:
        return [lab.name for lab in self.all_labels() if include_retired or not lab.retired]

    def all_labels(self) -> list[LabelDef]:
        raise NotImplementedError

    def with_labels(self, labels: list[LabelDef]) -> _SchemaBase:
        raise NotImplementedError


class ImageClassesSchema(_SchemaBase):
    kind: Literal["image_classes"] = "image_classes"
    classes: list[LabelDef] = Field(min_length=1)
    multi_label: bool = False

    _v = field_validator("classes")(classmethod(lambda cls, v: _check_labels(v)))

    def all_labels(self) -> list[LabelDef]:
        return self.classes

    def with_labels(self, labels: list[LabelDef]) -> ImageClassesSchema:
        return self.model_copy(update={"classes": labels})


class TextClassesSchema(_SchemaBase):
    """Moderation of text: policy labels, optionally several at once, optionally with highlighted spans."""

    kind: Literal["text_classes"] = "text_classes"
    classes: list[LabelDef] = Field(min_length=1)
    multi_label: bool = True
    spans: bool = True

    _v = field_validator("classes")(classmethod(lambda cls, v: _check_labels(v)))

    def all_labels(self) -> list[LabelDef]:
        return self.classes

    def with_labels(self, labels: list[LabelDef]) -> TextClassesSchema:
        return self.model_copy(update={"classes": labels})


class ImageBoxesSchema(_SchemaBase):
    kind: Literal["image_boxes"] = "image_boxes"
    labels: list[LabelDef] = Field(min_length=1)
    max_boxes: int = Field(default=500, ge=1, le=10_000)

    _v = field_validator("labels")(classmethod(lambda cls, v: _check_labels(v)))

    def all_labels(self) -> list[LabelDef]:
        return self.labels

    def with_labels(self, labels: list[LabelDef]) -> ImageBoxesSchema:
        return self.model_copy(update={"labels": labels})


class TranscriptionSchema(_SchemaBase):
    """Speech to text: the languages (BCP-47 codes such as ta, hi, en, ta-IN) a segment may be tagged with."""

    kind: Literal["transcription"] = "transcription"
    languages: list[str] = Field(min_length=1)
    max_segments: int = Field(default=1000, ge=1)
    max_chars: int = Field(default=20_000, ge=1)

    @field_validator("languages")
    @classmethod
    def _langs(cls, value: list[str]) -> list[str]:
        for code in value:
            if not LANGUAGE.fullmatch(code):
                raise ValueError(f"{code!r} is not a language code such as 'ta', 'hi' or 'en-IN'")
        if len(set(value)) != len(value):
            raise ValueError("a language is listed twice")
        return value

    def all_labels(self) -> list[LabelDef]:
        return [LabelDef(name=code) for code in self.languages]

    def with_labels(self, labels: list[LabelDef]) -> TranscriptionSchema:
        return self


LabelSchemaDef = Annotated[
    ImageClassesSchema | ImageBoxesSchema | TranscriptionSchema | TextClassesSchema,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[LabelSchemaDef] = TypeAdapter(LabelSchemaDef)


def location(loc: tuple[int | str, ...], prefix: str) -> str:
    """Pydantic's error location as a field path a person reads: ``schema.classes[2].hotkey``."""
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def raise_invalid(err: ValidationError, prefix: str, what: str, *, tagged: bool = False) -> None:
    """Raise the first error as Invalid; ``tagged``: the location starts with the union's tag (the kind)."""
    first = err.errors()[0]
    loc = tuple(first["loc"])
    if tagged and loc and loc[0] in PROJECT_KINDS:
        loc = loc[1:]
    field = location(loc, prefix)
    raise Invalid(f"{what}: {field}: {first['msg']}", field=field) from None


def parse_schema(kind: str, definition: dict[str, Any]) -> LabelSchemaDef:
    """Validate a schema for a project of ``kind``; the error names the field at fault."""
    if kind not in PROJECT_KINDS:
        raise Invalid(f"unknown project kind '{kind}'; kinds are {', '.join(PROJECT_KINDS)}", field="kind")
    try:
        return _ADAPTER.validate_python({**definition, "kind": kind})
    except ValidationError as err:
        raise_invalid(err, "schema", "invalid label schema", tagged=True)
        raise AssertionError("unreachable") from None


def evolve_schema(old: LabelSchemaDef, new: LabelSchemaDef) -> LabelSchemaDef:
    """The next version: labels that disappeared are kept as retired so old answers still resolve."""
    if old.kind != new.kind:
        raise Invalid("a project's kind cannot change", field="schema.kind")
    kept = {lab.name for lab in new.all_labels()}
    retired = [lab.model_copy(update={"retired": True}) for lab in old.all_labels() if lab.name not in kept]
    if not retired:
        return new
    return new.with_labels([*new.all_labels(), *retired])
