"""An annotator's standing in a project: gold results, qualification, the accuracy floor, pausing.

Gold answers are scored the moment they are submitted. While a qualification test is running they count
towards it (pass or fail once it has ``items`` answers); after it they count towards the floor, which pauses an
annotator whose accuracy on ongoing gold falls below it and tells managers through the audit trail and the
quality report. A manager resumes a paused annotator, which starts a new floor window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.errors import Conflict, Forbidden, NotFound
from kolam.quality.gold import GoldScore, score_answer
from kolam.services import audit
from kolam.services.context import Actor
from kolam.services.projects import WorkProject, get_project
from kolam.services.quality_settings import qualification_scope, stored_quality
from kolam.store.tables import AnnotatorScore, Qualification, User
from kolam.store.types import utcnow
from kolam.store.upsert import insert_missing

_scores = cast(sa.Table, AnnotatorScore.__table__)
_qualifications = cast(sa.Table, Qualification.__table__)


def score(kind: str, answer: dict[str, Any], known: dict[str, Any]) -> GoldScore:
    """One answer against a known one, in the language the known transcript names (if any)."""
    segments = known.get("segments") or []
    language = next((s.get("language") for s in segments if s.get("language")), None)
    return score_answer(kind, answer, known, language=language)


def _score_row(session: Session, project_id: int, user_id: int) -> AnnotatorScore:
    """The annotator's row, created if missing, locked for the rest of the transaction."""
    insert_missing(
        session, _scores, [{"project_id": project_id, "user_id": user_id, "status": "active", "updated_at": utcnow()}]
    )
    row = session.scalar(
        sa.select(AnnotatorScore)
        .where(AnnotatorScore.project_id == project_id, AnnotatorScore.user_id == user_id)
        .with_for_update()
    )
    assert row is not None
    return row


def _qualification_row(session: Session, project: WorkProject, user_id: int) -> Qualification:
    scope = qualification_scope(project.id, project.quality.qualification)
    insert_missing(
        session,
        _qualifications,
        [
            {
                "org_id": project.org_id,
                "user_id": user_id,
                "scope": scope,
                "project_id": project.id,
                "status": "testing",
                "answered": 0,
                "correct": 0,
                "updated_at": utcnow(),
            }
        ],
    )
    row = session.scalar(
        sa.select(Qualification)
        .where(Qualification.org_id == project.org_id, Qualification.user_id == user_id, Qualification.scope == scope)
        .with_for_update()
    )
    assert row is not None
    return row


def add_gold_results(session: Session, project: WorkProject, actor: Actor, results: Sequence[bool]) -> None:
    """Count gold results: first towards a running qualification test, the rest towards the floor."""
    now = utcnow()
    row = _score_row(session, project.id, actor.user_id)
    row.gold_answered += len(results)
    row.gold_correct += sum(results)
    rest = list(results)
    policy = project.quality
    if policy.qualification.enabled:
        test = _qualification_row(session, project, actor.user_id)
        if test.status == "testing":
            take = rest[: max(policy.qualification.items - test.answered, 0)]
            rest = rest[len(take) :]
            test.answered += len(take)
            test.correct += sum(take)
            test.updated_at = now
            if test.answered >= policy.qualification.items:
                passed = test.correct >= policy.qualification.pass_accuracy * test.answered
                test.status = "passed" if passed else "failed"
                audit.record(
                    session,
                    actor,
                    "qualification.pass" if passed else "qualification.fail",
                    "user",
                    actor.user_id,
                    {"scope": test.scope, "project_id": project.id, "correct": test.correct, "of": test.answered},
                )
    row.floor_answered += len(rest)
    row.floor_correct += sum(rest)
    row.updated_at = now
    if (
        policy.floor_accuracy > 0
        and row.status == "active"
        and row.floor_answered >= policy.floor_min_gold
        and row.floor_correct < policy.floor_accuracy * row.floor_answered
    ):
        row.status = "paused"
        row.paused_reason = (
            f"accuracy on gold {row.floor_correct}/{row.floor_answered} "
            f"({row.floor_correct / row.floor_answered:.0%}) fell below the floor of {policy.floor_accuracy:.0%}"
        )
        audit.record(
            session,
            actor,
            "annotator.pause",
            "user",
            actor.user_id,
            {"project_id": project.id, "reason": row.paused_reason},
        )


@dataclass(frozen=True)
class WorkGate:
    """What the assignment engine may serve this annotator: everything, or only gold for a running test."""

    testing: bool
    test_items_left: int = 0


