"""Answers: append-only, idempotent by the client-made id, versioned on edit.

A retried submit (same client id) returns the first stored answer and stores nothing. An answer whose lease
ran out still counts when the task still wants answers; otherwise it is kept, marked not counted, and the
caller is told — work is never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.errors import Conflict, Invalid, KolamError, NotFound
from kolam.labels import validate_answer
from kolam.labels.answers import answer_labels
from kolam.services import audit
from kolam.services.context import Actor
from kolam.services.projects import get_project, schema_version
from kolam.store.tables import Annotation, AnswerLabel, Item, Lease, Project, Task
from kolam.store.types import utcnow

CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{8,100}$")
MAX_MS = 7 * 24 * 3600 * 1000


@dataclass(frozen=True)
class Submission:
    """One answer as the client sends it."""

    task_id: int
    client_id: str
    value: Any
    schema_version: int | None = None
    lead_time_ms: int | None = None
    time_spent_ms: int | None = None
    client_created_at: datetime | None = None


@dataclass(frozen=True)
class SubmitResult:
    annotation: Annotation
    replayed: bool


@dataclass(frozen=True)
class BatchOutcome:
    """One answer of a batch: stored (or replayed), or refused with the error that says why."""

    client_id: str
    result: SubmitResult | None
    error: KolamError | None


class NotCounted(Conflict):
    """The answer was stored but does not count: its lease ended and the task needs no more answers."""

    code = "lease_expired"

    def __init__(self, message: str, annotation_id: int) -> None:
        super().__init__(message, field="task_id")
        self.annotation_id = annotation_id


def _check(sub: Submission) -> None:
    if not CLIENT_ID.match(sub.client_id):
        raise Invalid("client_id must be 8–100 letters, digits or _.:- (a UUID is ideal)", field="client_id")
    for field in ("lead_time_ms", "time_spent_ms"):
        value = getattr(sub, field)
        if value is not None and not 0 <= value <= MAX_MS:
            raise Invalid(f"{field} must be between 0 and {MAX_MS}", field=field)


def _replay(session: Session, actor: Actor, client_id: str) -> Annotation | None:
    return session.scalar(
        sa.select(Annotation).where(Annotation.user_id == actor.user_id, Annotation.client_id == client_id)
    )


def submit(session: Session, actor: Actor, project_id: int, sub: Submission) -> SubmitResult:
    """Store one answer to a task the actor leased (see module doc for the late and retried cases)."""
    result = _store(session, actor, project_id, sub)
    session.commit()
    if not result.annotation.counted:
        raise _not_counted(result.annotation)
    return result


def submit_many(session: Session, actor: Actor, project_id: int, subs: Sequence[Submission]) -> list[BatchOutcome]:
    """Store a batch in one transaction (an outbox syncing); each answer succeeds or fails on its own."""
    outcomes: dict[int, BatchOutcome] = {}
    # Tasks are locked in task order, whatever the client's order: two batches sharing tasks in opposite
    # orders would otherwise deadlock on PostgreSQL, failing one batch whole.
    for i in sorted(range(len(subs)), key=lambda i: subs[i].task_id):
        sub = subs[i]
        try:
            with session.begin_nested():
                result = _store(session, actor, project_id, sub)
        except KolamError as err:
            outcomes[i] = BatchOutcome(sub.client_id, None, err)
            continue
        error = None if result.annotation.counted else _not_counted(result.annotation)
        outcomes[i] = BatchOutcome(sub.client_id, result, error)
    session.commit()
    return [outcomes[i] for i in range(len(subs))]


def _not_counted(annotation: Annotation) -> NotCounted:
    return NotCounted(
        f"your lease on task {annotation.task_id} ended and the task already has its answers; your answer was "
        f"kept (annotation {annotation.id}) but does not count",
        annotation.id,
    )


def _store(session: Session, actor: Actor, project_id: int, sub: Submission) -> SubmitResult:
    _check(sub)
    previous = _replay(session, actor, sub.client_id)
    if previous is not None:
        if previous.project_id != project_id:
            raise Conflict("this client_id was already used for another project's answer", field="client_id")
        return SubmitResult(previous, replayed=True)
    project = get_project(session, actor, project_id)
    actor.require("tasks.work")
    task = session.scalar(
        sa.select(Task).where(Task.item_id == sub.task_id, Task.project_id == project.id).with_for_update()
    )
    if task is None or task.state == "staged":
        raise NotFound(f"no task {sub.task_id} in project {project.id}", field="task_id")
    value = _validated(session, project, task, sub)
    lease = session.scalar(
        sa.select(Lease).where(Lease.task_id == task.item_id, Lease.user_id == actor.user_id).with_for_update()
    )
    if lease is not None and lease.status in ("submitted", "skipped"):
        raise Conflict(
            f"you already {lease.status} task {task.item_id}; edit your answer instead of submitting again",
            code="already_answered",
            field="task_id",
        )
    now = utcnow()
    counted, late = _settle_lease(session, task, lease, actor.user_id, now)
    annotation = Annotation(
        project_id=project.id,
        task_id=task.item_id,
        user_id=actor.user_id,
        client_id=sub.client_id,
        schema_version=sub.schema_version or project.schema_version,
        version=1,
        is_current=True,
        counted=counted,
        late=late,
        value=value,
        lead_time_ms=sub.lead_time_ms,
        time_spent_ms=sub.time_spent_ms,
        client_created_at=sub.client_created_at,
        created_at=now,
    )
    session.add(annotation)
    session.flush()
    if counted:
        task.answers_count += 1
        if task.answers_count >= task.answers_wanted:
            task.state = "done"
        task.updated_at = now
        _index_labels(session, annotation)
    audit.record(
        session,
        actor,
        "annotation.create",
        "annotation",
        annotation.id,
        {"task_id": task.item_id, "counted": counted, "late": late},
    )
    return SubmitResult(annotation, replayed=False)


def _validated(session: Session, project: Project, task: Task, sub: Submission) -> dict[str, Any]:
    version = sub.schema_version or project.schema_version
    if not 1 <= version <= project.schema_version:
        raise Invalid(f"schema_version must be between 1 and {project.schema_version}", field="schema_version")
    schema = schema_version(session, project, version)
    text_length = None
    if project.kind == "text_classes":
        text = session.scalar(sa.select(Item.text).where(Item.id == task.item_id))
        text_length = len(text or "")
    return validate_answer(schema, sub.value, text_length=text_length)


def _settle_lease(session: Session, task: Task, lease: Lease | None, user_id: int, now: datetime) -> tuple[bool, bool]:
    """Close the lease and say whether the answer counts, and whether it came after the lease ended.

    An active lease holds a slot, even past its time until the sweep returns it; an ended one does not, so
    the answer counts only if the task still has a free slot, which it then takes. With no lease at all a
    lease row is written, so the assignment engine never offers this person the task again.
    """
    holds_slot = lease is not None and lease.status == "active"
    late = lease is None or lease.status != "active" or lease.expires_at < now
    counted = holds_slot or (task.state == "open" and task.open_slots > 0)
    if counted and not holds_slot:
        task.open_slots -= 1
    if lease is None:
        session.add(
            Lease(
                task_id=task.item_id,
                project_id=task.project_id,
                user_id=user_id,
                status="submitted",
                leased_at=now,
                expires_at=now,
                ended_at=now,
            )
        )
    else:
        lease.status, lease.ended_at = "submitted", now
    return counted, late


def _index_labels(session: Session, annotation: Annotation) -> None:
    names = answer_labels(annotation.value)
    if names:
        session.execute(
            sa.insert(AnswerLabel),
            [
                {
                    "annotation_id": annotation.id,
                    "label": name[:200],
                    "project_id": annotation.project_id,
                    "task_id": annotation.task_id,
                }
                for name in sorted(names)
            ],
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
        return SubmitResult(previous, replayed=True)
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
    project = get_project(session, actor, old.project_id)
    task = session.get(Task, old.task_id)
    assert task is not None
    sub = Submission(
        task_id=old.task_id,
        client_id=client_id,
        value=value,
        schema_version=project.schema_version,
        time_spent_ms=time_spent_ms,
    )
    _check(sub)
    canonical = _validated(session, project, task, sub)
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
    if new.counted:
        _index_labels(session, new)
    audit.record(session, actor, "annotation.edit", "annotation", new.id, {"previous_id": old.id})
    session.commit()
    return SubmitResult(new, replayed=False)


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
