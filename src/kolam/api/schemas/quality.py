"""Gold answers, consensus, review and the quality report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from kolam.api.schemas.common import Out


class GoldIn(BaseModel):
    item_id: int | None = Field(default=None, description="The item, by Kolam's id…")
    external_id: str | None = Field(default=None, description="…or by the id it was imported with.")
    value: dict[str, Any] = Field(description="The known answer, in the shape of an annotation's value.")


class GoldSetIn(BaseModel):
    gold: list[GoldIn]


class GoldRemoveIn(BaseModel):
    item_ids: list[int]


class GoldOut(Out):
    task_id: int
    value: dict[str, Any]
    created_at: datetime


class CountOut(BaseModel):
    count: int


class ConsensusOut(Out):
    task_id: int
    value: dict[str, Any]
    confidence: float
    method: str
    status: str = Field(description="agreed, aggregated or reviewed")
    answers: int
    posterior: dict[str, Any] | None
    review_state: str = Field(description="none, queued or done")
    review_reason: str | None = Field(description="flagged, low_confidence, disagreement or sample")
    updated_at: datetime


class QueuedOut(ConsensusOut):
    external_id: str | None = Field(description="The item's id in the client's data.")


class ReviewQueueOut(BaseModel):
    counts: dict[str, int] = Field(description="Items waiting, per reason.")
    items: list[QueuedOut]


class ReviewIn(BaseModel):
    verdict: str = Field(description="accept, reject or correct")
    value: dict[str, Any] | None = Field(default=None, description="The corrected answer (verdict 'correct').")
    note: str = ""


class ReviewOut(Out):
    id: int
    task_id: int
    verdict: str
    value: dict[str, Any] | None
    reason: str | None
    note: str
    created_at: datetime


class ResolveOut(BaseModel):
    project_id: int
    items: int
    answers: int
    annotators: int
    queued_for_review: int
    method: str


class StandingOut(BaseModel):
    required: bool
    status: str = Field(description="not_required, not_started, testing, passed or failed")
    items: int
    answered: int
    pass_accuracy: float
    paused: bool
    paused_reason: str | None
