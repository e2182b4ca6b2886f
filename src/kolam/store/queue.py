"""The assignment queue's SQL: claiming tasks atomically, and returning slots of leases that ended.

Correctness rests on ``tasks.open_slots`` (answers wanted − answers counted − active leases): a claim takes a
slot only from a task that has one. SQLite serialises claims because the caller's transaction began with
``BEGIN IMMEDIATE``; PostgreSQL locks the chosen task rows with ``FOR NO KEY UPDATE SKIP LOCKED`` so concurrent
claimers pass each other instead of queueing, and re-checks ``open_slots`` on the locked row version.
Picking is one walk down the partial index ``ix_tasks_queue``: cost does not grow with the project.
Every writer locks a task before touching its leases (claim, submit, renew, skip, expiry sweep), so on
PostgreSQL they may wait for each other but never deadlock. The locks are ``NO KEY UPDATE`` (no key column
changes), which rows referring to a task (answers, consensus) do not conflict with: ``FOR UPDATE`` would make
a claim skip every task whose consensus a refresh job is writing at that moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

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

# SQLite: the caller's BEGIN IMMEDIATE already excludes every other writer, so pick and take in one statement.
_CLAIM_SQLITE = """
UPDATE tasks SET open_slots = open_slots - 1, updated_at = :now
WHERE item_id IN ({pick})
RETURNING item_id, priority
"""

# PostgreSQL: lock the picked rows, passing over those another claimer holds; the lock re-checks the WHERE
# clause on the newest row version, so a slot taken meanwhile is never taken twice.
_CLAIM_POSTGRESQL = """
WITH picked AS ({pick} FOR NO KEY UPDATE OF t SKIP LOCKED)
UPDATE tasks SET open_slots = tasks.open_slots - 1, updated_at = :now
FROM picked WHERE tasks.item_id = picked.item_id
RETURNING tasks.item_id, tasks.priority
"""


_ADVISORY_LOCK = sa.text("SELECT pg_advisory_xact_lock(:k1, :k2)")


@lru_cache(maxsize=4)
def _claim_sql(dialect: str, gold: bool) -> sa.TextClause:
    if dialect == "postgresql":
        return sa.text(_CLAIM_POSTGRESQL.format(pick=_PICK.format(gold="TRUE" if gold else "FALSE")))
    return sa.text(_CLAIM_SQLITE.format(pick=_PICK.format(gold="1" if gold else "0")))


def claim_tasks(
    session: Session, project_id: int, user_id: int, limit: int, now: datetime, *, gold: bool
) -> list[tuple[int, int]]:
    """Take one slot on each of up to ``limit`` tasks for this user: ``(task_id, priority)``, best first."""
    if limit <= 0:
        return []
    conn = session.connection()
    dialect = conn.dialect.name
    if dialect == "postgresql":
        # Two requests of the same person must not both pick the same task: serialise them per person.
        conn.execute(_ADVISORY_LOCK, {"k1": project_id, "k2": user_id})
    rows = conn.execute(
        _claim_sql(dialect, gold),
        {"project_id": project_id, "user_id": user_id, "limit": limit, "now": _ts(session, now)},
    ).all()
    return sorted(((item_id, priority) for item_id, priority in rows), key=lambda r: (-r[1], r[0]))


def lock_tasks(session: Session, task_ids: Sequence[int]) -> None:
    """Lock task rows in id order (PostgreSQL), the order every writer of tasks and leases follows.

    Whoever changes a lease first holds its task: claims, submits, renewals, skips and the expiry sweep
    all lock tasks before leases, so they can wait for each other but never deadlock.
    """
    if task_ids and session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.text("SELECT item_id FROM tasks WHERE item_id IN :ids ORDER BY item_id FOR NO KEY UPDATE").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": sorted(task_ids)},
        )


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


@lru_cache(maxsize=128)
def _upsert_leases_sql(n: int) -> sa.TextClause:
    """INSERT … ON CONFLICT … RETURNING for ``n`` leases, one statement (SQLite and PostgreSQL alike)."""
    values = ", ".join(f"(:t{i}, :project_id, :user_id, 'active', :now, :expires, 0)" for i in range(n))
    return sa.text(
        f"""
        INSERT INTO leases (task_id, project_id, user_id, status, leased_at, expires_at, renewals)
        VALUES {values}
        ON CONFLICT (task_id, user_id) DO UPDATE SET
          status = 'active', leased_at = excluded.leased_at, expires_at = excluded.expires_at,
          ended_at = NULL, renewals = 0, skip_reason = NULL
        RETURNING task_id, id
        """
    )


def upsert_leases(
    session: Session, project_id: int, user_id: int, task_ids: Sequence[int], now: datetime, expires: datetime
) -> dict[int, int]:
    """Create (or revive an expired/released) lease per task; returns {task_id: lease_id}."""
    if not task_ids:
        return {}
    params: dict[str, object] = {f"t{i}": task_id for i, task_id in enumerate(task_ids)}
    params.update(project_id=project_id, user_id=user_id, now=_ts(session, now), expires=_ts(session, expires))
    rows = session.connection().execute(_upsert_leases_sql(len(task_ids)), params)
    return {task_id: lease_id for task_id, lease_id in rows}


def expire_leases(session: Session, project_id: int, now: datetime, *, limit: int = 1000) -> list[int]:
    """End leases past their time and return their tasks' slots; returns the tasks concerned.

    Tasks someone is working on right now (locked) are left for the next sweep rather than waited for.
    """
    due = [
        row[0]
        for row in session.execute(
            sa.text(
                "SELECT task_id FROM leases WHERE project_id = :project_id AND status = 'active' "
                "AND expires_at < :now ORDER BY task_id LIMIT :limit"
            ),
            {"project_id": project_id, "now": _ts(session, now), "limit": limit},
        )
    ]
    if not due:
        return []
    if session.get_bind().dialect.name == "postgresql":
        due = [
            row[0]
            for row in session.execute(
                sa.text(
                    "SELECT item_id FROM tasks WHERE item_id IN :ids ORDER BY item_id FOR NO KEY UPDATE SKIP LOCKED"
                ).bindparams(sa.bindparam("ids", expanding=True)),
                {"ids": due},
            )
        ]
        if not due:
            return []
    rows = session.execute(
        sa.text(
            "UPDATE leases SET status = 'expired', ended_at = :now WHERE project_id = :project_id "
            "AND task_id IN :ids AND status = 'active' AND expires_at < :now RETURNING task_id"
        ).bindparams(sa.bindparam("ids", expanding=True)),
        {"project_id": project_id, "now": _ts(session, now), "ids": due},
    )
    task_ids = [row[0] for row in rows]
    if task_ids:
        return_slots(session, task_ids, now)
    return task_ids


def _ts(session: Session, value: datetime) -> datetime | str:
    """Timestamps in raw SQL: naive UTC text on SQLite (as UTCDateTime stores them), aware on PostgreSQL."""
    return sqlite_timestamp(value) if session.get_bind().dialect.name == "sqlite" else value
