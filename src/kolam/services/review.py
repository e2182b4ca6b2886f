"""Review: a reviewer settles the items consensus could not (flagged, unsure, disputed) and a random sample.

The queue is every consensus row in review state ``queued``, most urgent reason first. A verdict:
- accept: the consensus stands, now as reviewed (confidence 1);
- correct: the reviewer's answer (checked against the schema) becomes the consensus;
- reject: the answers are not usable; the item is reopened for the project's overlap in fresh answers.
Accepted and corrected items are gold-like evidence: each answer on them is scored against the verdict into its
annotator's standing, and the next resolve anchors truth inference on them.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.errors import Conflict, Invalid, NotFound
from kolam.labels import validate_answer
from kolam.services import audit, media, standing
from kolam.services.assignment import item_payload
from kolam.services.audits import record_audit
from kolam.services.consensus import REVIEW_REASONS
from kolam.services.context import Actor
from kolam.services.projects import current_schema, get_project
from kolam.store.tables import Annotation, Consensus, Derivative, GoldAnswer, Item, Prediction, Review, Task, User
from kolam.store.types import utcnow

Verdict = Literal["accept", "reject", "correct"]
VERDICTS: tuple[str, ...] = ("accept", "reject", "correct")
_URGENCY = sa.case({reason: i for i, reason in enumerate(REVIEW_REASONS)}, value=Consensus.review_reason, else_=9)


def queue_counts(session: Session, project_id: int) -> dict[str, int]:
    """Items waiting for review, per reason."""
    rows = session.execute(
        sa.select(Consensus.review_reason, sa.func.count())
        .where(Consensus.project_id == project_id, Consensus.review_state == "queued")
        .group_by(Consensus.review_reason)
    ).all()
    counts = dict.fromkeys(REVIEW_REASONS, 0)
    counts.update({reason or "other": int(n) for reason, n in rows})
    return counts


def review_queue(
    session: Session, actor: Actor, project_id: int, *, reason: str | None = None, offset: int = 0, limit: int = 50
) -> list[tuple[Consensus, str | None]]:
    """The queued items, most urgent reason first, then least confident."""
    actor.require("reviews.work")
    project = get_project(session, actor, project_id)
    if reason is not None and reason not in REVIEW_REASONS:
        raise Invalid(f"reason must be one of {', '.join(REVIEW_REASONS)}", field="reason")
    if not 1 <= limit <= 200 or offset < 0:
        raise Invalid("limit must be 1–200 and offset at least 0", field="limit")
    query = (
        sa.select(Consensus, Item.external_id)
        .join(Item, Item.id == Consensus.task_id)
        .where(Consensus.project_id == project.id, Consensus.review_state == "queued")
    )
    if reason is not None:
        query = query.where(Consensus.review_reason == reason)
    rows = session.execute(
        query.order_by(_URGENCY, Consensus.confidence, Consensus.task_id).offset(offset).limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


def review_item(session: Session, actor: Actor, project_id: int, task_id: int) -> dict[str, Any]:
    """Everything a reviewer weighs: the item, every current answer side by side, consensus, gold, predictions."""
    actor.require("reviews.work")
    project = get_project(session, actor, project_id)
    row = session.execute(
        sa.select(Item, Task)
        .join(Task, Task.item_id == Item.id)
        .where(Item.id == task_id, Task.project_id == project.id)
    ).first()
    if row is None:
        raise NotFound(f"no item {task_id} in project {project.id}", field="task_id")
    item, task = row
    answers = session.execute(
        sa.select(Annotation, User.name, User.email)
        .join(User, User.id == Annotation.user_id)
        .where(Annotation.task_id == task_id, Annotation.is_current.is_(True))
        .order_by(Annotation.created_at, Annotation.id)
    ).all()
    display = session.get(Derivative, (task_id, media.DISPLAY))
    size = (display.width, display.height) if display and display.width and display.height else None
    consensus = session.get(Consensus, task_id)
    gold = session.get(GoldAnswer, task_id)
    predictions = session.scalars(sa.select(Prediction).where(Prediction.task_id == task_id)).all()
    history = session.scalars(sa.select(Review).where(Review.task_id == task_id).order_by(Review.id)).all()
    audit.record(session, actor, "item.read", "item", task_id, {"via": "review"})
    session.commit()
    return {
        "task_id": task_id,
        "project_id": project.id,
        "schema_version": project.schema_version,
        "state": task.state,
        "item": item_payload(item, size),
        "answers": [
            {
                "annotation_id": a.id,
                "user_id": a.user_id,
                "annotator": name or email,
                "value": a.value,
                "counted": a.counted,
                "time_spent_ms": a.time_spent_ms,
                "created_at": a.created_at,
            }
            for a, name, email in answers
        ],
        "consensus": _consensus_dict(consensus),
        "gold": gold.value if gold else None,
        "predictions": [
            {"model_version": p.model_version, "value": p.value, "confidence": p.confidence} for p in predictions
        ],
        "reviews": [
            {"verdict": r.verdict, "value": r.value, "note": r.note, "reviewer_id": r.reviewer_id, "at": r.created_at}
            for r in history
        ],
    }


def _consensus_dict(row: Consensus | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "value": row.value,
        "confidence": row.confidence,
        "method": row.method,
        "status": row.status,
        "answers": row.answers,
        "posterior": row.posterior,
        "review_state": row.review_state,
        "review_reason": row.review_reason,
    }


def submit_review(
    session: Session,
    actor: Actor,
    project_id: int,
    task_id: int,
    *,
    verdict: str,
    value: Any = None,
    note: str = "",
) -> Review:
    """Record a verdict and apply it to the item's consensus, its task and its annotators' standing."""
    actor.require("reviews.work")
    project = get_project(session, actor, project_id)
    if verdict not in VERDICTS:
        raise Invalid(f"verdict must be one of {', '.join(VERDICTS)}", field="verdict")
    if len(note) > 5000:
        raise Invalid("note must be at most 5000 characters", field="note")
    task = session.scalar(
        sa.select(Task).where(Task.item_id == task_id, Task.project_id == project.id).with_for_update(key_share=True)
    )
    if task is None:
        raise NotFound(f"no item {task_id} in project {project.id}", field="task_id")
    if task.is_gold:
        raise Conflict(f"item {task_id} is gold; edit its gold answer instead", field="task_id")
    consensus = session.get(Consensus, task_id, with_for_update=True)
    if verdict == "correct":
        if value is None:
            raise Invalid("a correction needs the corrected answer in 'value'", field="value")
        value = validate_answer(current_schema(session, project), value)
    elif verdict == "accept":
        if consensus is None:
            raise Conflict(f"item {task_id} has no consensus to accept yet; correct it instead", field="task_id")
        value = consensus.value
    else:
        value = None
    now = utcnow()
    review = Review(
        project_id=project.id,
        task_id=task_id,
        reviewer_id=actor.user_id,
        verdict=verdict,
        value=value,
        reason=consensus.review_reason if consensus else None,
        note=note,
        created_at=now,
    )
    session.add(review)
    if consensus is not None and consensus.status == "auto":
        agrees = verdict == "accept" or (verdict == "correct" and value is not None and _same(value, consensus.value))
        record_audit(session, project.id, consensus.value, agrees)
    if verdict == "reject":
        _reopen(task, project.overlap, now)
        if consensus is not None:
            consensus.review_state, consensus.updated_at = "none", now
    else:
        assert value is not None
        _settle(session, project.id, project.kind, task_id, consensus, value, now)
    audit.record(session, actor, f"review.{verdict}", "item", task_id, {"reason": review.reason})
    session.commit()
    return review


def _same(answer: dict[str, Any], accepted: dict[str, Any]) -> bool:
    return sorted(answer.get("labels") or []) == sorted(accepted.get("labels") or [])


def _reopen(task: Task, overlap: int, now: Any) -> None:
    """Fresh answers: the task wants ``overlap`` more than it has."""
    task.answers_wanted = task.answers_count + overlap
    task.open_slots += overlap
    task.state = "open"
    task.updated_at = now


def _settle(
    session: Session,
    project_id: int,
    kind: str,
    task_id: int,
    consensus: Consensus | None,
    value: dict[str, Any],
    now: Any,
) -> None:
    answers = session.execute(
        sa.select(Annotation.user_id, Annotation.value).where(
            Annotation.task_id == task_id, Annotation.is_current.is_(True), Annotation.counted.is_(True)
        )
    ).all()
    if consensus is None:
        consensus = Consensus(task_id=task_id, project_id=project_id, answers=len(answers), posterior=None)
        session.add(consensus)
    consensus.value, consensus.confidence = value, 1.0
    consensus.method, consensus.status = "review", "reviewed"
    consensus.review_state, consensus.updated_at = "done", now
    results = [(user_id, standing.score(kind, answer, value).correct) for user_id, answer in answers]
    standing.add_review_results(session, project_id, results)
