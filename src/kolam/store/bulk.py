"""Bulk writes for imports, where per-row ORM work would cost more than the database itself.

SQLite takes the raw driver path: the caller's transaction holds the write lock (BEGIN IMMEDIATE), so ids
can be allocated up front and rows sent with one ``executemany`` per table. PostgreSQL inserts through
Core with ``ON CONFLICT DO NOTHING RETURNING``, which stays right when two imports race on the same content.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from kolam.store.tables import Item, Task
from kolam.store.types import sqlite_timestamp

ITEM_COLUMNS = ("org_id", "project_id", "import_id", "content_hash", "media", "text", "blob_key", "mime_type",
                "url", "size_bytes", "external_id", "meta")  # fmt: skip
IN_CHUNK = 500
ITEMS = cast(sa.Table, Item.__table__)
TASKS = cast(sa.Table, Task.__table__)


def existing_items(session: Session, project_id: int, hashes: Sequence[str]) -> dict[str, int]:
    """Which of these contents the project already holds: {content_hash: item id}."""
    found: dict[str, int] = {}
    for start in range(0, len(hashes), IN_CHUNK):
        chunk = hashes[start : start + IN_CHUNK]
        rows = session.execute(
            sa.select(Item.content_hash, Item.id).where(Item.project_id == project_id, Item.content_hash.in_(chunk))
        )
        found.update({h: i for h, i in rows})
    return found


def insert_items(session: Session, rows: Sequence[dict[str, Any]], now: datetime) -> dict[str, int]:
    """Insert items whose content the project lacks (the caller filtered); returns {content_hash: new id}."""
    if not rows:
        return {}
    if session.get_bind().dialect.name == "sqlite":
        return _insert_items_sqlite(session, rows, now)
    stmt = (
        postgresql.insert(ITEMS)
        .on_conflict_do_nothing(index_elements=["project_id", "content_hash"])
        .returning(ITEMS.c.id, ITEMS.c.content_hash)
    )
    result = session.execute(stmt, [{**row, "created_at": now} for row in rows])
    return {content_hash: item_id for item_id, content_hash in result}


def _insert_items_sqlite(session: Session, rows: Sequence[dict[str, Any]], now: datetime) -> dict[str, int]:
    connection = session.connection()
    first = (connection.exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM items").scalar() or 0) + 1
    stamp = sqlite_timestamp(now)
    values = [
        (first + i, *(row.get(c) for c in ITEM_COLUMNS[:-1]), orjson.dumps(row.get("meta") or {}).decode(), stamp)
        for i, row in enumerate(rows)
    ]
    columns = ", ".join(("id", *ITEM_COLUMNS, "created_at"))
    marks = ", ".join("?" * (len(ITEM_COLUMNS) + 2))
    connection.exec_driver_sql(f"INSERT INTO items ({columns}) VALUES ({marks})", values)
    return {row["content_hash"]: first + i for i, row in enumerate(rows)}


def insert_tasks(
    session: Session, project_id: int, tasks: Sequence[tuple[int, int]], overlap: int, now: datetime
) -> None:
    """Staged tasks for new items: (item id, priority) pairs."""
    if not tasks:
        return
    if session.get_bind().dialect.name == "sqlite":
        stamp = sqlite_timestamp(now)
        session.connection().exec_driver_sql(
            "INSERT INTO tasks (item_id, project_id, state, priority, is_gold, answers_wanted, answers_count,"
            " open_slots, created_at, updated_at) VALUES (?, ?, 'staged', ?, 0, ?, 0, ?, ?, ?)",
            [(item_id, project_id, priority, overlap, overlap, stamp, stamp) for item_id, priority in tasks],
        )
        return
    session.execute(
        sa.insert(TASKS),
        [
            {"item_id": item_id, "project_id": project_id, "state": "staged", "priority": priority, "is_gold": False,
             "answers_wanted": overlap, "answers_count": 0, "open_slots": overlap, "created_at": now,
             "updated_at": now}
            for item_id, priority in tasks
        ],
    )  # fmt: skip


def publish_import(session: Session, import_id: int) -> int:
    """Make an import's staged tasks visible to annotators, in one statement."""
    staged = sa.select(Item.id).where(Item.import_id == import_id).scalar_subquery()
    result = session.execute(
        sa.update(Task).where(Task.item_id.in_(staged), Task.state == "staged").values(state="open"),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def discard_import(session: Session, import_id: int) -> int:
    """Remove every item (and so task) a failed import staged."""
    session.execute(
        sa.delete(Task).where(Task.item_id.in_(sa.select(Item.id).where(Item.import_id == import_id))),
        execution_options={"synchronize_session": False},
    )
    result = session.execute(
        sa.delete(Item).where(Item.import_id == import_id), execution_options={"synchronize_session": False}
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
