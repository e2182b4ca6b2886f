"""Resolve a project: every item's consensus from all its answers, and every annotator's estimated skill.

Run as a job after answers arrive (debounced) and on demand; for a project too big to build its quality report on
request, the refresh also keeps the report's snapshot. Class answers go through the project's truth
inference method, anchored on gold answers and reviewers' verdicts; boxes are fused (weighted box fusion,
weights = each annotator's F1 against the last consensus); transcripts are combined by skill-weighted ROVER
(weights = 1 − WER against a first, unweighted consensus). Settled items that are flagged, unsure, disputed or
drawn in the random sample are queued for review.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.labels.schema import ImageBoxesSchema, ImageClassesSchema, TextClassesSchema, TranscriptionSchema
from kolam.quality.boxes import BoxConsensus, score_annotators
from kolam.quality.methods import METHODS, make_method
from kolam.quality.transcripts import cer, rover, wer
from kolam.quality.truth_multilabel import MultiLabel
from kolam.services import quality_report
from kolam.services.consensus import ConsensusRow, posterior_dict, review_reason, write_consensus
from kolam.services.projects import WorkProject, schema_version
from kolam.services.quality_settings import stored_quality
from kolam.store.db import Database
from kolam.store.tables import Annotation, AnnotatorScore, Consensus, GoldAnswer, Project, Task
from kolam.store.types import utcnow
from kolam.store.upsert import upsert

_scores = cast(sa.Table, AnnotatorScore.__table__)
WRITE_CHUNK = 2_000


@dataclass(frozen=True)
class Answer:
    task_id: int
    user_id: int
    value: dict[str, Any]


@dataclass(frozen=True)
class ResolveSummary:
    project_id: int
    items: int
    answers: int
    annotators: int
    queued_for_review: int
    method: str


@dataclass
class _Crowd:
    """A project's answers as the algorithms want them: items and annotators numbered from 0."""

    answers: list[Answer]
    tasks: list[int]
    users: list[int]
    settled: set[int]
    anchors: dict[int, dict[str, Any]]
    gold: set[int]

    @property
    def task_index(self) -> dict[int, int]:
        return {task_id: i for i, task_id in enumerate(self.tasks)}

    @property
    def user_index(self) -> dict[int, int]:
        return {user_id: i for i, user_id in enumerate(self.users)}


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


def _crowd(session: Session, project_id: int) -> _Crowd:
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
    return _Crowd(answers, tasks, users, settled - gold_tasks, anchors, gold_tasks)


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
            rows, skills = _multi_label(project, crowd, names)
        else:
            rows, skills = _single_label(project, crowd, names)
    elif isinstance(schema, ImageBoxesSchema):
        rows, skills = _boxes(project, crowd, schema.label_names(include_retired=True), previous)
    elif isinstance(schema, TranscriptionSchema):
        rows, skills = _transcripts(project, crowd)
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


@dataclass(frozen=True)
class Estimate:
    """One annotator's estimated quality: a skill in [0, 1], a confusion matrix (class projects), and the
    figures behind the skill (boxes: precision, recall, mean IoU; transcripts: WER and CER to consensus)."""

    skill: float | None
    confusion: list[Any] | None = None
    detail: dict[str, float] | None = None


Skills = dict[int, Estimate]


def _flags(answers: Iterable[Answer]) -> dict[int, bool]:
    flagged: dict[int, bool] = defaultdict(bool)
    for a in answers:
        flagged[a.task_id] |= bool(a.value.get("unclear")) or bool(a.value.get("comment"))
    return flagged


