"""The assignment engine: which task an annotator gets next, and the life of their lease on it.

Rules: the project's required skills; never a task the person already answered, skipped or holds; never
more people on a task than answers it still wants; highest priority first; gold mixed in at the project's
ratio. The claim itself is in ``kolam.store.queue`` (atomic on SQLite and PostgreSQL).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.errors import Conflict, Forbidden, Invalid, KolamError, NotFound
from kolam.services import audit, guidelines, media, standing
from kolam.services.context import Actor
from kolam.services.projects import WorkProject, work_project
from kolam.store import queue
from kolam.store.tables import Derivative, Item, Lease, Prediction, Project, Task
from kolam.store.types import utcnow

SWEEP_EVERY_SECONDS = 1.0
_last_sweep: dict[int, float] = {}
_sweep_lock = threading.Lock()


@dataclass(frozen=True)
class LeasedTask:
    """What the annotator's tool needs to show one task, offline if need be."""

    task_id: int
    lease_id: int
    expires_at: datetime
    priority: int
    schema_version: int
    item: dict[str, Any]
    predictions: list[dict[str, Any]]
    guidelines: list[dict[str, Any]] = field(default_factory=list)


def gold_count(ratio: float, count: int, rng: random.Random) -> int:
    """How many of ``count`` tasks should be gold; a binomial draw so the long-run share is ``ratio``.

    The hook for quality control: gold tasks look like any other in what the API returns.
    """
    if ratio <= 0:
        return 0
    return sum(1 for _ in range(count) if rng.random() < ratio)


def _check_may_work(actor: Actor, project: WorkProject) -> None:
    actor.require("tasks.work")
    missing = sorted(set(project.required_skills) - set(actor.skills))
    if missing:
        raise Forbidden(f"this project needs the skills {', '.join(missing)}", field="skills", code="missing_skill")


def _sweep(session: Session, project_id: int, now: datetime) -> None:
    """Return the slots of expired leases, at most once a second per project per process."""
    tick = time.monotonic()
    with _sweep_lock:
        if tick - _last_sweep.get(project_id, 0.0) < SWEEP_EVERY_SECONDS:
            return
        _last_sweep[project_id] = tick
    queue.expire_leases(session, project_id, now)


def lease_tasks(
    session: Session,
    actor: Actor,
    project_id: int,
    *,
    count: int = 1,
    max_batch: int = 100,
    default_lease_seconds: int = 600,
    rng: random.Random | None = None,
) -> list[LeasedTask]:
    """Lease up to ``count`` tasks to the actor (fewer, or none, when the queue has no more for them)."""
    if not 1 <= count <= max_batch:
        raise Invalid(f"count must be between 1 and {max_batch}", field="count")
    project = work_project(session, actor, project_id)
    _check_may_work(actor, project)
    gate = standing.gate(session, project, actor)
    now = utcnow()
    _sweep(session, project.id, now)
    if gate.testing:
        claimed = _claim_test_items(session, project, actor, count, gate, now)
    else:
        n_gold = gold_count(project.gold_ratio, count, rng or random.Random())
        claimed = queue.claim_tasks(session, project.id, actor.user_id, n_gold, now, gold=True) if n_gold else []
        claimed += queue.claim_tasks(session, project.id, actor.user_id, count - len(claimed), now, gold=False)
    if not claimed:
        session.commit()
        return []
    picked = [task_id for task_id, _ in claimed]
    expires = now + timedelta(seconds=project.lease_seconds or default_lease_seconds)
    leases = queue.upsert_leases(session, project.id, actor.user_id, picked, now, expires)
    audit.record_many(session, actor, "item.read", "item", picked, {"via": "lease"})
    described = _describe(session, project, picked, leases, expires)
    session.commit()
    return described


def _claim_test_items(
    session: Session, project: WorkProject, actor: Actor, count: int, gate: standing.WorkGate, now: datetime
) -> list[tuple[int, int]]:
    """A qualification test: only gold, no more than the test still needs beyond the gold already held."""
    held = session.scalar(
        sa.select(sa.func.count())
        .select_from(Lease)
        .join(Task, Task.item_id == Lease.task_id)
        .where(
            Lease.project_id == project.id,
            Lease.user_id == actor.user_id,
            Lease.status == "active",
            Task.is_gold.is_(True),
        )
    )
    wanted = min(count, gate.test_items_left - int(held or 0))
    claimed = queue.claim_tasks(session, project.id, actor.user_id, wanted, now, gold=True) if wanted > 0 else []
    if not claimed and not held:
        raise Conflict(
            f"this project's qualification test needs {gate.test_items_left} more gold items than you have "
            "answered, and none is left for you; ask a manager to add gold items",
            code="qualification_unavailable",
        )
    return claimed


