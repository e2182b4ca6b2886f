"""Model versions, the learning status of a project, and guideline notes on confused pairs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class VersionOut(BaseModel):
    id: int
    version: int
    backend: str
    status: str = Field(description="candidate, active, retired, rejected or failed")
    classes: list[Any]
    training: dict[str, Any] = Field(description="The snapshot it learnt from: items, held-out gold, last answer id.")
    metrics: dict[str, Any] = Field(description="Cross-validated and held-out gold scores, recall per class.")
    confusion: list[Any] | None = Field(description="Rows: the class people settled; columns: the model's class.")
    calibration: dict[str, Any] | None
    thresholds: dict[str, Any] | None = Field(description="Auto-accept per class, with its evidence and audits.")
    comparison: dict[str, Any] | None = Field(description="Against the version active when this one was trained.")
    error: str | None
    created_at: str
    promoted_at: str | None


class RunOut(BaseModel):
    """What a training or pre-labelling run did (or that it was queued)."""

    queued: bool = False
    result: dict[str, Any] | None = None


class GuidelineIn(BaseModel):
    classes: list[str] = Field(min_length=2, max_length=2, description="The two classes the note is about.")
    note: str = Field(description="What annotators should look at to tell them apart; empty removes the note.")


class GuidelineOut(BaseModel):
    classes: list[str]
    note: str
