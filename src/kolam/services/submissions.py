"""Answers: append-only, idempotent by the client-made id, versioned on edit.

A retried submit (same client id) returns the first stored answer and stores nothing. An answer whose lease
ran out still counts when the task still wants answers; otherwise it is kept, marked not counted, and the
caller is told — work is never silently dropped.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.errors import Conflict, Invalid, KolamError, NotFound
from kolam.labels import LabelSchemaDef, validate_answer
from kolam.labels.answers import answer_labels
from kolam.services import audit, gold
from kolam.services.consensus import adapt_overlap
from kolam.services.context import Actor
from kolam.services.projects import WorkProject, schema_version, work_project
from kolam.store.tables import Annotation, AnswerLabel, Item, Lease, Task
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
class StoredAnswer:
    """One stored answer, as read or written by the submit path (no ORM object to build per answer)."""

    id: int
    project_id: int
    task_id: int
    user_id: int
    client_id: str
    schema_version: int
    version: int
    previous_id: int | None
    is_current: bool
    counted: bool
    late: bool
    value: dict[str, Any]
    lead_time_ms: int | None
    time_spent_ms: int | None
    client_created_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, annotation: Annotation) -> StoredAnswer:
        return cls(**{name: getattr(annotation, name) for name in _ANSWER_FIELDS})


_ANSWER_FIELDS = tuple(f.name for f in dataclasses.fields(StoredAnswer))
_annotations = cast(sa.Table, Annotation.__table__)
_answer_labels = cast(sa.Table, AnswerLabel.__table__)
_items = cast(sa.Table, Item.__table__)
_leases = cast(sa.Table, Lease.__table__)
_tasks = cast(sa.Table, Task.__table__)

# The submit path's statements, built once (building one costs more than SQLite takes to run it).
_TASK_COLUMNS = (
    _tasks.c.item_id,
    _tasks.c.state,
    _tasks.c.open_slots,
    _tasks.c.answers_count,
    _tasks.c.answers_wanted,
    _tasks.c.is_gold,
)
_LOCK_TASKS_WHERE = (
    _tasks.c.project_id == sa.bindparam("project_id"),
    _tasks.c.item_id.in_(sa.bindparam("task_ids", expanding=True)),
    _tasks.c.state != "staged",
)
_LOCK_TASKS = (
    sa.select(*_TASK_COLUMNS, sa.null())
    .where(*_LOCK_TASKS_WHERE)
    .order_by(_tasks.c.item_id)
    .with_for_update(key_share=True)
)
_LOCK_TASKS_WITH_TEXT = (
    sa.select(*_TASK_COLUMNS, sa.func.length(_items.c.text))
    .join_from(_tasks, _items, _items.c.id == _tasks.c.item_id)
    .where(*_LOCK_TASKS_WHERE)
    .order_by(_tasks.c.item_id)
    .with_for_update(of=_tasks, key_share=True)
)
_USER_LEASES = sa.select(_leases.c.task_id, _leases.c.id, _leases.c.status, _leases.c.expires_at).where(
    _leases.c.user_id == sa.bindparam("user_id"), _leases.c.task_id.in_(sa.bindparam("task_ids", expanding=True))
)
_REPLAYS = sa.select(*(_annotations.c[name] for name in _ANSWER_FIELDS)).where(
    _annotations.c.user_id == sa.bindparam("user_id"),
    _annotations.c.client_id.in_(sa.bindparam("client_ids", expanding=True)),
)
_INSERT_ANSWERS = sa.insert(_annotations).returning(_annotations.c.id, sort_by_parameter_order=True)
_END_LEASES = (
    sa.update(_leases)
    .where(_leases.c.id == sa.bindparam("lease_id"))
    .values(status="submitted", ended_at=sa.bindparam("now"))
)
_INSERT_LEASES = sa.insert(_leases)
_COUNT_ANSWERS = (
    sa.update(_tasks)
    .where(_tasks.c.item_id == sa.bindparam("task"))
    .values(
        state=sa.bindparam("state"),
        open_slots=sa.bindparam("open_slots"),
        answers_count=sa.bindparam("answers_count"),
        answers_wanted=sa.bindparam("answers_wanted"),
        updated_at=sa.bindparam("now"),
    )
)
INSERT_LABELS = sa.insert(_answer_labels)


@dataclass(frozen=True)
class SubmitResult:
    annotation: StoredAnswer
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


@dataclass
class _LockedTask:
    """A task held under lock during a submit, with the submitter's lease on it; settled in Python."""

    task_id: int
    state: str
    open_slots: int
    answers_count: int
    answers_wanted: int
    is_gold: bool
    text_length: int | None
    lease_id: int | None = None
    lease_status: str | None = None
    lease_expires_at: datetime | None = None
    counted_any: bool = False

    def settle(self, now: datetime) -> tuple[bool, bool]:
        """Close the lease; say whether the answer counts, and whether it came after the lease ended.

        An active lease holds a slot, even past its time until the sweep returns it; an ended one does not,
        so the answer counts only if the task still has a free slot, which it then takes.
        """
        holds_slot = self.lease_status == "active"
        late = not holds_slot or (self.lease_expires_at is not None and self.lease_expires_at < now)
        counted = holds_slot or (self.state == "open" and self.open_slots > 0)
        if counted:
            if not holds_slot:
                self.open_slots -= 1
            self.answers_count += 1
            if self.answers_count >= self.answers_wanted:
                self.state = "done"
            self.counted_any = True
        self.lease_status = "submitted"
        return counted, late