def my_active_leases(session: Session, actor: Actor, project_id: int) -> list[LeasedTask]:
    """The tasks the actor holds now (a reloaded browser picks up where it was)."""
    project = work_project(session, actor, project_id)
    rows = session.execute(
        sa.select(Lease.task_id, Lease.id, Lease.expires_at)
        .where(
            Lease.project_id == project.id,
            Lease.user_id == actor.user_id,
            Lease.status == "active",
            Lease.expires_at > utcnow(),
        )
        .order_by(Lease.id)
    ).all()
    if not rows:
        return []
    by_expiry: dict[datetime, list[int]] = {}
    for task_id, _lease_id, expires_at in rows:
        by_expiry.setdefault(expires_at, []).append(task_id)
    leases = {task_id: lease_id for task_id, lease_id, _ in rows}
    out: list[LeasedTask] = []
    for expires_at, ids in by_expiry.items():
        out.extend(_describe(session, project, ids, leases, expires_at))
    audit.record_many(session, actor, "item.read", "item", [t.task_id for t in out], {"via": "resume"})
    session.commit()
    return out


def resume_and_lease(
    session: Session,
    actor: Actor,
    project_id: int,
    *,
    count: int,
    max_batch: int = 100,
    default_lease_seconds: int = 600,
) -> list[LeasedTask]:
    """The tasks the actor holds, then new ones up to ``count``: a browser starting afresh in one round trip
    (on a 500 ms link, the difference between two sequential calls and one is what the annotator waits)."""
    held = my_active_leases(session, actor, project_id)
    if len(held) >= count:
        return held
    return held + lease_tasks(
        session, actor, project_id, count=count - len(held), max_batch=max_batch,
        default_lease_seconds=default_lease_seconds,
    )  # fmt: skip


_items = cast(sa.Table, Item.__table__)
_tasks = cast(sa.Table, Task.__table__)
_predictions = cast(sa.Table, Prediction.__table__)
_derivatives = cast(sa.Table, Derivative.__table__)
_TASK_ITEMS = (
    sa.select(
        _tasks.c.priority,
        _items.c.id,
        _items.c.media,
        _items.c.external_id,
        _items.c.meta,
        _items.c.text,
        _items.c.blob_key,
        _items.c.url,
        _items.c.mime_type,
        _items.c.content_hash,
        _derivatives.c.width,
        _derivatives.c.height,
    )
    .join_from(_tasks, _items, _items.c.id == _tasks.c.item_id)
    .outerjoin(_derivatives, (_derivatives.c.item_id == _items.c.id) & (_derivatives.c.kind == media.DISPLAY))
    .where(_tasks.c.item_id.in_(sa.bindparam("task_ids", expanding=True)))
)
_TASK_PREDICTIONS = sa.select(
    _predictions.c.task_id,
    _predictions.c.model_version,
    _predictions.c.value,
    _predictions.c.confidence,
    _predictions.c.distribution,
).where(_predictions.c.task_id.in_(sa.bindparam("task_ids", expanding=True)))


def _describe(
    session: Session, project: WorkProject, task_ids: Sequence[int], leases: dict[int, int], expires: datetime
) -> list[LeasedTask]:
    """The leased tasks in the order given, each with its item and the model's predictions."""
    conn = session.connection()
    by_id = {row.id: row for row in conn.execute(_TASK_ITEMS, {"task_ids": list(task_ids)})}
    predictions: dict[int, list[dict[str, Any]]] = {}
    distributions: dict[int, list[dict[str, Any]]] = {}
    for pred in conn.execute(_TASK_PREDICTIONS, {"task_ids": list(task_ids)}):
        predictions.setdefault(pred.task_id, []).append(
            {"model_version": pred.model_version, "value": pred.value, "confidence": pred.confidence}
        )
        if pred.distribution:
            distributions.setdefault(pred.task_id, []).append(pred.distribution)
    by_pair = guidelines.notes(session, project.id) if distributions else {}
    return [
        LeasedTask(
            task_id=task_id,
            lease_id=leases[task_id],
            expires_at=expires,
            priority=by_id[task_id].priority,
            schema_version=project.schema_version,
            item=item_payload(by_id[task_id], _size(by_id[task_id])),
            predictions=predictions.get(task_id, []),
            guidelines=guidelines.notes_for(distributions.get(task_id, []), by_pair) if by_pair else [],
        )
        for task_id in task_ids
    ]


class ItemColumns(Protocol):
    """An item row or entity: what :func:`item_payload` reads."""

    id: int
    media: str
    external_id: str | None
    meta: dict[str, Any]
    text: str | None
    blob_key: str | None
    url: str | None
    mime_type: str | None
    content_hash: str


