"""A project's dashboard, the JSON twin of the manager's progress page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kolam.api.deps import CurrentActor, ReadSession
from kolam.api.schemas.common import ERRORS
from kolam.api.schemas.dashboard import DashboardOut
from kolam.services import dashboard

router = APIRouter(tags=["projects"], responses=ERRORS)


@router.get("/projects/{project_id}/dashboard", response_model=DashboardOut)
def project_dashboard(
    project_id: int,
    session: ReadSession,
    actor: CurrentActor,
    hours: Annotated[int, Query(description=f"Window of answers_per_hour, 1 to {dashboard.MAX_HOURS}.")] = 48,
) -> DashboardOut:
    """Done and remaining, answers per hour over the window, and per annotator: answers, pace, skips."""
    return DashboardOut.model_validate(dashboard.project_dashboard(session, actor, project_id, hours=hours))
