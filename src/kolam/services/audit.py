"""The audit trail: who touched which data, when, from where. Rows are only ever inserted."""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.services.context import Actor
from kolam.store.tables import AuditEvent
from kolam.store.types import utcnow

_audit_events = cast(sa.Table, AuditEvent.__table__)
_INSERT_EVENTS = sa.insert(_audit_events)  # built once: every request writes events


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    object_type: str,
    object_id: int | str | None,
    details: dict[str, Any] | None = None,
    *,
    org_id: int | None = None,
    source: tuple[str, str | None, str | None] | None = None,
) -> None:
    """Add one event to the caller's transaction, so it commits (or not) with what it describes.

    ``source`` (via, ip, user agent) says where an event without an actor came from (a signed link, say);
    without it such events are the command line's."""
    record_each(session, actor, action, object_type, [(object_id, details)], org_id=org_id, source=source)


def record_many(
    session: Session,
    actor: Actor | None,
    action: str,
    object_type: str,
    object_ids: Iterable[int | str | None],
    details: dict[str, Any] | None = None,
    *,
    org_id: int | None = None,
) -> None:
    """One event per object, all with the same details."""
    record_each(session, actor, action, object_type, ((oid, details) for oid in object_ids), org_id=org_id)


def record_each(
    session: Session,
    actor: Actor | None,
    action: str,
    object_type: str,
    events: Iterable[tuple[int | str | None, dict[str, Any] | None]],
    *,
    org_id: int | None = None,
    source: tuple[str, str | None, str | None] | None = None,
) -> None:
    """One event per ``(object_id, details)`` pair, written in one statement."""
    now = utcnow()
    org = org_id if org_id is not None else (actor.org_id if actor else None)
    user_id = actor.user_id if actor else None
    if actor is not None:
        via, ip, agent = actor.via, actor.ip, (actor.user_agent or "")[:300]
    elif source is not None:
        via, ip, agent = source[0], source[1], (source[2] or "")[:300]
    else:
        via, ip, agent = "cli", None, f"os-user:{getpass.getuser()}"
    rows = [
        {
            "org_id": org,
            "user_id": user_id,
            "action": action,
            "object_type": object_type,
            "object_id": None if oid is None else str(oid),
            "via": via,
            "ip": ip,
            "user_agent": agent,
            "at": now,
            "details": details or {},
        }
        for oid, details in events
    ]
    if rows:
        session.connection().execute(_INSERT_EVENTS, rows)


def list_events(
    session: Session,
    actor: Actor,
    *,
    after_id: int | None = None,
    limit: int = 100,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
) -> Sequence[AuditEvent]:
    """The organization's events in id order; a naive ``since`` is read as UTC, the zone of every stored time."""
    actor.require("audit.read")
    query = sa.select(AuditEvent).where(AuditEvent.org_id == actor.org_id)
    if after_id is not None:
        query = query.where(AuditEvent.id > after_id)
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    if object_id:
        query = query.where(AuditEvent.object_id == object_id)
    if since is not None:
        query = query.where(AuditEvent.at >= (since.replace(tzinfo=UTC) if since.tzinfo is None else since))
    return session.scalars(query.order_by(AuditEvent.id).limit(limit)).all()
