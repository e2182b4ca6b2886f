"""Leases, answers and items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from kolam.api.schemas.common import Out


class LeasedTaskOut(BaseModel):
    task_id: int
    lease_id: int
    expires_at: datetime
    priority: int
    schema_version: int
    item: dict[str, Any]
    predictions: list[dict[str, Any]]
    guidelines: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Managers' notes on the two classes the model hesitates between for this item.",
    )


class LeaseOut(Out):
    task_id: int
    status: str
    expires_at: datetime
    renewals: int


class RenewIn(BaseModel):
    task_ids: list[int] = Field(description="The tasks whose leases to extend (a browser's whole batch).")


class RenewResultOut(BaseModel):
    task_id: int
    ok: bool
    expires_at: datetime | None = None
    error: dict[str, Any] | None = None


class RenewOut(BaseModel):
    results: list[RenewResultOut]


class SkipIn(BaseModel):
    reason: str | None = None


class AnnotationIn(BaseModel):
    task_id: int
    client_id: str = Field(description="Made by the client (a UUID); a retry with the same id stores nothing new.")
    value: Any = Field(description="The answer; its shape depends on the project kind.")
    schema_version: int | None = Field(default=None, description="The schema version the answer was made against.")
    lead_time_ms: int | None = Field(default=None, description="From showing the task to submitting it.")
    time_spent_ms: int | None = Field(default=None, description="Active time on the task.")
    client_created_at: datetime | None = None


class AnnotationEditIn(BaseModel):
    client_id: str
    value: Any
    time_spent_ms: int | None = None


class AnnotationOut(Out):
    id: int
    task_id: int
    user_id: int
    client_id: str
    schema_version: int
    version: int
    previous_id: int | None
    is_current: bool
    counted: bool
    late: bool
    value: dict[str, Any]
    lead_time_ms: int | None
    time_spent_ms: int | None
    client_created_at: datetime | None
    created_at: datetime


class SubmitOut(BaseModel):
    annotation: AnnotationOut
    replayed: bool = Field(description="True when this client_id was stored before and nothing new was stored.")


class BatchIn(BaseModel):
    annotations: list[AnnotationIn] = Field(max_length=500)


class BatchResultOut(BaseModel):
    client_id: str
    ok: bool
    annotation_id: int | None = None
    replayed: bool = False
    late: bool = Field(default=False, description="Arrived after its lease ended (kept; counted if still wanted).")
    counted: bool = Field(default=False, description="Counts towards the answers the task wants.")
    error: dict[str, Any] | None = None


class BatchOut(BaseModel):
    results: list[BatchResultOut]


class TaskOut(BaseModel):
    id: int
    state: str
    priority: int
    answers_wanted: int
    answers_count: int
    created_at: datetime
    updated_at: datetime


class ItemWithAnswersOut(BaseModel):
    task: TaskOut
    item: dict[str, Any]
    annotations: list[AnnotationOut]


class ItemPageOut(BaseModel):
    items: list[ItemWithAnswersOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")
