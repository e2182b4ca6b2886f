"""Bulk writes for imports, where per-row ORM work would cost more than the database itself.

Neither database is asked beforehand which contents it already holds: rows go in with ``ON CONFLICT
(project_id, content_hash) DO NOTHING`` and only the rows that did not go in are looked up, so an import into
a project without those contents costs one index probe a row. SQLite takes the raw driver path: the
caller's transaction holds the write lock (BEGIN IMMEDIATE), so ids are allocated up front and the rows that
went in are the ids present afterwards. PostgreSQL sends a chunk as arrays (``unnest``) in one statement and
learns what went in from ``RETURNING``, which stays right when two imports race on the same content.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.store.tables import Item, Task
from kolam.store.types import sqlite_timestamp

# One item as the import builds it: its position in the chunk, then these columns (meta as JSON text).
ITEM_ROW = ("position", "content_hash", "media", "text", "blob_key", "mime_type", "url", "size_bytes",
            "external_id", "meta")  # fmt: skip
ItemRow = tuple[int, str, str, str | None, str | None, str | None, str | None, int | None, str | None, str]
IN_CHUNK = 500
PRIORITY_SQL = "json_extract(value, '$[1]')"
PG_TYPES = ("text", "text", "text", "text", "text", "text", "bigint", "text", "jsonb")
TASK_COLUMNS = ("item_id, project_id, state, priority, is_gold, answers_wanted, answers_count, open_slots, "
                "created_at, updated_at")  # fmt: skip


@dataclass(frozen=True)
class Staging:
    """Where an import's rows go: its ids, the tasks' overlap, and the time stamped on them."""

    import_id: int
    org_id: int
    project_id: int
    overlap: int
    now: datetime


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


def stage_items(
    session: Session, to: Staging, rows: Sequence[ItemRow], priorities: Sequence[int]
) -> dict[int, int | None]:
    """Insert items with 'staged' tasks; rows are unique by content among themselves, positions 0..n-1.

    Returns the rows left out because the project holds their content: {position: that item's id, or None
    when it is gone again (another import that raced this one was discarded)}.
    """
    if not rows:
        return {}
    if session.get_bind().dialect.name == "sqlite":
        return _stage_sqlite(session, to, rows, priorities)
    return _stage_postgresql(session, to, rows, priorities)


def _stage_sqlite(
    session: Session, to: Staging, rows: Sequence[ItemRow], priorities: Sequence[int]
) -> dict[int, int | None]:
    connection = session.connection()
    first = int(connection.exec_driver_sql("SELECT COALESCE(MAX(id), 0) + 1 FROM items").scalar_one())
    last = first + len(rows) - 1
    stamp = sqlite_timestamp(to.now)
    # The chunk goes in as one JSON array, unpacked by SQLite: one statement, during which the driver lets go
    # of the GIL (executemany takes it back for every row), so the next chunk is read meanwhile. Constants are
    # written into the statement: integers, and a timestamp of our own making.
    ints = (int(to.org_id), int(to.project_id), int(to.import_id))
    values = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(1, len(ITEM_ROW)))
    result = connection.exec_driver_sql(
        f"INSERT INTO items (id, org_id, project_id, import_id, {', '.join(ITEM_ROW[1:])}, created_at)"
        f" SELECT {first} + json_extract(value, '$[0]'), {ints[0]}, {ints[1]}, {ints[2]}, {values}, '{stamp}'"
        " FROM json_each(?) WHERE true ON CONFLICT (project_id, content_hash) DO NOTHING",
        (orjson.dumps(rows).decode(),),
    )
    left_out: dict[int, int | None] = {}
    if result.rowcount != len(rows):
        present = connection.exec_driver_sql("SELECT id FROM items WHERE id BETWEEN ? AND ?", (first, last))
        went_in = {item_id - first for (item_id,) in present}
        by_hash = {rows[p][1]: p for p in range(len(rows)) if p not in went_in}
        left_out = dict.fromkeys(by_hash.values())
        for content_hash, item_id in existing_items(session, to.project_id, list(by_hash)).items():
            left_out[by_hash[content_hash]] = item_id

    def task(priority: str) -> str:
        return f"'staged', {priority}, 0, {int(to.overlap)}, 0, {int(to.overlap)}, '{stamp}', '{stamp}'"

    if min(priorities) == max(priorities):  # the usual case: no row crosses from Python at all
        connection.exec_driver_sql(
            f"INSERT INTO tasks ({TASK_COLUMNS}) SELECT id, project_id, {task('?')} FROM items"
            " WHERE id BETWEEN ? AND ?",
            (priorities[0], first, last),
        )
    else:
        tasks = [(first + p, priorities[p]) for p in range(len(rows)) if p not in left_out]
        connection.exec_driver_sql(
            f"INSERT INTO tasks ({TASK_COLUMNS}) SELECT json_extract(value, '$[0]'), {ints[1]},"
            f" {task(PRIORITY_SQL)} FROM json_each(?)",
            (orjson.dumps(tasks).decode(),),
        )
    return left_out


def _stage_postgresql(
    session: Session, to: Staging, rows: Sequence[ItemRow], priorities: Sequence[int]
) -> dict[int, int | None]:
    columns = list(zip(*rows, strict=True))
    arrays = ", ".join(f"CAST(:c{i} AS {kind}[])" for i, kind in enumerate(PG_TYPES, start=1))
    inserted = session.execute(
        sa.text(
            f"INSERT INTO items (org_id, project_id, import_id, {', '.join(ITEM_ROW[1:])}, created_at)"
            f" SELECT :org_id, :project_id, :import_id, r.*, :now FROM unnest({arrays}) AS r"
            " ON CONFLICT (project_id, content_hash) DO NOTHING RETURNING id, content_hash"
        ),
        {
            "org_id": to.org_id,
            "project_id": to.project_id,
            "import_id": to.import_id,
            "now": to.now,
            **{f"c{i}": list(column) for i, column in enumerate(columns[1:], start=1)},
        },
    ).all()
    position = {row[1]: row[0] for row in rows}
    new_ids = {position[content_hash]: item_id for item_id, content_hash in inserted}
    left_out: dict[int, int | None] = {}
    if len(new_ids) != len(rows):
        missing = [row[1] for row in rows if row[0] not in new_ids]
        left_out = {position[h]: None for h in missing}
        for content_hash, item_id in session.execute(
            sa.text(
                "SELECT i.content_hash, i.id FROM unnest(CAST(:hashes AS text[])) AS h(content_hash)"
                " JOIN items i ON i.project_id = :project_id AND i.content_hash = h.content_hash"
            ),
            {"hashes": missing, "project_id": to.project_id},
        ):
            left_out[position[content_hash]] = item_id
    if new_ids:
        session.execute(
            sa.text(
                f"INSERT INTO tasks ({TASK_COLUMNS}) SELECT t.id, :project_id, 'staged', t.priority, false,"
                " :overlap, 0, :overlap, :now, :now"
                " FROM unnest(CAST(:ids AS bigint[]), CAST(:priorities AS integer[])) AS t(id, priority)"
            ),
            {
                "ids": list(new_ids.values()),
                "priorities": [priorities[p] for p in new_ids],
                "project_id": to.project_id,
                "overlap": to.overlap,
                "now": to.now,
            },
        )
    return left_out


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
