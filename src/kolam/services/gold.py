"""Gold tasks: items with a known answer, hidden among an annotator's tasks, that measure them.

A gold task never fills up (``GOLD_SLOTS`` answers wanted), so every annotator may meet each one once; the
assignment engine mixes them in at the project's ratio and serves only them during a qualification test.
Each counted answer on a gold task is scored at once (``kolam.quality.gold``) into the annotator's standing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.errors import Invalid, NotFound
from kolam.labels import validate_answer
from kolam.services import audit, standing
from kolam.services.context import Actor
from kolam.services.projects import WorkProject, current_schema, get_project
from kolam.store.tables import GoldAnswer, Item, Task
from kolam.store.types import utcnow

GOLD_SLOTS = 1_000_000
MAX_GOLD_BATCH = 10_000


@dataclass(frozen=True)
class GoldEntry:
    """One known answer, for an item named by its id or by the external id it was imported with."""

    value: Any
    item_id: int | None = None
    external_id: str | None = None


def _resolve_items(session: Session, project_id: int, entries: Sequence[GoldEntry]) -> list[int]:
    by_external = [e.external_id for e in entries if e.item_id is None and e.external_id is not None]
    external: dict[str, int] = {}
    if by_external:
        rows = session.execute(
            sa.select(Item.external_id, Item.id).where(Item.project_id == project_id, Item.external_id.in_(by_external))
        )
        external = {ext: item_id for ext, item_id in rows if ext is not None}
    ids: list[int] = []
    for i, entry in enumerate(entries):
        if entry.item_id is not None:
            ids.append(entry.item_id)
        elif entry.external_id is not None:
            if entry.external_id not in external:
                raise NotFound(f"gold[{i}]: no item with external_id '{entry.external_id}'", field=f"gold[{i}]")
            ids.append(external[entry.external_id])
        else:
            raise Invalid(f"gold[{i}]: give item_id or external_id", field=f"gold[{i}]")
    known = set(
        session.scalars(sa.select(Task.item_id).where(Task.project_id == project_id, Task.item_id.in_(ids))).all()
    )
    for i, item_id in enumerate(ids):
        if item_id not in known:
            raise NotFound(f"gold[{i}]: no item {item_id} in project {project_id}", field=f"gold[{i}]")
    return ids


def set_gold(
    session: Session, actor: Actor | None, project_id: int, entries: Sequence[GoldEntry], *, org_id: int | None = None
) -> int:
    """Mark items as gold with their known answers (replacing earlier ones); all or nothing.

    ``actor`` None is the command line, acting inside ``org_id``."""
    if actor is not None:
        actor.require("projects.manage")
    if not 1 <= len(entries) <= MAX_GOLD_BATCH:
        raise Invalid(f"give 1 to {MAX_GOLD_BATCH} gold answers at once", field="gold")
    project = get_project(session, actor, project_id, org_id=org_id)
    schema = current_schema(session, project)
    values = []
    for i, entry in enumerate(entries):
        try:
            values.append(validate_answer(schema, entry.value))
        except Invalid as err:
            raise Invalid(f"gold[{i}]: {err.message}", field=f"gold[{i}].{err.field or 'value'}") from None
    ids = _resolve_items(session, project.id, entries)
    now = utcnow()
    existing = set(session.scalars(sa.select(GoldAnswer.task_id).where(GoldAnswer.task_id.in_(ids))).all())
    for task_id, value in zip(ids, values, strict=True):
        if task_id in existing:
            session.execute(sa.update(GoldAnswer).where(GoldAnswer.task_id == task_id).values(value=value))
        else:
            session.add(
                GoldAnswer(
                    task_id=task_id,
                    project_id=project.id,
                    value=value,
                    created_by=actor.user_id if actor else None,
                    created_at=now,
                )
            )
            existing.add(task_id)
    session.execute(
        sa.update(Task)
        .where(Task.item_id.in_(ids), Task.is_gold.is_(False))
        .values(
            is_gold=True,
            open_slots=Task.open_slots + (GOLD_SLOTS - Task.answers_wanted),
            answers_wanted=GOLD_SLOTS,
            state=sa.case((Task.state == "staged", "staged"), else_="open"),
            updated_at=now,
        )
    )
    audit.record_many(session, actor, "gold.set", "item", ids, org_id=project.org_id)
    session.commit()
    return len(ids)


def remove_gold(session: Session, actor: Actor, project_id: int, item_ids: Sequence[int]) -> int:
    """Make gold items ordinary again: they want the project's overlap, and count answers already given."""
    actor.require("projects.manage")
    project = get_project(session, actor, project_id)
    result = session.execute(
        sa.delete(GoldAnswer).where(GoldAnswer.project_id == project.id, GoldAnswer.task_id.in_(list(item_ids)))
    )
    gone = int(result.rowcount)  # type: ignore[attr-defined]
    now = utcnow()
    greatest = sa.func.max if session.get_bind().dialect.name == "sqlite" else sa.func.greatest
    session.execute(
        sa.update(Task)
        .where(Task.project_id == project.id, Task.item_id.in_(list(item_ids)), Task.is_gold.is_(True))
        .values(
            is_gold=False,
            answers_wanted=project.overlap,
            open_slots=greatest(Task.open_slots - (GOLD_SLOTS - project.overlap), 0),
            state=sa.case(
                (Task.state == "staged", "staged"), (Task.answers_count >= project.overlap, "done"), else_="open"
            ),
            updated_at=now,
        )
    )
    audit.record_many(session, actor, "gold.remove", "item", list(item_ids))
    session.commit()
    return gone


def list_gold(session: Session, actor: Actor, project_id: int, *, after: int = 0, limit: int = 100) -> list[GoldAnswer]:
    actor.require("projects.manage")
    project = get_project(session, actor, project_id)
    rows = session.scalars(
        sa.select(GoldAnswer)
        .where(GoldAnswer.project_id == project.id, GoldAnswer.task_id > after)
        .order_by(GoldAnswer.task_id)
        .limit(min(max(limit, 1), 1000))
    )
    return list(rows)


def gold_values(session: Session, task_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    if not task_ids:
        return {}
    rows = session.execute(sa.select(GoldAnswer.task_id, GoldAnswer.value).where(GoldAnswer.task_id.in_(task_ids)))
    return {task_id: value for task_id, value in rows}


def record_gold_answers(
    session: Session, project: WorkProject, actor: Actor, answers: Sequence[tuple[int, dict[str, Any]]]
) -> None:
    """Score counted answers on gold tasks (inside the submit's transaction) into the annotator's standing."""
    known = gold_values(session, [task_id for task_id, _ in answers])
    results = [
        standing.score(project.kind, value, known[task_id]).correct for task_id, value in answers if task_id in known
    ]
    if results:
        standing.add_gold_results(session, project, actor, results)
