"""The assignment queue's SQL: claiming tasks atomically, and returning slots of leases that ended.

Correctness rests on ``tasks.open_slots`` (answers wanted − answers counted − active leases): a claim takes a
slot only from a task that has one. SQLite serialises claims because the caller's transaction began with
``BEGIN IMMEDIATE``; PostgreSQL locks the chosen task rows with ``FOR UPDATE SKIP LOCKED`` so concurrent
claimers pass each other instead of queueing, and re-checks ``open_slots`` on the locked row version.
Picking is one walk down the partial index ``ix_tasks_queue``: cost does not grow with the project.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.store.types import sqlite_timestamp

# Literals (not bound parameters) in the WHERE clause let SQLite see that the partial index applies.
_PICK = """
SELECT t.item_id FROM tasks t
WHERE t.project_id = :project_id AND t.is_gold = {gold} AND t.state = 'open' AND t.open_slots > 0
  AND NOT EXISTS (
    SELECT 1 FROM leases l
    WHERE l.task_id = t.item_id AND l.user_id = :user_id AND l.status IN ('active', 'submitted', 'skipped')
  )
ORDER BY t.priority DESC, t.item_id
LIMIT :limit
"""


def pick_tasks(session: Session, project_id: int, user_id: int, limit: int, *, gold: bool) -> list[int]:
    """Choose up to ``limit`` tasks for this user and lock them (PostgreSQL) until the transaction ends."""
    dialect = session.get_bind().dialect.name
    sql = _PICK.format(gold="TRUE" if gold else "FALSE")
    if dialect == "postgresql":
        # Two requests of the same person must not both pick the same task: serialise them per person.
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k1, :k2)"), {"k1": project_id, "k2": user_id})
        sql += " FOR UPDATE OF t SKIP LOCKED"
    else:
        sql = sql.replace("= TRUE", "= 1").replace("= FALSE", "= 0")
    rows = session.execute(sa.text(sql), {"project_id": project_id, "user_id": user_id, "limit": limit})
    return [row[0] for row in rows]


def take_slots(session: Session, task_ids: Sequence[int], now: datetime) -> None:
    session.execute(
        sa.text("UPDATE tasks SET open_slots = open_slots - 1, updated_at = :now WHERE item_id IN :ids").bindparams(
            sa.bindparam("ids", expanding=True)
        ),
        {"ids": list(task_ids), "now": _ts(session, now)},
    )


def return_slots(session: Session, task_ids: Sequence[int], now: datetime) -> None:
    """Give slots back (one per id; an id may repeat)."""
    counts: dict[int, int] = {}
    for task_id in task_ids:
        counts[task_id] = counts.get(task_id, 0) + 1
    by_count: dict[int, list[int]] = {}
    for task_id, n in counts.items():
        by_count.setdefault(n, []).append(task_id)
    for n, ids in by_count.items():
        session.execute(
            sa.text(
                "UPDATE tasks SET open_slots = open_slots + :n, updated_at = :now WHERE item_id IN :ids"
            ).bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": ids, "n": n, "now": _ts(session, now)},
        )


def upsert_leases(
    session: Session, project_id: int, user_id: int, task_ids: Sequence[int], now: datetime, expires: datetime
) -> dict[int, int]:
    """Create (or revive an expired/released) lease per task; returns {task_id: lease_id}."""
    if not task_ids:
        return {}
    sql = sa.text(
        """
        INSERT INTO leases (task_id, project_id, user_id, status, leased_at, expires_at, renewals)
        VALUES (:task_id, :project_id, :user_id, 'active', :now, :expires, 0)
        ON CONFLICT (task_id, user_id) DO UPDATE SET
          status = 'active', leased_at = excluded.leased_at, expires_at = excluded.expires_at,
          ended_at = NULL, renewals = 0, skip_reason = NULL
        """
    )
    stamp, until = _ts(session, now), _ts(session, expires)
    session.execute(
        sql,
        [
            {"task_id": t, "project_id": project_id, "user_id": user_id, "now": stamp, "expires": until}
            for t in task_ids
        ],
    )
    rows = session.execute(
        sa.text("SELECT task_id, id FROM leases WHERE user_id = :user_id AND task_id IN :ids").bindparams(
            sa.bindparam("ids", expanding=True)
        ),
        {"user_id": user_id, "ids": list(task_ids)},
    )
    return {task_id: lease_id for task_id, lease_id in rows}


def expire_leases(session: Session, project_id: int, now: datetime) -> list[int]:
    """End leases past their time and return their tasks' slots; returns the tasks concerned."""
    rows = session.execute(
        sa.text(
            "UPDATE leases SET status = 'expired', ended_at = :now "
            "WHERE project_id = :project_id AND status = 'active' AND expires_at < :now RETURNING task_id"
        ),
        {"project_id": project_id, "now": _ts(session, now)},
    )
    task_ids = [row[0] for row in rows]
    if task_ids:
        return_slots(session, task_ids, now)
    return task_ids


def _ts(session: Session, value: datetime) -> datetime | str:
    """Timestamps in raw SQL: naive UTC text on SQLite (as UTCDateTime stores them), aware on PostgreSQL."""
    return sqlite_timestamp(value) if session.get_bind().dialect.name == "sqlite" else value