def check_submission(sub: Submission) -> None:
    """The parts of a submission that need no database: its client id and its timings."""
    if not CLIENT_ID.match(sub.client_id):
        raise Invalid("client_id must be 8–100 letters, digits or _.:- (a UUID is ideal)", field="client_id")
    for field in ("lead_time_ms", "time_spent_ms"):
        value = getattr(sub, field)
        if value is not None and not 0 <= value <= MAX_MS:
            raise Invalid(f"{field} must be between 0 and {MAX_MS}", field=field)


def submit(session: Session, actor: Actor, project_id: int, sub: Submission) -> SubmitResult:
    """Store one answer to a task the actor leased (see module doc for the late and retried cases)."""
    project = work_project(session, actor, project_id)
    actor.require("tasks.work")
    (outcome,) = _store_all(session, actor, project, [sub])
    if outcome.result is None:
        session.rollback()
        assert outcome.error is not None
        raise outcome.error
    session.commit()
    if outcome.error is not None:
        raise outcome.error
    return outcome.result


def submit_many(session: Session, actor: Actor, project_id: int, subs: Sequence[Submission]) -> list[BatchOutcome]:
    """Store a batch in one transaction (an outbox syncing); each answer succeeds or fails on its own."""
    project = work_project(session, actor, project_id)
    actor.require("tasks.work")
    outcomes = _store_all(session, actor, project, subs)
    session.commit()
    return outcomes


def _not_counted(annotation: StoredAnswer) -> NotCounted:
    return NotCounted(
        f"your lease on task {annotation.task_id} ended and the task already has its answers; your answer was "
        f"kept (annotation {annotation.id}) but does not count",
        annotation.id,
    )


def _outcome(answer: StoredAnswer, *, replayed: bool) -> BatchOutcome:
    error = None if answer.counted else _not_counted(answer)
    return BatchOutcome(answer.client_id, SubmitResult(answer, replayed=replayed), error)


def _store_all(session: Session, actor: Actor, project: WorkProject, subs: Sequence[Submission]) -> list[BatchOutcome]:
    """Decide every answer in Python under the tasks' locks, then write each table once.

    Tasks are locked first and in task order (the lock order of ``kolam.store.queue``), and earlier answers
    are looked up only after, so a retry racing its own first attempt finds it instead of storing it twice.
    """
    outcomes: list[BatchOutcome | None] = [None] * len(subs)

    def fail(i: int, err: KolamError) -> None:
        outcomes[i] = BatchOutcome(subs[i].client_id, None, err)

    pending: list[int] = []
    for i, sub in enumerate(subs):
        try:
            check_submission(sub)
        except KolamError as err:
            fail(i, err)
        else:
            pending.append(i)
    pending.sort(key=lambda i: subs[i].task_id)
    tasks = _lock_tasks(session, project, actor.user_id, {subs[i].task_id for i in pending})
    replays = _replays(session, actor.user_id, {subs[i].client_id for i in pending})
    schemas: dict[int, LabelSchemaDef] = {}
    now = utcnow()
    rows: list[dict[str, Any]] = []
    owners: list[int] = []
    first_use: dict[str, int] = {}
    repeats: list[int] = []
    for i in pending:
        sub = subs[i]
        previous = replays.get(sub.client_id)
        if previous is not None:
            if previous.project_id != project.id:
                fail(i, Conflict("this client_id was already used for another project's answer", field="client_id"))
            else:
                outcomes[i] = _outcome(previous, replayed=True)
            continue
        if sub.client_id in first_use:
            repeats.append(i)
            continue
        task = tasks.get(sub.task_id)
        if task is None:
            fail(i, NotFound(f"no task {sub.task_id} in project {project.id}", field="task_id"))
            continue
        try:
            value = validated_value(session, project, schemas, task.text_length, sub)
            if task.lease_status in ("submitted", "skipped"):
                raise Conflict(
                    f"you already {task.lease_status} task {task.task_id}; edit your answer instead of submitting "
                    "again",
                    code="already_answered",
                    field="task_id",
                )
        except KolamError as err:
            fail(i, err)
            continue
        counted, late = task.settle(now)
        first_use[sub.client_id] = i
        owners.append(i)
        rows.append(
            {
                "project_id": project.id,
                "task_id": task.task_id,
                "user_id": actor.user_id,
                "client_id": sub.client_id,
                "schema_version": sub.schema_version or project.schema_version,
                "version": 1,
                "previous_id": None,
                "is_current": True,
                "counted": counted,
                "late": late,
                "value": value,
                "lead_time_ms": sub.lead_time_ms,
                "time_spent_ms": sub.time_spent_ms,
                "client_created_at": sub.client_created_at,
                "created_at": now,
            }
        )
    if rows:
        stored = _write(session, actor, project, tasks, rows, now)
        for i, answer in zip(owners, stored, strict=True):
            outcomes[i] = _outcome(answer, replayed=False)
    for i in repeats:
        first = outcomes[first_use[subs[i].client_id]]
        assert first is not None and first.result is not None
        outcomes[i] = _outcome(first.result.annotation, replayed=True)
    assert all(o is not None for o in outcomes)
    return [o for o in outcomes if o is not None]


