"""Bulk writes for imports, where per-row ORM work would cost more than the database itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kolam.store.tables import Item, Task


def insert_new_items(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert items, skipping those whose content the project already has; returns {content_hash: new id}."""
    if not rows:
        return {}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(Item) if dialect == "postgresql" else sqlite.insert(Item)
    stmt = insert.on_conflict_do_nothing(index_elements=["project_id", "content_hash"]).returning(
        Item.id, Item.content_hash
    )
    result = session.execute(stmt, list(rows))
    return {content_hash: item_id for item_id, content_hash in result}


def insert_tasks(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(sa.insert(Task), list(rows))


def existing_items(session: Session, project_id: int, hashes: Sequence[str]) -> dict[str, int]:
    """Which of these contents the project already holds: {content_hash: item id}."""
    found: dict[str, int] = {}
    for start in range(0, len(hashes), 500):
        chunk = hashes[start : start + 500]
        rows = session.execute(
            sa.select(Item.content_hash, Item.id).where(Item.project_id == project_id, Item.content_hash.in_(chunk))
        )
        found.update({h: i for h, i in rows})
    return found


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