def _single_label(project: WorkProject, crowd: _Crowd, names: list[str]) -> tuple[list[ConsensusRow], Skills]:
    index = {name: i for i, name in enumerate(names)}
    t_index, u_index = crowd.task_index, crowd.user_index
    usable = [a for a in crowd.answers if len(a.value.get("labels") or []) == 1 and a.value["labels"][0] in index]
    tasks = np.array([t_index[a.task_id] for a in usable], dtype=np.int64)
    workers = np.array([u_index[a.user_id] for a in usable], dtype=np.int64)
    labels = np.array([index[a.value["labels"][0]] for a in usable], dtype=np.int64)
    gold = np.full(len(crowd.tasks), -1, dtype=np.int64)
    for task_id, value in crowd.anchors.items():
        anchor = value.get("labels") or []
        if len(anchor) == 1 and anchor[0] in index:
            gold[t_index[task_id]] = index[anchor[0]]
    k = len(names)
    model = make_method(project.quality.method).fit(
        tasks, workers, labels, k, n_tasks=len(crowd.tasks), n_workers=len(crowd.users), gold=gold
    )
    probas = np.asarray(model.probas_)
    votes = np.zeros((len(crowd.tasks), k))
    np.add.at(votes, (tasks, labels), 1.0)
    counts = np.bincount([t_index[a.task_id] for a in crowd.answers], minlength=len(crowd.tasks))
    flagged = _flags(crowd.answers)
    rows = []
    for i, task_id in enumerate(crowd.tasks):
        if counts[i] == 0:
            continue
        top = int(probas[i].argmax())
        total = votes[i].sum()
        share = float(votes[i, top] / total) if total else 0.0
        confidence = float(probas[i, top])
        rows.append(
            ConsensusRow(
                task_id=task_id,
                value={"labels": [names[top]]},
                confidence=confidence,
                method=project.quality.method,
                status="agreed" if total == counts[i] and votes[i].max() == total else "aggregated",
                answers=int(counts[i]),
                posterior=posterior_dict(names, probas[i]),
                review_reason=review_reason(
                    flagged=flagged[task_id], confidence=confidence, vote_share=share,
                    settled=task_id in crowd.settled, task_id=task_id, project=project,
                ),
            )
        )  # fmt: skip
    return rows, _class_skills(model, crowd, tasks, workers, labels, probas.argmax(axis=1), k)


def _class_skills(
    model: Any, crowd: _Crowd, tasks: np.ndarray, workers: np.ndarray, labels: np.ndarray, truth: np.ndarray, k: int
) -> Skills:
    """Each annotator's confusion matrix and accuracy: the method's own estimate where it has one (Dawid–Skene's
    ``errors_``), else counted against the consensus with one pseudo-count per cell."""
    n = len(crowd.users)
    errors = getattr(model, "errors_", None)
    if errors is None or np.shape(errors) != (n, k, k):
        counts = np.ones((n, k, k))
        np.add.at(counts, (workers, truth[tasks], labels), 1.0)
        errors = counts / counts.sum(axis=2, keepdims=True)
    hits = np.bincount(workers, weights=(truth[tasks] == labels).astype(float), minlength=n)
    totals = np.bincount(workers, minlength=n)
    out: Skills = {}
    for w, user_id in enumerate(crowd.users):
        skill = float(hits[w] / totals[w]) if totals[w] else None
        out[user_id] = Estimate(skill, np.round(np.asarray(errors[w]), 6).tolist())
    return out


