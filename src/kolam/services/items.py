"""Browsing a project's items with their answers: filters, keyset pagination, audited content reads."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.errors import Invalid, NotFound
from kolam.services import audit
from kolam.services.assignment import item_payload
from kolam.services.context import Actor
from kolam.services.projects import get_project
from kolam.store.tables import Annotation, AnswerLabel, Item, Lease, Project, Task

TASK_STATES = ("open", "done")
MAX_PAGE = 500


@dataclass(frozen=True)
class ItemFilter:
    state: str | None = None
    annotator_id: int | None = None
    label: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"i:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        if kind != "i":
            raise ValueError(kind)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise Invalid("cursor is not one this API returned", field="cursor") from None


def list_items(
    session: Session, actor: Actor, project_id: int, filters: ItemFilter, *, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of items (newest id last) and the cursor of the next page, or None at the end.

    Each filter is an indexed walk in item-id order, so a page costs the same at any depth and size.
    """
    actor.require("items.read")
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if filters.state is not None and filters.state not in TASK_STATES:
        raise Invalid(f"state must be one of {', '.join(TASK_STATES)}", field="state")
    project = get_project(session, actor, project_id)
    after = decode_cursor(cursor)
    query = sa.select(Task).where(Task.project_id == project.id, Task.state != "staged")
    if filters.state is not None:
        query = query.where(Task.state == filters.state)
    if filters.annotator_id is not None:
        query = query.where(
            sa.exists().where(
                Annotation.project_id == project.id,
                Annotation.user_id == filters.annotator_id,
                Annotation.task_id == Task.item_id,
            )
        )
    if filters.label is not None:
        query = query.where(
            sa.exists().where(
                AnswerLabel.project_id == project.id,
                AnswerLabel.label == filters.label,
                AnswerLabel.task_id == Task.item_id,
            )
        )
    if filters.created_from is not None:
        query = query.where(Task.created_at >= filters.created_from)
    if filters.created_to is not None:
        query = query.where(Task.created_at < filters.created_to)
    if after is not None:
        query = query.where(Task.item_id > after)
    tasks = session.scalars(query.order_by(Task.item_id).limit(limit + 1)).all()
    more = len(tasks) > limit
    tasks = tasks[:limit]
    rows = _with_items_and_answers(session, tasks)
    next_cursor = encode_cursor(tasks[-1].item_id) if more and tasks else None
    return rows, next_cursor


def _with_items_and_answers(session: Session, tasks: Sequence[Task]) -> list[dict[str, Any]]:
    ids = [t.item_id for t in tasks]
    if not ids:
        return []
    items = {i.id: i for i in session.scalars(sa.select(Item).where(Item.id.in_(ids)))}
    answers: dict[int, list[dict[str, Any]]] = {}
    for ann in session.scalars(
        sa.select(Annotation)
        .where(Annotation.task_id.in_(ids), Annotation.is_current.is_(True))
        .order_by(Annotation.id)
    ):
        answers.setdefault(ann.task_id, []).append(annotation_dict(ann))
    return [
        {"task": task_dict(t), "item": item_payload(items[t.item_id]), "annotations": answers.get(t.item_id, [])}
        for t in tasks
    ]


def task_dict(task: Task) -> dict[str, Any]:
    return {
        "id": task.item_id,
        "state": task.state,
        "priority": task.priority,
        "answers_wanted": task.answers_wanted,
        "answers_count": task.answers_count,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
    }


def annotation_dict(ann: Annotation) -> dict[str, Any]:
    return {
        "id": ann.id,
        "task_id": ann.task_id,
        "user_id": ann.user_id,
        "client_id": ann.client_id,
        "schema_version": ann.schema_version,
        "version": ann.version,
        "previous_id": ann.previous_id,
        "is_current": ann.is_current,
        "counted": ann.counted,
        "late": ann.late,
        "value": ann.value,
        "lead_time_ms": ann.lead_time_ms,
        "time_spent_ms": ann.time_spent_ms,
        "client_created_at": ann.client_created_at,
        "created_at": ann.created_at,
    }


def get_item(session: Session, actor: Actor, item_id: int) -> dict[str, Any]:
    actor.require("items.read")
    task = session.scalar(
        sa.select(Task)
        .join(Project, Project.id == Task.project_id)
        .where(Task.item_id == item_id, Project.org_id == actor.org_id, Task.state != "staged")
    )
    if task is None:
        raise NotFound(f"no item {item_id}", field="item_id")
    (row,) = _with_items_and_answers(session, [task])
    audit.record(session, actor, "item.read", "item", item_id, {"via": "browse"})
    session.commit()
    return row


def item_for_content(session: Session, actor: Actor, item_id: int) -> Item:
    """The item whose media the actor wants, if they may see it: readers, or whoever holds its lease."""
    item = session.scalar(
        sa.select(Item)
        .join(Project, Project.id == Item.project_id)
        .where(Item.id == item_id, Project.org_id == actor.org_id)
    )
    if item is None:
        raise NotFound(f"no item {item_id}", field="item_id")
    if not actor.can("items.read"):
        leased = session.scalar(sa.select(Lease.id).where(Lease.task_id == item_id, Lease.user_id == actor.user_id))
        if leased is None:
            raise NotFound(f"no item {item_id}", field="item_id")
    audit.record(session, actor, "item.content", "item", item_id)
    session.commit()
    return item
