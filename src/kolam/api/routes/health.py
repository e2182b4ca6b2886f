"""Liveness and readiness for load balancers and the demo."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter

from kolam import __version__
from kolam.api.deps import ReadSession

router = APIRouter(tags=["health"])


@router.get("/health")
def health(session: ReadSession) -> dict[str, str]:
    session.execute(sa.text("SELECT 1"))
    return {"status": "ok", "version": __version__}
