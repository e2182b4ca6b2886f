"""A project's quality policy: how answers become consensus, when to ask for more, who may work, what to review.

Stored as JSON on the project (``projects.quality``) and read on every lease and submit, so parsing is cached
by the stored bytes. Every field has a default a quality lead would start from; see docs/quality.md.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kolam.errors import Invalid
from kolam.labels.schema import location
from kolam.quality.methods import DEFAULT_METHOD, METHODS

SCOPE = re.compile(r"^(project|skill:[A-Za-z0-9_-]{1,32})$")


class QualificationPolicy(BaseModel):
    """A short test of gold items an annotator must pass before real tasks are served."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    scope: str = Field(
        default="project",
        description="'project' (pass once per project) or 'skill:<code>' (one test per skill, e.g. 'skill:ta', "
        "valid in every project of the organization that asks for that skill's test)",
    )
    items: int = Field(default=10, ge=1, le=200, description="Gold items in the test.")
    pass_accuracy: float = Field(default=0.8, ge=0.0, le=1.0, description="Share correct needed to pass.")

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        if not SCOPE.match(value):
            raise ValueError("scope must be 'project' or 'skill:<code>' (letters, digits, _ or -)")
        return value


class QualitySettings(BaseModel):
    """Consensus method, adaptive overlap, review sampling, the gold accuracy floor and qualification."""

    model_config = ConfigDict(extra="forbid")
    method: str = Field(default=DEFAULT_METHOD, description="Truth inference for class answers.")
    adaptive: bool = Field(
        default=False,
        description="Ask one more annotator while an item's consensus is below target_confidence, from the "
        "project's overlap (the minimum) up to max_overlap; unsure items then go to review.",
    )
    max_overlap: int = Field(default=5, ge=1, le=50)
    target_confidence: float = Field(default=0.95, ge=0.5, lt=1.0)
    review_sample: float = Field(default=0.02, ge=0.0, le=0.5, description="Share of settled items sampled for review.")
    review_disagreement: float = Field(
        default=0.67,
        ge=0.0,
        le=1.0,
        description="Items whose winning answer has less than this share of the votes go to review.",
    )
    floor_accuracy: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Pause annotators below this accuracy on ongoing gold (0: never)."
    )
    floor_min_gold: int = Field(default=10, ge=1, le=1000, description="Gold answers before the floor applies.")
    qualification: QualificationPolicy = Field(default_factory=QualificationPolicy)

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        if value not in METHODS:
            raise ValueError(f"unknown method '{value}'; one of {', '.join(sorted(METHODS))}")
        return value


def parse_quality(value: Any, overlap: int | None = None) -> QualitySettings:
    """Validate a quality policy given by a manager; errors name the field (``quality.max_overlap``)."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise Invalid("quality must be an object", field="quality")
    try:
        parsed = QualitySettings.model_validate(value)
    except ValidationError as err:
        first = err.errors()[0]
        where = location(tuple(first["loc"]), "quality")
        raise Invalid(f"invalid quality settings: {where}: {first['msg']}", field=where) from None
    if overlap is not None and parsed.adaptive and parsed.max_overlap < overlap:
        raise Invalid(
            f"quality.max_overlap ({parsed.max_overlap}) must be at least the project's overlap ({overlap})",
            field="quality.max_overlap",
        )
    return parsed


def stored_quality(value: dict[str, Any] | None) -> QualitySettings:
    """The policy as stored (already validated when written); cached, since the hot paths read it."""
    return _cached(orjson.dumps(value or {}, option=orjson.OPT_SORT_KEYS))


@lru_cache(maxsize=512)
def _cached(raw: bytes) -> QualitySettings:
    return QualitySettings.model_validate(orjson.loads(raw))


def qualification_scope(project_id: int, policy: QualificationPolicy) -> str:
    """The key a qualification is stored under: per project, or shared by every project testing one skill."""
    return f"project:{project_id}" if policy.scope == "project" else policy.scope