def _size(row: Any) -> tuple[int, int] | None:
    return (row.width, row.height) if row.width is not None and row.height is not None else None


def item_payload(item: ItemColumns, size: tuple[int, int] | None = None) -> dict[str, Any]:
    """An item as tools see it: inline text, or where to fetch the media (through the API, audited).

    Stored images and audio also get the light display version annotators download (contract A of the
    workspace); ``size`` is the original's pixel size, known once the display image was derived.
    """
    payload: dict[str, Any] = {"id": item.id, "media": item.media, "external_id": item.external_id, "meta": item.meta}
    if item.text is not None:
        payload["text"] = item.text
    if item.blob_key is not None or item.url is not None:
        payload["content_url"] = f"/api/v1/items/{item.id}/content"
        payload["mime_type"] = item.mime_type
        payload.update(media.display_fields(item.id, item.media, item.content_hash, item.blob_key, size))
    return payload


def _own_lease(session: Session, actor: Actor, task_id: int) -> tuple[Lease, Project]:
    """The actor's lease on a task, read after locking the task (the lock order of ``kolam.store.queue``)."""
    queue.lock_tasks(session, [task_id])
    row = session.execute(
        sa.select(Lease, Project)
        .join(Project, Project.id == Lease.project_id)
        .where(Lease.task_id == task_id, Lease.user_id == actor.user_id, Project.org_id == actor.org_id)
    ).first()
    if row is None:
        raise NotFound(f"you hold no lease on task {task_id}", field="task_id")
    return row[0], row[1]


def renew_lease(session: Session, actor: Actor, task_id: int, *, default_lease_seconds: int = 600) -> Lease:
    """Extend a lease; one that already expired is revived only if the task still wants an answer."""
    lease, project = _own_lease(session, actor, task_id)
    _extend(session, lease, project, utcnow(), default_lease_seconds)
    session.commit()
    return lease


@dataclass(frozen=True)
class Renewal:
    task_id: int
    lease: Lease | None
    error: KolamError | None


MAX_RENEW = 500


def renew_leases(
    session: Session, actor: Actor, task_ids: Sequence[int], *, default_lease_seconds: int = 600
) -> list[Renewal]:
    """Renew a browser's whole batch in one transaction (one request instead of one per task, every few
    minutes, from every annotator); each lease succeeds or fails on its own. Tasks are locked in id order."""
    if len(task_ids) > MAX_RENEW:
        raise Invalid(f"renew at most {MAX_RENEW} leases at once", field="task_ids")
    now = utcnow()
    out: list[Renewal] = []
    for task_id in sorted(set(task_ids)):
        try:
            lease, project = _own_lease(session, actor, task_id)
            _extend(session, lease, project, now, default_lease_seconds)
            out.append(Renewal(task_id, lease, None))
        except KolamError as err:
            out.append(Renewal(task_id, None, err))
    session.commit()
    return out


def _extend(session: Session, lease: Lease, project: Project, now: datetime, default_lease_seconds: int) -> None:
    """The renewal itself: checks first, then changes, so a refused renewal leaves nothing half done."""
    task_id = lease.task_id
    seconds = project.lease_seconds or default_lease_seconds
    if lease.status == "active":
        lease.expires_at = now + timedelta(seconds=seconds)
        lease.renewals += 1
    elif lease.status == "expired":
        task = session.get(Task, task_id)
        if task is None or task.state != "open" or task.open_slots <= 0:
            raise Conflict(
                f"the lease on task {task_id} expired and the task has all the answers it wants",
                code="lease_expired",
                field="task_id",
            )
        queue.take_slots(session, [task_id], now)
        lease.status, lease.expires_at, lease.ended_at = "active", now + timedelta(seconds=seconds), None
        lease.renewals += 1
    else:
        raise Conflict(f"the lease on task {task_id} ended ({lease.status})", code="lease_ended", field="task_id")


def end_lease(session: Session, actor: Actor, task_id: int, *, skip: bool, reason: str | None = None) -> Lease:
    """Skip (never offered to this person again) or release (may come back) a task; its slot returns."""
    if reason is not None and len(reason) > 500:
        raise Invalid("reason must be at most 500 characters", field="reason")
    lease, _project = _own_lease(session, actor, task_id)
    if lease.status in ("submitted", "skipped"):
        raise Conflict(f"task {task_id} was already {lease.status}", code="lease_ended", field="task_id")
    now = utcnow()
    if lease.status == "active":
        queue.return_slots(session, [task_id], now)
    if skip:
        lease.status, lease.skip_reason = "skipped", reason
    else:
        lease.status = "released"
    lease.ended_at = now
    audit.record(
        session, actor, "task.skip" if skip else "task.release", "task", task_id, {"reason": reason} if reason else None
    )
    session.commit()
    return lease