_PAUSED = sa.select(_scores.c.status, _scores.c.paused_reason).where(
    _scores.c.project_id == sa.bindparam("project_id"), _scores.c.user_id == sa.bindparam("user_id")
)


def gate(session: Session, project: WorkProject, actor: Actor) -> WorkGate:
    """Refuse a paused or failed annotator; during a qualification test, say how many test items are left."""
    row = session.connection().execute(_PAUSED, {"project_id": project.id, "user_id": actor.user_id}).first()
    if row is not None and row.status == "paused":
        raise Forbidden(f"you are paused on this project: {row.paused_reason}; ask a manager", code="paused")
    policy = project.quality.qualification
    if not policy.enabled:
        return WorkGate(testing=False)
    scope = qualification_scope(project.id, policy)
    test = session.scalar(
        sa.select(Qualification).where(
            Qualification.org_id == project.org_id,
            Qualification.user_id == actor.user_id,
            Qualification.scope == scope,
        )
    )
    if test is None:
        return WorkGate(testing=True, test_items_left=policy.items)
    if test.status == "failed":
        raise Forbidden(
            f"you did not pass the qualification test ({test.correct}/{test.answered} correct, "
            f"{policy.pass_accuracy:.0%} needed); ask a manager",
            code="qualification_failed",
        )
    if test.status == "passed":
        return WorkGate(testing=False)
    return WorkGate(testing=True, test_items_left=max(policy.items - test.answered, 0))


def resume(session: Session, actor: Actor, project_id: int, user_id: int) -> AnnotatorScore:
    """A manager lets a paused annotator work again; the floor starts counting afresh."""
    actor.require("members.manage")
    project = get_project(session, actor, project_id)
    row = session.get(AnnotatorScore, (project.id, user_id))
    if row is None or row.status != "paused":
        raise Conflict(f"user {user_id} is not paused on project {project.id}", field="user_id")
    row.status, row.paused_reason = "active", None
    row.floor_answered = row.floor_correct = 0
    row.updated_at = utcnow()
    audit.record(session, actor, "annotator.resume", "user", user_id, {"project_id": project.id})
    session.commit()
    return row


def retake(session: Session, actor: Actor, project_id: int, user_id: int) -> None:
    """A manager lets an annotator who failed a qualification test take it again."""
    actor.require("members.manage")
    project = get_project(session, actor, project_id)
    policy = stored_quality(project.quality).qualification
    scope = qualification_scope(project.id, policy)
    result = session.execute(
        sa.delete(Qualification).where(
            Qualification.org_id == project.org_id, Qualification.user_id == user_id, Qualification.scope == scope
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"user {user_id} has no qualification test for {scope}", field="user_id")
    audit.record(session, actor, "qualification.reset", "user", user_id, {"scope": scope})
    session.commit()


def my_qualification(session: Session, actor: Actor, project: WorkProject) -> dict[str, Any]:
    """What an annotator's tool shows about their test and standing on this project."""
    policy = project.quality.qualification
    out: dict[str, Any] = {"required": policy.enabled, "items": policy.items, "pass_accuracy": policy.pass_accuracy}
    if policy.enabled:
        test = session.scalar(
            sa.select(Qualification).where(
                Qualification.org_id == project.org_id,
                Qualification.user_id == actor.user_id,
                Qualification.scope == qualification_scope(project.id, policy),
            )
        )
        out["status"] = test.status if test else "not_started"
        out["answered"] = test.answered if test else 0
    else:
        out["status"] = "not_required"
        out["answered"] = 0
    row = session.get(AnnotatorScore, (project.id, actor.user_id))
    out["paused"] = bool(row and row.status == "paused")
    out["paused_reason"] = row.paused_reason if row else None
    return out


def add_review_results(session: Session, project_id: int, results: Sequence[tuple[int, bool]]) -> None:
    """A reviewer's verdict is gold-like evidence: count each judged answer for its annotator."""
    now = utcnow()
    for user_id, correct in results:
        row = _score_row(session, project_id, user_id)
        row.reviewed_answered += 1
        row.reviewed_correct += int(correct)
        row.updated_at = now


def standings(session: Session, project_id: int) -> list[tuple[AnnotatorScore, str, str]]:
    """Every annotator with a standing in the project, with name and e-mail (for managers only)."""
    rows = session.execute(
        sa.select(AnnotatorScore, User.name, User.email)
        .join(User, User.id == AnnotatorScore.user_id)
        .where(AnnotatorScore.project_id == project_id)
        .order_by(AnnotatorScore.user_id)
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]
