"""Projects, schemas and imports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from kolam.api.schemas.common import Out


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


class ProjectPatch(BaseModel):
    name: str | None = None
    label_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    instructions: str | None = None
    overlap: int | None = None
    gold_ratio: float | None = None
    required_skills: list[str] | None = None
    priority: int | None = None
    lease_seconds: int | None = None


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
    created_at: datetime
    updated_at: datetime


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
