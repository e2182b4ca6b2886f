"""Exports: every item of a project with all its answers, streamed page by page in flat memory.

Pages are keyset walks over the task primary key, each its own short read, so an export of millions of
items neither holds memory nor a long transaction. Predictions and consensus ride along for later stages.
Two ways out of the same pages: records (one dict per item) feed any format; JSON Lines, the default, is
written by the database (``export_lines``) and must equal ``orjson.dumps`` of the records byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from kolam.services import audit
from kolam.services.context import Actor
from kolam.services.export_lines import (
    LINE_OPTIONS,
    LineQueries,
    NotPrintable,
    page_consensus,
    page_predictions,
    page_query,
)
from kolam.services.projects import get_project
from kolam.store.db import Database
from kolam.store.tables import Annotation, Item, Task, User


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
) -> ExportRecords:
    """One record per item, in item order; current answers only unless ``history``.

    Annotators appear as stable pseudonyms (``a17``) unless ``reveal_annotators`` (the firm's own managers).
    """
    return ExportRecords(db, project_id, history=history, reveal_annotators=reveal_annotators)


@dataclass(frozen=True)
class ExportRecords:
    """A project's export: iterate it for record dicts, or take ``jsonl_chunks`` for lines the database wrote."""

    db: Database
    project_id: int
    history: bool = False
    reveal_annotators: bool = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        emails: dict[int, str] = {}
        after = 0
        while page := self._records(after, emails):
            yield from page
            after = page[-1]["item_id"]

    def jsonl_chunks(self) -> Iterator[bytes]:
        """The export as JSON Lines, one chunk a page; the same bytes as ``orjson.dumps`` of each record."""
        lines = LineQueries(self.db.dialect, self.history, self.reveal_annotators)
        emails: dict[int, str] = {}
        after = 0
        while True:
            with self.db.read() as session:
                try:
                    chunk, last = lines.page(session, self.project_id, after)
                except NotPrintable:
                    chunk = None
            if chunk is None:  # this page the records way, which is what the lines must equal
                records = self._records(after, emails)
                chunk = b"".join(orjson.dumps(r, option=LINE_OPTIONS) for r in records)
                last = records[-1]["item_id"] if records else None
            if last is None:
                return
            yield chunk
            after = last

    def _records(self, after: int, emails: dict[int, str]) -> list[dict[str, Any]]:
        """The page of records after item ``after``, in one read."""
        with self.db.read() as session:
            connection = session.connection()  # Core rows: no ORM loading for plain columns
            tasks = connection.execute(
                page_query(RECORD_COLUMNS), {"project_id": self.project_id, "after": after}
            ).all()
            if not tasks:
                return []
            first, last = tasks[0][0], tasks[-1][0]
            reveal = emails if self.reveal_annotators else None
            answers = _answers(connection, self.project_id, first, last, self.history, reveal)
            predictions = page_predictions(connection, self.project_id, first, last)
            consensus = page_consensus(connection, self.project_id, first, last)
        return [
            {
                "item_id": item_id,
                "external_id": external_id,
                "data": _data(*content),
                "task": {"state": state, "answers_wanted": wanted, "answers_count": count},
                "annotations": answers.get(item_id, []),
                "predictions": predictions.get(item_id, []),
                "consensus": consensus.get(item_id),
            }
            for item_id, state, wanted, count, external_id, *content in tasks
        ]


RECORD_COLUMNS = (
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


def _data(
    media: str, text: str | None, url: str | None, blob_key: str | None, mime_type: str | None, meta: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {"media": media}
    if text is not None:
        data["text"] = text
    if url is not None:
        data["url"] = url
    if blob_key is not None:
        data["blob"] = blob_key
        data["mime_type"] = mime_type
    if meta:
        data["meta"] = meta
    return data


def _answers(
    connection: sa.Connection, project_id: int, first: int, last: int, history: bool, emails: dict[int, str] | None
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
    rows = connection.execute(query.order_by(Annotation.task_id, Annotation.id)).all()
    if emails is not None:
        unknown = {r.user_id for r in rows} - emails.keys()
        if unknown:
            found = connection.execute(sa.select(User.id, User.email).where(User.id.in_(unknown))).all()
            emails.update({user_id: email for user_id, email in found})
    for answer_id, task_id, user_id, *rest in rows:
        who = emails.get(user_id, f"a{user_id}") if emails is not None else f"a{user_id}"
        schema_version, version, previous_id, is_current, counted, late, value, created, client_created, lead, spent = (
            rest
        )
        out.setdefault(task_id, []).append(
            {
                "id": answer_id,
                "annotator": who,
                "schema_version": schema_version,
                "version": version,
                "previous_id": previous_id,
                "is_current": is_current,
                "counted": counted,
                "late": late,
                "value": value,
                "created_at": created,
                "client_created_at": client_created,
                "lead_time_ms": lead,
                "time_spent_ms": spent,
            }
        )
    return out