def _lock_tasks(session: Session, project: WorkProject, user_id: int, task_ids: set[int]) -> dict[int, _LockedTask]:
    """The project's (published) tasks among ``task_ids``, locked, with this user's lease on each."""
    if not task_ids:
        return {}
    conn = session.connection()
    query = _LOCK_TASKS_WITH_TEXT if project.kind == "text_classes" else _LOCK_TASKS
    rows = conn.execute(query, {"project_id": project.id, "task_ids": sorted(task_ids)})
    tasks = {row[0]: _LockedTask(*row) for row in rows}
    if tasks:
        # A statement of its own, after the lock: on PostgreSQL it then sees whatever the lock waited for.
        leases = conn.execute(_USER_LEASES, {"user_id": user_id, "task_ids": list(tasks)})
        for task_id, lease_id, status, expires_at in leases:
            task = tasks[task_id]
            task.lease_id, task.lease_status, task.lease_expires_at = lease_id, status, expires_at
    return tasks


def _replays(session: Session, user_id: int, client_ids: set[str]) -> dict[str, StoredAnswer]:
    if not client_ids:
        return {}
    rows = session.connection().execute(_REPLAYS, {"user_id": user_id, "client_ids": sorted(client_ids)})
    return {row.client_id: StoredAnswer(**row._mapping) for row in rows}


def _write(
    session: Session,
    actor: Actor,
    project: WorkProject,
    tasks: dict[int, _LockedTask],
    rows: list[dict[str, Any]],
    now: datetime,
) -> list[StoredAnswer]:
    """Insert the answers and settle their tasks and leases: one statement per table."""
    conn = session.connection()
    ids = conn.execute(_INSERT_ANSWERS, rows).scalars()
    stored = [StoredAnswer(id=answer_id, **row) for answer_id, row in zip(ids, rows, strict=True)]
    answered = {row["task_id"]: tasks[row["task_id"]] for row in rows}
    ended = [{"lease_id": t.lease_id, "now": now} for t in answered.values() if t.lease_id is not None]
    if ended:
        conn.execute(_END_LEASES, ended)
    # Without a lease a lease row is still written, so the assignment engine never offers the task again.
    new_leases = [
        {
            "task_id": t.task_id,
            "project_id": project.id,
            "user_id": actor.user_id,
            "status": "submitted",
            "leased_at": now,
            "expires_at": now,
            "ended_at": now,
            "renewals": 0,
            "skip_reason": None,
        }
        for t in answered.values()
        if t.lease_id is None
    ]
    if new_leases:
        conn.execute(_INSERT_LEASES, new_leases)
    if project.quality.adaptive:
        # Before the tasks are written: adaptive overlap may want one more answer for some of them.
        adapt_overlap(session, project, [t for t in answered.values() if t.counted_any and not t.is_gold])
    counted = [
        {
            "task": t.task_id,
            "state": t.state,
            "open_slots": t.open_slots,
            "answers_count": t.answers_count,
            "answers_wanted": t.answers_wanted,
            "now": now,
        }
        for t in answered.values()
        if t.counted_any
    ]
    if counted:
        conn.execute(_COUNT_ANSWERS, counted)
    labels = [row for a in stored if a.counted for row in label_rows(a)]
    if labels:
        conn.execute(INSERT_LABELS, labels)
    on_gold = [(a.task_id, a.value) for a in stored if a.counted and tasks[a.task_id].is_gold]
    if on_gold:
        gold.record_gold_answers(session, project, actor, on_gold)
    audit.record_each(
        session,
        actor,
        "annotation.create",
        "annotation",
        ((a.id, {"task_id": a.task_id, "counted": a.counted, "late": a.late}) for a in stored),
    )
    return stored


def validated_value(
    session: Session,
    project: WorkProject,
    schemas: dict[int, LabelSchemaDef],
    text_length: int | None,
    sub: Submission,
) -> dict[str, Any]:
    """The answer in its canonical form, checked against the schema version it was made for (cached in ``schemas``)."""
    version = sub.schema_version or project.schema_version
    if not 1 <= version <= project.schema_version:
        raise Invalid(f"schema_version must be between 1 and {project.schema_version}", field="schema_version")
    if version not in schemas:
        schemas[version] = schema_version(session, project, version)
    return validate_answer(schemas[version], sub.value, text_length=text_length)


def label_rows(answer: StoredAnswer | Annotation) -> list[dict[str, Any]]:
    """The answer_labels rows of a counted answer: what lets listing filter items by class."""
    return [
        {"annotation_id": answer.id, "label": name[:200], "project_id": answer.project_id, "task_id": answer.task_id}
        for name in sorted(answer_labels(answer.value))
    ]
