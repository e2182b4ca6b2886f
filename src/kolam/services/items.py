"""Browsing a project's items with their answers: filters, keyset pagination, audited content reads."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from kolam.errors import Invalid, NotFound
from kolam.services import audit, media
from kolam.services.assignment import item_payload
from kolam.services.context import Actor
from kolam.services.projects import get_project
from kolam.store.tables import Annotation, AnswerLabel, Item, Lease, Project, Task

TASK_STATES = ("open", "done")
MAX_PAGE = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class ItemFilter:
    state: str | None = None
    annotator_id: int | None = None
    label: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    @property
    def by_created(self) -> bool:
        """Whether pages run in creation order (a creation-time bound is given) rather than item-id order."""
        return self.created_from is not None or self.created_to is not None


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: its last item, and that item's creation time in creation order."""

    item_id: int
    created_at: datetime | None = None


def encode_cursor(last_id: int, created_at: datetime | None = None) -> str:
    """The opaque cursor after an item: ``i:<id>`` in item-id order, ``c:<µs since 1970>:<id>`` in creation order."""
    raw = f"i:{last_id}" if created_at is None else f"c:{(created_at - _EPOCH) // _MICROSECOND}:{last_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, by_created: bool = False) -> Cursor | None:
    """The position a cursor names, if it is one this API made for a listing in the same order."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        if kind == "i":
            after = Cursor(int(value))
        elif kind == "c":
            micros, last_id = value.split(":")
            after = Cursor(int(last_id), _EPOCH + int(micros) * _MICROSECOND)
        else:
            raise ValueError(kind)
    except (ValueError, UnicodeDecodeError, OverflowError):
        raise Invalid("cursor is not one this API returned", field="cursor") from None
    if (after.created_at is not None) != by_created:
        raise Invalid(
            "cursor belongs to a listing in another order (created_from/created_to page by creation time); "
            "start again without a cursor",
            field="cursor",
        )
    return after


def _as_utc(value: datetime | None) -> datetime | None:
    """A timestamp from a request, a naive one read as UTC: the zone every stored timestamp is in."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def list_items(
    session: Session, actor: Actor, project_id: int, filters: ItemFilter, *, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of items and the cursor of the next page, or None at the end.

    Pages run in item-id order, or in (creation time, item id) order when a creation-time bound is given —
    the same order wherever items were created in id order, as imports create them. Each page is a walk
    along one index from the cursor on, so it costs the same at any depth: the annotator's answers
    (``ix_annotations_project_user``), else the label's rows (``ix_answer_labels_project_label``), else the
    state's tasks, else all tasks in id order; in creation order, the tasks in the time range
    (``ix_tasks_project_created``). The other filters are checked on the rows walked, so a sparse
    combination (an annotator with few answers of this label, a busy label in a narrow time range) walks
    past more rows before it fills a page — at most everything the driving filter matches.
    """
    actor.require("items.read")
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if filters.state is not None and filters.state not in TASK_STATES:
        raise Invalid(f"state must be one of {', '.join(TASK_STATES)}", field="state")
    filters = replace(filters, created_from=_as_utc(filters.created_from), created_to=_as_utc(filters.created_to))
    project = get_project(session, actor, project_id)
    after = decode_cursor(cursor, by_created=filters.by_created)
    if filters.by_created:
        tasks = _walk_by_created(session, project.id, filters, after, limit + 1)
    else:
        tasks = list(session.scalars(_walk_by_id(project.id, filters, after, limit + 1)))
    more = len(tasks) > limit
    tasks = tasks[:limit]
    rows = _with_items_and_answers(session, tasks)
    next_cursor = None
    if more and tasks:
        last = tasks[-1]
        next_cursor = encode_cursor(last.item_id, last.created_at if filters.by_created else None)
    # a page shows each item's content (texts, URLs), so it is a read of each, like opening the item
    audit.record_many(session, actor, "item.read", "item", [t.item_id for t in tasks], {"via": "list"})
    session.commit()
    return rows, next_cursor


def _answered_by(project_id: int, user_id: int, task_id: InstrumentedAttribute[int]) -> sa.Exists:
    return sa.exists().where(
        Annotation.project_id == project_id, Annotation.user_id == user_id, Annotation.task_id == task_id
    )


def _labelled(project_id: int, label: str, task_id: InstrumentedAttribute[int]) -> sa.Exists:
    """answer_labels holds the classes of current, counted answers only: an edit replaces its version's rows."""
    return sa.exists().where(
        AnswerLabel.project_id == project_id, AnswerLabel.label == label, AnswerLabel.task_id == task_id
    )