def _multi_label(project: WorkProject, crowd: _Crowd, names: list[str]) -> tuple[list[ConsensusRow], Skills]:
    index = {name: i for i, name in enumerate(names)}
    t_index, u_index = crowd.task_index, crowd.user_index
    usable = [a for a in crowd.answers if not (a.value.get("unclear") and not a.value.get("labels"))]
    sets = [tuple(index[n] for n in a.value.get("labels") or [] if n in index) for a in usable]
    gold = {
        t_index[task_id]: tuple(index[n] for n in value.get("labels") or [] if n in index)
        for task_id, value in crowd.anchors.items()
    }
    model = MultiLabel(METHODS[project.quality.method]).fit(
        [t_index[a.task_id] for a in usable], [u_index[a.user_id] for a in usable], sets, len(names),
        n_tasks=len(crowd.tasks), n_workers=len(crowd.users), gold=gold or None,
    )  # fmt: skip
    counts = np.bincount([t_index[a.task_id] for a in crowd.answers], minlength=len(crowd.tasks))
    flagged = _flags(crowd.answers)
    agreed: dict[int, set[tuple[int, ...]]] = defaultdict(set)
    for a, s in zip(usable, sets, strict=True):
        agreed[a.task_id].add(tuple(sorted(s)))
    rows = []
    for i, task_id in enumerate(crowd.tasks):
        if counts[i] == 0:
            continue
        p = model.probas_[i]
        confidence = float(np.min(np.maximum(p, 1 - p))) if p.size else 1.0
        rows.append(
            ConsensusRow(
                task_id=task_id,
                value={"labels": [names[c] for c in model.label_sets_[i]]},
                confidence=confidence,
                method=project.quality.method,
                status="agreed" if len(agreed[task_id]) == 1 else "aggregated",
                answers=int(counts[i]),
                posterior={names[c]: round(float(p[c]), 6) for c in range(len(names))},
                review_reason=review_reason(
                    flagged=flagged[task_id], confidence=confidence, vote_share=None,
                    settled=task_id in crowd.settled, task_id=task_id, project=project,
                ),
            )
        )  # fmt: skip
    hits: dict[int, list[bool]] = defaultdict(list)
    for a, s in zip(usable, sets, strict=True):
        hits[a.user_id].append(tuple(sorted(s)) == model.label_sets_[t_index[a.task_id]])
    return rows, {u: Estimate(float(np.mean(h)) if h else None) for u, h in hits.items()}


def _boxes(
    project: WorkProject, crowd: _Crowd, names: list[str], previous: dict[int, float | None]
) -> tuple[list[ConsensusRow], Skills]:
    """Weighted box fusion per image (weights: each annotator's box F1 at the last refresh), and each annotator's
    F1 against the consensus, or against gold where the image is gold."""
    index = {name: i for i, name in enumerate(names)}
    by_task: dict[int, list[Answer]] = defaultdict(list)
    for a in crowd.answers:
        by_task[a.task_id].append(a)
    flagged = _flags(crowd.answers)
    rows: list[ConsensusRow] = []
    tp: dict[int, float] = defaultdict(float)
    drawn: dict[int, float] = defaultdict(float)
    wanted: dict[int, float] = defaultdict(float)
    overlap: dict[int, float] = defaultdict(float)
    for task_id, answers in by_task.items():
        people = sorted({a.user_id for a in answers})
        who = {u: i for i, u in enumerate(people)}
        weights = np.array([max(float(previous.get(u) or 1.0), 0.05) for u in people])
        boxes = [(b, who[a.user_id]) for a in answers for b in a.value.get("boxes") or []]
        xywh = np.array([[b["x"], b["y"], b["w"], b["h"]] for b, _ in boxes], dtype=np.float64).reshape(-1, 4)
        codes = np.array([index.get(b.get("label"), len(names)) for b, _ in boxes], dtype=np.int64)
        annotators = np.array([w for _, w in boxes], dtype=np.int64)
        fused = BoxConsensus(min_votes=max(1, math.ceil(len(people) / 2))).fit_predict(xywh, codes, annotators, weights)
        ref_xywh, ref_codes = fused.xywh, fused.labels
        anchor = crowd.anchors.get(task_id)
        if anchor is not None:
            ref = anchor.get("boxes") or []
            ref_xywh = np.array([[b["x"], b["y"], b["w"], b["h"]] for b in ref], dtype=np.float64).reshape(-1, 4)
            ref_codes = np.array([index.get(b.get("label"), len(names)) for b in ref], dtype=np.int64)
        scores = score_annotators(xywh, codes, annotators, len(people), ref_xywh, ref_codes)
        for u, i in who.items():
            tp[u] += float(scores.true_positives[i])
            drawn[u] += float(scores.n_boxes[i])
            wanted[u] += float(scores.n_reference[i])
            overlap[u] += float(scores.iou_sum[i])
        confidence = float(fused.confidence.mean()) if len(fused.confidence) else 1.0
        value = {
            "boxes": [
                {"x": round(float(x), 2), "y": round(float(y), 2), "w": round(float(w), 2), "h": round(float(h), 2),
                 "label": names[c] if c < len(names) else None}
                for (x, y, w, h), c in zip(fused.xywh.tolist(), fused.labels.tolist(), strict=True)
            ]
        }  # fmt: skip
        rows.append(
            ConsensusRow(
                task_id=task_id, value=value, confidence=confidence, method="box_fusion",
                status="agreed" if len(fused.votes) == 0 or bool((fused.votes == len(people)).all()) else "aggregated",
                answers=len(answers), posterior=None,
                review_reason=review_reason(
                    flagged=flagged[task_id], confidence=confidence, vote_share=None,
                    settled=task_id in crowd.settled, task_id=task_id, project=project,
                ),
            )
        )  # fmt: skip
    skills: Skills = {}
    for u in crowd.users:
        detail = {
            "precision": tp[u] / drawn[u] if drawn[u] else 1.0,
            "recall": tp[u] / wanted[u] if wanted[u] else 1.0,
            "mean_iou": overlap[u] / tp[u] if tp[u] else 0.0,
        }
        denominator = drawn[u] + wanted[u]
        skills[u] = Estimate(
            2 * tp[u] / denominator if denominator else 1.0, detail={k: round(v, 4) for k, v in detail.items()}
        )
    return rows, skills


