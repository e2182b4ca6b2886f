"""A project's dashboard: progress, answers per hour, and each annotator's pace."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from kolam.api.schemas.common import Out
from kolam.api.schemas.projects import ProjectStatsOut


class HourCountOut(Out):
    hour: datetime = Field(description="Start of the hour, UTC.")
    answers: int


class AnnotatorStatsOut(Out):
    user_id: int
    name: str = Field(description="Name or e-mail for member managers; else the pseudonym exports use (a17).")
    email: str | None = Field(description="Only for those who manage members.")
    answers: int = Field(description="Answers given (an edit is the same answer, not counted again).")
    recent_answers: int = Field(description="Answers given within the window.")
    active_ms: int = Field(description="Active time on the answers (sum of time_spent_ms).")
    answers_per_hour: float | None = Field(description="Answers per hour of active time; null without timings.")
    median_time_ms: float | None
    mean_time_ms: float | None
    skips: int
    last_answer_at: datetime | None


class DashboardOut(Out):
    project_id: int
    hours: int = Field(description="Length of the window in hours, the current hour included.")
    since: datetime = Field(description="Start of the window (the first hour of answers_per_hour).")
    counts: ProjectStatsOut
    answers_per_hour: list[HourCountOut]
    annotators: list[AnnotatorStatsOut]
