"""Editing one's own answer: a new version, the old one kept in the history and no longer current."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.errors import Conflict, NotFound
from kolam.services import audit
from kolam.services.context import Actor
from kolam.services.projects import work_project
from kolam.services.submissions import (
    INSERT_LABELS,
    StoredAnswer,
    Submission,
    SubmitResult,
    check_submission,
    label_rows,
    validated_value,
)
from kolam.store.tables import Annotation, AnswerLabel, Item, Project
from kolam.store.types import utcnow


def _replay(session: Session, actor: Actor, client_id: str) -> Annotation | None:
    return session.scalar(
        sa.select(Annotation).where(Annotation.user_id == actor.user_id, Annotation.client_id == client_id)
    )


def edit_answer(
    session: Session,
    actor: Actor,
    annotation_id: int,
    *,
    client_id: str,
    value: Any,
    time_spent_ms: int | None = None,
) -> SubmitResult:
    """A new version of one's own answer; the old one stays in the history, no longer current."""
    previous = _replay(session, actor, client_id)
    if previous is not None:
        if previous.previous_id != annotation_id:
            raise Conflict("this client_id was already used for another answer", field="client_id")
        return SubmitResult(StoredAnswer.of(previous), replayed=True)
    old = session.scalar(
        sa.select(Annotation)
        .join(Project, Project.id == Annotation.project_id)
        .where(Annotation.id == annotation_id, Project.org_id == actor.org_id)
        .with_for_update(of=Annotation)
    )
    if old is None or (old.user_id != actor.user_id):
        raise NotFound(f"no answer {annotation_id} of yours", field="annotation_id")
    if not old.is_current:
        raise Conflict(f"answer {annotation_id} was already replaced by a newer version", field="annotation_id")
    project = work_project(session, actor, old.project_id)
    text_length = None
    if project.kind == "text_classes":
        text_length = len(session.scalar(sa.select(Item.text).where(Item.id == old.task_id)) or "")
    sub = Submission(
        task_id=old.task_id,
        client_id=client_id,
        value=value,
        schema_version=project.schema_version,
        time_spent_ms=time_spent_ms,
    )
    check_submission(sub)
    canonical = validated_value(session, project, {}, text_length, sub)
    now = utcnow()
    old.is_current = False
    new = Annotation(
        project_id=old.project_id,
        task_id=old.task_id,
        user_id=actor.user_id,
        client_id=client_id,
        schema_version=project.schema_version,
        version=old.version + 1,
        previous_id=old.id,
        is_current=True,
        counted=old.counted,
        late=old.late,
        value=canonical,
        lead_time_ms=None,
        time_spent_ms=time_spent_ms,
        client_created_at=None,
        created_at=now,
    )
    session.add(new)
    session.flush()
    session.execute(sa.delete(AnswerLabel).where(AnswerLabel.annotation_id == old.id))
    if new.counted and (labels := label_rows(new)):
        session.execute(INSERT_LABELS, labels)
    audit.record(session, actor, "annotation.edit", "annotation", new.id, {"previous_id": old.id})
    session.commit()
    return SubmitResult(StoredAnswer.of(new), replayed=False)


def answer_history(session: Session, actor: Actor, annotation_id: int) -> Sequence[Annotation]:
    """Every version of an answer, oldest first."""
    current = session.scalar(
        sa.select(Annotation)
        .join(Project, Project.id == Annotation.project_id)
        .where(Annotation.id == annotation_id, Project.org_id == actor.org_id)
    )
    if current is None or (current.user_id != actor.user_id and not actor.can("items.read")):
        raise NotFound(f"no answer {annotation_id}", field="annotation_id")
    chain = [current]
    while chain[-1].previous_id is not None:
        prev = session.get(Annotation, chain[-1].previous_id)
        if prev is None:
            break
        chain.append(prev)
    later = session.scalar(sa.select(Annotation).where(Annotation.previous_id == chain[0].id))
    while later is not None:
        chain.insert(0, later)
        later = session.scalar(sa.select(Annotation).where(Annotation.previous_id == later.id))
    return list(reversed(chain))
