"""Guideline notes on confused class pairs: the manager's word on "denim jacket vs navy shirt", shown to
annotators on exactly the items the model places between the two.

A note belongs to an unordered pair (stored with ``class_a`` < ``class_b``). An item is "in" a pair when the
two most probable classes of the project model's prediction are that pair.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.errors import Invalid
from kolam.services import audit
from kolam.services.context import Actor
from kolam.services.projects import current_schema, get_project
from kolam.store.tables_learning import GuidelineNote
from kolam.store.types import utcnow

MAX_NOTE = 5000


def pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def set_note(session: Session, actor: Actor, project_id: int, a: str, b: str, note: str) -> GuidelineNote | None:
    """Attach (or replace) the note on a pair of the project's classes; an empty note removes it."""
    actor.require("projects.manage")
    project = get_project(session, actor, project_id)
    names = current_schema(session, project).label_names(include_retired=True)
    for field, name in (("class_a", a), ("class_b", b)):
        if name not in names:
            raise Invalid(f"{field}: '{name}' is not a class of this project", field=field)
    if a == b:
        raise Invalid("a pair needs two different classes", field="class_b")
    if len(note) > MAX_NOTE:
        raise Invalid(f"note must be at most {MAX_NOTE} characters", field="note")
    first, second = pair_key(a, b)
    row = session.get(GuidelineNote, (project.id, first, second))
    text = note.strip()
    if not text:
        if row is not None:
            session.delete(row)
        audit.record(session, actor, "guideline.remove", "project", project.id, {"pair": [first, second]})
        session.commit()
        return None
    if row is None:
        row = GuidelineNote(project_id=project.id, class_a=first, class_b=second, note=text)
        session.add(row)
    row.note, row.created_by, row.updated_at = text, actor.user_id, utcnow()
    audit.record(session, actor, "guideline.set", "project", project.id, {"pair": [first, second]})
    session.commit()
    return row


def notes(session: Session, project_id: int) -> dict[tuple[str, str], str]:
    rows = session.execute(
        sa.select(GuidelineNote.class_a, GuidelineNote.class_b, GuidelineNote.note).where(
            GuidelineNote.project_id == project_id
        )
    ).all()
    return {(r.class_a, r.class_b): r.note for r in rows}


def notes_for(
    distributions: Iterable[dict[str, Any] | None], by_pair: dict[tuple[str, str], str]
) -> list[dict[str, Any]]:
    """The notes whose pair is the top two classes of any of these predicted distributions."""
    found: dict[tuple[str, str], str] = {}
    for distribution in distributions:
        if not distribution or len(distribution) < 2:
            continue
        top = sorted(distribution.items(), key=lambda kv: -float(kv[1]))[:2]
        pair = pair_key(top[0][0], top[1][0])
        if pair in by_pair:
            found[pair] = by_pair[pair]
    return [{"classes": list(pair), "note": note} for pair, note in found.items()]
