"""Exports: every item of a project with all its answers, streamed page by page in flat memory.

Pages are keyset walks over the task primary key, each its own short read, so an export of millions of
items neither holds memory nor a long transaction. Predictions and consensus ride along for later stages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from kolam.services import audit
from kolam.services.context import Actor
from kolam.services.projects import get_project
from kolam.store.db import Database
from kolam.store.tables import Annotation, Item, Prediction, Task, User

PAGE = 2000


def start_export(
    db: Database, actor: Actor | None, project_id: int, *, format_name: str, org_id: int | None = None
) -> int:
    """Check access and record the export; returns the project id to stream."""
    with db.write() as session:
        if actor is not None:
            actor.require("exports.read")
        project = get_project(session, actor, project_id, org_id=org_id)
        audit.record(
            session, actor, "project.export", "project", project.id, {"format": format_name}, org_id=project.org_id
        )
        session.commit()
        return project.id


def iter_export_records(
    db: Database, project_id: int, *, history: bool = False, reveal_annotators: bool = False
) -> Iterator[dict[str, Any]]:
    """One record per item, in item order; current answers only unless ``history``.

    Annotators appear as stable pseudonyms (``a17``) unless ``reveal_annotators`` (the firm's own managers).
    """
    emails: dict[int, str] = {}
    after = 0
    while True:
        with db.read() as session:
            tasks = session.execute(
                sa.select(
                    Task.item_id,
                    Task.state,
                    Task.answers_wanted,
                    Task.answers_count,
                    Item.external_id,
                    Item.media,
                    Item.text,
                    Item.url,
                    Item.blob_key,
                    Item.mime_type,
                    Item.meta,
                )
                .join(Item, Item.id == Task.item_id)
                .where(Task.project_id == project_id, Task.state != "staged", Task.item_id > after)
                .order_by(Task.item_id)
                .limit(PAGE)
            ).all()
            if not tasks:
                return
            first, last = tasks[0].item_id, tasks[-1].item_id
            answers = _answers(session, project_id, first, last, history, emails if reveal_annotators else None)
            predictions = _predictions(session, project_id, first, last)
        for t in tasks:
            data: dict[str, Any] = {"media": t.media}
            if t.text is not None:
                data["text"] = t.text
            if t.url is not None:
                data["url"] = t.url
            if t.blob_key is not None:
                data["blob"] = t.blob_key
                data["mime_type"] = t.mime_type
            if t.meta:
                data["meta"] = t.meta
            yield {
                "item_id": t.item_id,
                "external_id": t.external_id,
                "data": data,
                "task": {"state": t.state, "answers_wanted": t.answers_wanted, "answers_count": t.answers_count},
                "annotations": answers.get(t.item_id, []),
                "predictions": predictions.get(t.item_id, []),
                "consensus": None,
            }
        after = last


def _answers(
    session: Any, project_id: int, first: int, last: int, history: bool, emails: dict[int, str] | None
) -> dict[int, list[dict[str, Any]]]:
    query = sa.select(
        Annotation.id,
        Annotation.task_id,
        Annotation.user_id,
        Annotation.schema_version,
        Annotation.version,
        Annotation.previous_id,
        Annotation.is_current,
        Annotation.counted,
        Annotation.late,
        Annotation.value,
        Annotation.created_at,
        Annotation.client_created_at,
        Annotation.lead_time_ms,
        Annotation.time_spent_ms,
    ).where(Annotation.project_id == project_id, Annotation.task_id.between(first, last))
    if not history:
        query = query.where(Annotation.is_current.is_(True))
    out: dict[int, list[dict[str, Any]]] = {}
    rows = session.execute(query.order_by(Annotation.task_id, Annotation.id)).all()
    if emails is not None:
        unknown = {r.user_id for r in rows} - emails.keys()
        if unknown:
            emails.update(dict(session.execute(sa.select(User.id, User.email).where(User.id.in_(unknown))).all()))
    for r in rows:
        who = emails.get(r.user_id, f"a{r.user_id}") if emails is not None else f"a{r.user_id}"
        out.setdefault(r.task_id, []).append(
            {
                "id": r.id,
                "annotator": who,
                "schema_version": r.schema_version,
                "version": r.version,
                "previous_id": r.previous_id,
                "is_current": r.is_current,
                "counted": r.counted,
                "late": r.late,
                "value": r.value,
                "created_at": r.created_at,
                "client_created_at": r.client_created_at,
                "lead_time_ms": r.lead_time_ms,
                "time_spent_ms": r.time_spent_ms,
            }
        )
    return out


def _predictions(session: Any, project_id: int, first: int, last: int) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    rows = session.execute(
        sa.select(Prediction.task_id, Prediction.model_version, Prediction.value, Prediction.confidence).where(
            Prediction.project_id == project_id, Prediction.task_id.between(first, last)
        )
    )
    for r in rows:
        out.setdefault(r.task_id, []).append(
            {"model_version": r.model_version, "value": r.value, "confidence": r.confidence}
        )
    return out
