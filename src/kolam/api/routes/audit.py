"""The organization's audit trail, for owners and managers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from kolam.api.deps import CurrentActor, ReadSession
from kolam.api.schemas.accounts import AuditEventOut
from kolam.api.schemas.common import ERRORS
from kolam.services import audit

router = APIRouter(tags=["audit"], responses=ERRORS)


@router.get("/audit", response_model=list[AuditEventOut])
def list_events(
    session: ReadSession,
    actor: CurrentActor,
    after_id: int | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: Annotated[
        datetime | None, Query(description="Events at or after this time (ISO 8601; without an offset, UTC).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEventOut]:
    """Events in order; pass the last id seen as `after_id` for the next page."""
    events = audit.list_events(
        session, actor, after_id=after_id, limit=limit, object_type=object_type, object_id=object_id, since=since
    )
    return [AuditEventOut.model_validate(e) for e in events]