def _walk_by_id(project_id: int, filters: ItemFilter, after: Cursor | None, n: int) -> sa.Select[Task]:
    """The next ``n`` listed tasks in item-id order, driven by the annotator's or the label's index if given."""
    listed = [Task.project_id == project_id, Task.state != "staged"]
    if filters.state is not None:
        listed.append(Task.state == filters.state)
    driver: InstrumentedAttribute[int]
    if filters.annotator_id is not None:
        driver = Annotation.task_id
        walk = [Annotation.project_id == project_id, Annotation.user_id == filters.annotator_id]
        if filters.label is not None:
            walk.append(_labelled(project_id, filters.label, Annotation.task_id))
    elif filters.label is not None:
        driver = AnswerLabel.task_id
        walk = [AnswerLabel.project_id == project_id, AnswerLabel.label == filters.label]
    else:
        query = sa.select(Task).where(*listed)
        if after is not None:
            query = query.where(Task.item_id > after.item_id)
        return query.order_by(Task.item_id).limit(n)
    if after is not None:  # on both sides, so that a merge join (PostgreSQL's choice for dense labels) seeks both
        walk += [driver > after.item_id, Task.item_id > after.item_id]
    # one row per task however many versions or answers name it: grouped along the index, in its order
    page = (
        sa.select(driver.label("task_id"))
        .join(Task, Task.item_id == driver)
        .where(*walk, *listed)
        .group_by(driver)
        .order_by(driver)
        .limit(n)
        .subquery()
    )
    return sa.select(Task).join(page, Task.item_id == page.c.task_id).order_by(page.c.task_id)


def _walk_by_created(
    session: Session, project_id: int, filters: ItemFilter, after: Cursor | None, n: int
) -> list[Task]:
    """The next ``n`` listed tasks in (created_at, item_id) order, along ``ix_tasks_project_created``.

    After a cursor, in two seeks: the rest of its own creation time by id, then the later times. A
    row-value comparison would be one query, but SQLite seeks it on the time alone and would then step
    over every earlier item of that time — an import's whole chunk shares one.
    """
    query = sa.select(Task).where(Task.project_id == project_id, Task.state != "staged")
    if filters.state is not None:
        query = query.where(Task.state == filters.state)
    if filters.annotator_id is not None:
        query = query.where(_answered_by(project_id, filters.annotator_id, Task.item_id))
    if filters.label is not None:
        query = query.where(_labelled(project_id, filters.label, Task.item_id))
    lo, hi = filters.created_from, filters.created_to
    if hi is not None:
        query = query.where(Task.created_at < hi)
    tasks: list[Task] = []
    if after is not None and after.created_at is not None and (lo is None or lo <= after.created_at):
        if hi is None or after.created_at < hi:
            same = query.where(Task.created_at == after.created_at, Task.item_id > after.item_id)
            tasks = list(session.scalars(same.order_by(Task.item_id).limit(n)))
        query = query.where(Task.created_at > after.created_at)  # one lower bound, so the seek starts here
    elif lo is not None:
        query = query.where(Task.created_at >= lo)
    if len(tasks) < n:
        tasks += session.scalars(query.order_by(Task.created_at, Task.item_id).limit(n - len(tasks)))
    return tasks


def _with_items_and_answers(session: Session, tasks: Sequence[Task]) -> list[dict[str, Any]]:
    ids = [t.item_id for t in tasks]
    if not ids:
        return []
    items = {i.id: i for i in session.scalars(sa.select(Item).where(Item.id.in_(ids)))}
    sizes = media.display_sizes(session, ids)
    answers: dict[int, list[dict[str, Any]]] = {}
    for ann in session.scalars(
        sa.select(Annotation)
        .where(Annotation.task_id.in_(ids), Annotation.is_current.is_(True))
        .order_by(Annotation.id)
    ):
        answers.setdefault(ann.task_id, []).append(annotation_dict(ann))
    return [
        {
            "task": task_dict(t),
            "item": item_payload(items[t.item_id], sizes.get(t.item_id)),
            "annotations": answers.get(t.item_id, []),
        }
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
