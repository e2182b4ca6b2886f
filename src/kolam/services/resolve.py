"""Resolve a project: every item's consensus from all its answers, and every annotator's estimated skill.

Run as a job after answers arrive (debounced) and on demand; for a project too big to build its quality report on
request, the refresh also keeps the report's snapshot. Class answers go through the project's truth
inference method, anchored on gold answers and reviewers' verdicts; boxes are fused (weighted box fusion,
weights = each annotator's F1 against the last consensus); transcripts are combined by skill-weighted ROVER
(weights = 1 − WER against a first, unweighted consensus). Settled items that are flagged, unsure, disputed or
drawn in the random sample are queued for review.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.labels.schema import ImageBoxesSchema, ImageClassesSchema, TextClassesSchema, TranscriptionSchema
from kolam.services import consensus_kinds, quality_report
from kolam.services.consensus import write_consensus
from kolam.services.crowd import Answer, Crowd
from kolam.services.projects import WorkProject, schema_version
from kolam.services.quality_settings import stored_quality
from kolam.store.db import Database
from kolam.store.tables import Annotation, AnnotatorScore, Consensus, GoldAnswer, Project, Task
from kolam.store.types import utcnow
from kolam.store.upsert import upsert

_scores = cast(sa.Table, AnnotatorScore.__table__)
WRITE_CHUNK = 2_000


@dataclass(frozen=True)
class ResolveSummary:
    project_id: int
    items: int
    answers: int
    annotators: int
    queued_for_review: int
    method: str


def _project(session: Session, project_id: int) -> WorkProject:
    p = session.get(Project, project_id)
    if p is None:
        raise LookupError(f"no project {project_id}")
    return WorkProject(
        id=p.id,
        org_id=p.org_id,
        kind=p.kind,
        schema_version=p.schema_version,
        gold_ratio=p.gold_ratio,
        lease_seconds=p.lease_seconds,
        required_skills=tuple(p.required_skills or ()),
        overlap=p.overlap,
        quality=stored_quality(p.quality),
    )


def _crowd(session: Session, project_id: int) -> Crowd:
    rows = session.execute(
        sa.select(Annotation.task_id, Annotation.user_id, Annotation.value)
        .join(Task, Task.item_id == Annotation.task_id)
        .where(
            Annotation.project_id == project_id,
            Annotation.is_current.is_(True),
            Annotation.counted.is_(True),
            Task.state != "staged",
        )
        .order_by(Annotation.task_id, Annotation.user_id)
    ).all()
    answers = [Answer(r.task_id, r.user_id, r.value) for r in rows]
    gold_query = sa.select(GoldAnswer.task_id, GoldAnswer.value).where(GoldAnswer.project_id == project_id)
    anchors: dict[int, dict[str, Any]] = {task_id: value for task_id, value in session.execute(gold_query)}
    anchors.update(
        session.execute(
            sa.select(Consensus.task_id, Consensus.value).where(
                Consensus.project_id == project_id, Consensus.review_state == "done"
            )
        ).all()
    )
    settled = set(
        session.scalars(
            sa.select(Task.item_id).where(Task.project_id == project_id, Task.state == "done", Task.is_gold.is_(False))
        ).all()
    )
    gold_tasks = set(session.scalars(sa.select(GoldAnswer.task_id).where(GoldAnswer.project_id == project_id)).all())
    tasks = sorted({a.task_id for a in answers} | set(anchors))
    users = sorted({a.user_id for a in answers})
    return Crowd(answers, tasks, users, settled - gold_tasks, anchors, gold_tasks)


def resolve_project(db: Database, project_id: int) -> ResolveSummary:
    """Recompute and store every item's consensus and every annotator's skill in the project.

    Reads and computes outside any write transaction, then writes in short ones (``WRITE_CHUNK`` items each):
    on SQLite a writer holds the database's only write lock, and annotators' submits must not wait on this.
    """
    with db.read() as session:
        project = _project(session, project_id)
        crowd = _crowd(session, project_id)
        schema = schema_version(session, project, project.schema_version)
        skill_query = sa.select(_scores.c.user_id, _scores.c.skill).where(_scores.c.project_id == project.id)
        previous: dict[int, float | None] = {user_id: skill for user_id, skill in session.execute(skill_query)}
    if isinstance(schema, ImageClassesSchema | TextClassesSchema):
        names = schema.label_names(include_retired=True)
        if schema.multi_label:
            rows, skills = consensus_kinds.multi_label(project, crowd, names)
        else:
            rows, skills = consensus_kinds.single_label(project, crowd, names)
    elif isinstance(schema, ImageBoxesSchema):
        rows, skills = consensus_kinds.boxes(project, crowd, schema.label_names(include_retired=True), previous)
    elif isinstance(schema, TranscriptionSchema):
        rows, skills = consensus_kinds.transcripts(project, crowd)
    else:  # pragma: no cover - every kind is handled above
        raise ValueError(f"no consensus for project kind {project.kind}")
    rows = [r for r in rows if r.task_id not in crowd.gold]
    now = utcnow()
    for start in range(0, len(rows), WRITE_CHUNK):
        with db.write() as session:
            write_consensus(session, project.id, rows[start : start + WRITE_CHUNK], now)
            session.commit()
    with db.write() as session:
        upsert(
            session,
            _scores,
            [
                {"project_id": project.id, "user_id": user_id, "skill": est.skill, "confusion": est.confusion,
                 "detail": est.detail, "status": "active", "updated_at": now}
                for user_id, est in skills.items()
            ],
            keys=["project_id", "user_id"],
            update=["skill", "confusion", "detail", "updated_at"],
        )  # fmt: skip
        session.commit()
    quality_report.save_snapshot(db, project.id)
    return ResolveSummary(
        project_id=project.id,
        items=len(rows),
        answers=len(crowd.answers),
        annotators=len(crowd.users),
        queued_for_review=sum(1 for r in rows if r.review_reason),
        method=project.quality.method,
    )