def _transcripts(project: WorkProject, crowd: _Crowd) -> tuple[list[ConsensusRow], Skills]:
    by_task: dict[int, list[Answer]] = defaultdict(list)
    for a in crowd.answers:
        by_task[a.task_id].append(a)
    flagged = _flags(crowd.answers)

    def text(a: Answer) -> str:
        return " ".join(s.get("text", "") for s in a.value.get("segments") or [])

    def language(answers: list[Answer]) -> str | None:
        langs = [s.get("language") for a in answers for s in a.value.get("segments") or [] if s.get("language")]
        return max(set(langs), key=langs.count) if langs else None

    first: dict[int, str] = {t: rover([text(a) for a in answers], language=language(answers)).text
                             for t, answers in by_task.items()}  # fmt: skip
    errors: dict[int, list[float]] = defaultdict(list)
    for task_id, answers in by_task.items():
        lang = language(answers)
        for a in answers:
            errors[a.user_id].append(min(wer(first[task_id], text(a), lang), 1.0) if first[task_id] else 0.0)
    weight = {u: max(1.0 - float(np.mean(e)), 0.05) for u, e in errors.items()}
    rows = []
    to_consensus: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for task_id, answers in by_task.items():
        lang = language(answers)
        result = rover([text(a) for a in answers], [weight[a.user_id] for a in answers], language=lang)
        for a in answers:
            if result.text:
                to_consensus[a.user_id].append((wer(result.text, text(a), lang), cer(result.text, text(a), lang)))
        starts = [s["start"] for a in answers for s in a.value.get("segments") or []]
        ends = [s["end"] for a in answers for s in a.value.get("segments") or []]
        confidence = float(result.confidence.mean()) if len(result.confidence) else 1.0
        segments = (
            [{"start": min(starts), "end": max(ends), "text": result.text, "language": lang}] if result.text else []
        )
        rows.append(
            ConsensusRow(
                task_id=task_id, value={"segments": segments}, confidence=confidence, method="rover",
                status="agreed" if len({text(a) for a in answers}) == 1 else "aggregated",
                answers=len(answers), posterior=None,
                review_reason=review_reason(
                    flagged=flagged[task_id], confidence=confidence, vote_share=None,
                    settled=task_id in crowd.settled, task_id=task_id, project=project,
                ),
            )
        )  # fmt: skip
    detail = {
        u: {
            "wer_to_consensus": round(float(np.mean([w for w, _ in e])), 4),
            "cer_to_consensus": round(float(np.mean([c for _, c in e])), 4),
        }
        for u, e in to_consensus.items()
    }
    return rows, {u: Estimate(weight[u], detail=detail.get(u)) for u in crowd.users}
