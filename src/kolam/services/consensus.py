"""Consensus rows and adaptive overlap.

The full re-aggregation of a project lives in ``kolam.services.resolve`` (a job); this module holds what it and
the submit path share: writing consensus rows without ever overwriting a reviewer's verdict, the review
reasons, and adaptive overlap — after each answer to a class item, the item's posterior under the annotators'
estimated confusion matrices decides whether it is done, needs one more annotator, or goes to review.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.labels.schema import ImageClassesSchema, TextClassesSchema
from kolam.quality.overlap import DEFAULT_ACCURACY, OverlapPolicy, decide, default_confusion, item_posterior
from kolam.services.context import Actor
from kolam.services.projects import WorkProject, get_project, schema_version
from kolam.store.tables import Annotation, AnnotatorScore, Consensus, Prediction
from kolam.store.types import utcnow
from kolam.store.upsert import upsert

REVIEW_REASONS = ("flagged", "low_confidence", "disagreement", "audit", "sample")
"""Why an item is in the review queue, most urgent first (``audit``: the model labelled it alone)."""

_consensus = cast(sa.Table, Consensus.__table__)
_annotations = cast(sa.Table, Annotation.__table__)
_scores = cast(sa.Table, AnnotatorScore.__table__)
_predictions = cast(sa.Table, Prediction.__table__)


@dataclass(frozen=True)
class ConsensusRow:
    task_id: int
    value: dict[str, Any]
    confidence: float
    method: str
    status: str
    answers: int
    posterior: dict[str, float] | None = None
    review_reason: str | None = None


def write_consensus(session: Session, project_id: int, rows: Sequence[ConsensusRow], now: datetime) -> None:
    """Insert or refresh consensus rows; a reviewed item keeps its verdict whatever the answers say now."""
    upsert(
        session,
        _consensus,
        [
            {
                "task_id": r.task_id,
                "project_id": project_id,
                "value": r.value,
                "confidence": float(r.confidence),
                "method": r.method,
                "status": r.status,
                "answers": r.answers,
                "posterior": r.posterior,
                "review_state": "queued" if r.review_reason else "none",
                "review_reason": r.review_reason,
                "updated_at": now,
            }
            for r in rows
        ],
        keys=["task_id"],
        update=["value", "confidence", "method", "status", "answers", "posterior", "review_state", "review_reason",
                "updated_at"],
        unless=_consensus.c.review_state == "done",
    )  # fmt: skip


def in_sample(task_id: int, share: float, salt: str = "review") -> bool:
    """A stable pseudo-random draw per item: the same items stay sampled however often consensus is recomputed.
    ``salt`` keeps independent samples (review, audit) independent."""
    if share <= 0:
        return False
    digest = hashlib.blake2b(f"{salt}:{task_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < share


def review_reason(
    *, flagged: bool, confidence: float, vote_share: float | None, settled: bool, task_id: int, project: WorkProject
) -> str | None:
    """Why a settled item should go to review (None: it need not). Items still collecting answers wait."""
    if not settled:
        return None
    policy = project.quality
    if flagged:
        return "flagged"
    if confidence < policy.target_confidence:
        return "low_confidence"
    if vote_share is not None and vote_share < policy.review_disagreement:
        return "disagreement"
    return "sample" if in_sample(task_id, policy.review_sample) else None


def posterior_dict(names: Sequence[str], probabilities: np.ndarray, top: int = 5) -> dict[str, float]:
    """The most probable classes and their posterior, rounded: enough for a reviewer and the export."""
    order = np.argsort(-probabilities, kind="stable")[:top]
    return {names[i]: round(float(probabilities[i]), 6) for i in order if probabilities[i] > 0}


class OpenTask(Protocol):
    """A task as the submit path holds it under lock (``submissions._LockedTask``)."""

    task_id: int
    state: str
    open_slots: int
    answers_count: int
    answers_wanted: int


def single_label_names(session: Session, project: WorkProject) -> list[str] | None:
    """The class names of a single-label class project (retired ones too), or None for any other project."""
    schema = schema_version(session, project, project.schema_version)
    if not isinstance(schema, ImageClassesSchema | TextClassesSchema) or schema.multi_label:
        return None
    return schema.label_names(include_retired=True)


def adapt_overlap(session: Session, project: WorkProject, tasks: Sequence[OpenTask]) -> None:
    """Decide, for tasks that just got an answer, whether each is done, wants one more answer, or needs review.

    Changes the tasks in place (the caller writes them) and writes their provisional consensus. Only
    single-label class projects are adaptive; boxes and transcripts keep the fixed overlap.
    """
    names = single_label_names(session, project) if tasks else None
    if names is None:
        return
    index = {name: i for i, name in enumerate(names)}
    k = len(names)
    rows = session.execute(
        sa.select(_annotations.c.task_id, _annotations.c.user_id, _annotations.c.value).where(
            _annotations.c.task_id.in_([t.task_id for t in tasks]),
            _annotations.c.is_current.is_(True),
            _annotations.c.counted.is_(True),
        )
    ).all()
    users = {r.user_id for r in rows}
    known: dict[int, np.ndarray] = {}
    skills: list[float] = []
    for user_id, confusion, skill in session.execute(
        sa.select(_scores.c.user_id, _scores.c.confusion, _scores.c.skill).where(
            _scores.c.project_id == project.id, _scores.c.user_id.in_(users)
        )
    ):
        matrix = np.asarray(confusion, dtype=np.float64) if confusion else None
        if matrix is not None and matrix.shape == (k, k) and np.all(matrix.sum(axis=1) > 0):
            known[user_id] = matrix / matrix.sum(axis=1, keepdims=True)  # stored rounded to 6 decimals
        if skill is not None:
            skills.append(float(skill))
    fallback = default_confusion(k, float(np.mean(skills)) if skills else DEFAULT_ACCURACY)
    by_task: dict[int, list[tuple[int, int, bool]]] = {}
    for r in rows:
        labels = r.value.get("labels") or []
        flagged = bool(r.value.get("unclear")) or bool(r.value.get("comment"))
        code = index.get(labels[0], -1) if len(labels) == 1 else -1
        by_task.setdefault(r.task_id, []).append((r.user_id, code, flagged))
    policy = OverlapPolicy(
        min_answers=min(project.overlap, project.quality.max_overlap),
        max_answers=project.quality.max_overlap,
        target=project.quality.target_confidence,
    )
    uniform = np.full(k, 1.0 / k)
    model = _model_priors(session, [t.task_id for t in tasks], index) if project.model_prior else {}
    out: list[ConsensusRow] = []
    for task in tasks:
        prior = model.get(task.task_id, uniform)
        answers = by_task.get(task.task_id, [])
        usable = [(user, code) for user, code, _ in answers if code >= 0]
        confusions = np.array([known.get(user, fallback) for user, _ in usable]).reshape(len(usable), k, k)
        posterior = item_posterior(np.array([code for _, code in usable], dtype=np.int64), confusions, prior)
        decision = decide(posterior, task.answers_count, policy)
        if decision == "more" and task.answers_count >= task.answers_wanted:
            task.answers_wanted = task.answers_count + 1
            task.open_slots += 1
            task.state = "open"
        top = int(posterior.argmax())
        codes = {code for _, code in usable}
        out.append(
            ConsensusRow(
                task_id=task.task_id,
                value={"labels": [names[top]]},
                confidence=float(posterior[top]),
                method=f"adaptive:{project.quality.method}",
                status="agreed" if len(codes) == 1 and len(usable) == len(answers) else "aggregated",
                answers=len(answers),
                posterior=posterior_dict(names, posterior),
                review_reason=("flagged" if any(f for _, _, f in answers) else "low_confidence")
                if decision == "review"
                else None,
            )
        )
    write_consensus(session, project.id, out, utcnow())


def _model_priors(session: Session, task_ids: list[int], index: dict[str, int]) -> dict[int, np.ndarray]:
    """The project model's calibrated distribution per task, as a prior over the classes (missing classes get
    a sliver, so that people can always overrule the model)."""
    rows = session.execute(
        sa.select(_predictions.c.task_id, _predictions.c.distribution).where(
            _predictions.c.task_id.in_(task_ids), _predictions.c.model_id.is_not(None)
        )
    ).all()
    out = {}
    for task_id, distribution in rows:
        if not distribution:
            continue
        prior = np.full(len(index), 1e-4)
        for name, p in distribution.items():
            if name in index:
                prior[index[name]] = max(float(p), 1e-4)
        out[task_id] = prior / prior.sum()
    return out


def list_consensus(
    session: Session, actor: Actor, project_id: int, *, after: int = 0, limit: int = 100
) -> list[Consensus]:
    actor.require("stats.read")
    project = get_project(session, actor, project_id)
    query = (
        sa.select(Consensus)
        .where(Consensus.project_id == project.id, Consensus.task_id > after)
        .order_by(Consensus.task_id)
        .limit(limit)
    )
    return list(session.scalars(query))
