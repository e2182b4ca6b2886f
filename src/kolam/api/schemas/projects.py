"""Projects, schemas and imports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from kolam.api.schemas.common import Out
from kolam.services.learning_settings import stored_learning
from kolam.services.quality_settings import stored_quality


class ProjectIn(BaseModel):
    name: str
    kind: str = Field(description="image_classes, image_boxes, transcription or text_classes")
    label_schema: dict[str, Any] = Field(
        alias="schema", description="Per kind: classes / labels / languages; see the docs."
    )
    instructions: str = ""
    overlap: int = Field(default=1, description="Answers wanted per item.")
    gold_ratio: float = 0.0
    required_skills: list[str] = Field(default_factory=list)
    priority: int = 0
    lease_seconds: int | None = None
    quality: dict[str, Any] | None = Field(
        default=None, description="Quality policy (method, adaptive overlap, review, floor, qualification)."
    )
    learning: dict[str, Any] | None = Field(
        default=None, description="Model in the loop (backend, retraining, active learning, auto-accept)."
    )


class ProjectPatch(BaseModel):
    name: str | None = None
    label_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    instructions: str | None = None
    overlap: int | None = None
    gold_ratio: float | None = None
    required_skills: list[str] | None = None
    priority: int | None = None
    lease_seconds: int | None = None
    quality: dict[str, Any] | None = Field(default=None, description="Fields to change; others keep their value.")
    learning: dict[str, Any] | None = Field(default=None, description="Fields to change; others keep their value.")


class ProjectOut(Out):
    id: int
    name: str
    kind: str
    instructions: str
    overlap: int
    gold_ratio: float
    required_skills: list[str]
    priority: int
    lease_seconds: int | None
    schema_version: int
    quality: dict[str, Any]
    learning: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @field_validator("quality", mode="before")
    @classmethod
    def _complete(cls, value: dict[str, Any] | None) -> dict[str, Any]:
        """Every field of the policy, defaults included (projects made before a field existed store less)."""
        return stored_quality(value).model_dump(mode="json")

    @field_validator("learning", mode="before")
    @classmethod
    def _learning(cls, value: dict[str, Any] | None) -> dict[str, Any]:
        """Every field, defaults included; the external server's token masked."""
        return stored_learning(value).public()


class ProjectDetailOut(ProjectOut):
    label_schema: dict[str, Any] = Field(serialization_alias="schema")


class SchemaVersionOut(BaseModel):
    version: int
    definition: dict[str, Any]


class ProjectStatsOut(BaseModel):
    tasks: int
    open: int
    done: int
    staged: int
    answers: int


class ImportOut(Out):
    id: int
    project_id: int
    source: str
    format: str
    status: str
    records: int
    items_created: int
    duplicates: int
    created_at: datetime
    finished_at: datetime | None
    report: dict[str, Any]
