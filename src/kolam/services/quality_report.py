"""The client's quality report: the evidence that a project's labels can be trusted.

Accuracy on gold (per annotator and per class, with Wilson intervals), agreement between annotators
(Krippendorff's alpha, Fleiss' kappa), how sure the consensus is, each annotator's estimated skill, the
confusion between classes, what the review queue settled, and what it cost in human answers per item.
Annotators are pseudonyms for anyone who does not manage members (the client's viewer seat).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.labels.schema import ImageClassesSchema, TextClassesSchema
from kolam.quality import report
from kolam.quality.report import BoolArray, IntArray
from kolam.services import review, standing
from kolam.services.confusions import confused_pairs_section
from kolam.services.context import Actor
from kolam.services.projects import current_schema, get_project
from kolam.services.quality_settings import stored_quality
from kolam.store.db import Database
from kolam.store.tables import Annotation, AnswerLabel, Consensus, GoldAnswer, Project, QualitySnapshot, Review, Task
from kolam.store.types import utcnow
from kolam.store.upsert import upsert


def pseudonym(user_id: int) -> str:
    return f"a{user_id}"  # the pseudonym exports and the dashboard use


@dataclass(frozen=True)
class _Answers:
    """The project's counted current answers as arrays, one entry per answer; ``label`` is the class code of a
    single-label answer (-1 for none, or for a project that is not single-label)."""

    task: IntArray
    user: IntArray
    gold: BoolArray
    label: IntArray


def _answers(session: Session, project_id: int, classes: list[str] | None) -> _Answers:
    """Read from the index of answers' classes, not the answers' JSON: a 200k-item report must not parse 1M values."""
    rows = session.execute(
        sa.select(Annotation.task_id, Annotation.user_id, Task.is_gold, AnswerLabel.label)
        .join(Task, Task.item_id == Annotation.task_id)
        .outerjoin(AnswerLabel, AnswerLabel.annotation_id == Annotation.id)
        .where(Annotation.project_id == project_id, Annotation.is_current.is_(True), Annotation.counted.is_(True))
    ).all()
    index = {c: i for i, c in enumerate(classes or ())}
    n = len(rows)
    return _Answers(
        task=np.fromiter((r[0] for r in rows), np.int64, n),
        user=np.fromiter((r[1] for r in rows), np.int64, n),
        gold=np.fromiter((bool(r[2]) for r in rows), np.bool_, n),
        label=np.fromiter((index.get(r[3], -1) for r in rows), np.int64, n),
    )


LIVE_LIMIT = 100_000
"""Projects with more answers get the report the last consensus refresh made (a 1M-answer report takes about
a minute to build); smaller ones are built on request (a few seconds at most)."""


def quality_report(
    session: Session, actor: Actor | None, project_id: int, *, org_id: int | None = None
) -> dict[str, Any]:
    """The report as JSON; ``actor`` None is the command line (inside ``org_id``), which sees names.

    ``as_of`` says when it was built: now, or at the last refresh for a project over ``LIVE_LIMIT`` answers.
    """
    if actor is not None:
        actor.require("stats.read")
    project = get_project(session, actor, project_id, org_id=org_id)
    snapshot = session.get(QualitySnapshot, project.id) if _answer_count(session, project.id) > LIVE_LIMIT else None
    report = dict(snapshot.report) if snapshot is not None else build_report(session, project)
    report["as_of"] = (snapshot.computed_at if snapshot is not None else utcnow()).isoformat()
    return report if actor is None or actor.can("members.manage") else _for_viewer(report)


def _answer_count(session: Session, project_id: int) -> int:
    count = session.scalar(
        sa.select(sa.func.count())
        .select_from(Annotation)
        .where(Annotation.project_id == project_id, Annotation.is_current.is_(True), Annotation.counted.is_(True))
    )
    return int(count or 0)


def _for_viewer(report: dict[str, Any]) -> dict[str, Any]:
    """The client's seat sees annotators by pseudonym only (the same as in exports)."""
    annotators = [
        {**{k: v for k, v in entry.items() if k != "user_id"}, "annotator": pseudonym(entry["user_id"])}
        for entry in report["annotators"]
    ]
    return {**report, "annotators": annotators}


def save_snapshot(db: Database, project_id: int) -> bool:
    """Build and keep the report of a project too big to build on request (the refresh job calls this)."""
    with db.read() as session:
        if _answer_count(session, project_id) <= LIVE_LIMIT:
            return False
        project = session.get(Project, project_id)
        if project is None:
            return False
        report = build_report(session, project)
    with db.write() as session:
        upsert(
            session,
            cast(sa.Table, QualitySnapshot.__table__),
            [{"project_id": project_id, "report": report, "computed_at": utcnow()}],
            keys=["project_id"],
            update=["report", "computed_at"],
        )
        session.commit()
    return True


def build_report(session: Session, project: Project) -> dict[str, Any]:
    """The full report with annotators named (``user_id`` and name or e-mail)."""
    schema = current_schema(session, project)
    classes = (
        schema.label_names(include_retired=True)
        if isinstance(schema, ImageClassesSchema | TextClassesSchema) and not schema.multi_label
        else None
    )
    answers = _answers(session, project.id, classes)
    consensus = session.execute(
        sa.select(Consensus.task_id, Consensus.value, Consensus.confidence, Consensus.status, Consensus.method).where(
            Consensus.project_id == project.id
        )
    ).all()
    settled = _consensus_codes(consensus, classes)
    gold = _gold(session, project, classes)
    confusion = _confusion(answers, settled, classes)
    return {
        "project": {"id": project.id, "name": project.name, "kind": project.kind},
        "policy": stored_quality(project.quality).model_dump(mode="json"),
        "summary": _summary(session, project, answers, consensus),
        "gold": gold,
        "agreement": _agreement(answers, classes),
        "consensus": _consensus(consensus),
        "review": _review(session, project.id),
        "annotators": _annotators(session, project, answers, settled, gold.pop("by_annotator_and_class", {})),
        "confusion": confusion,
        "confused_pairs": confused_pairs_section(
            session, project.id, classes, confusion["counts"] if confusion else None
        ),
    }


def _consensus_codes(consensus: Sequence[Any], classes: list[str] | None) -> IntArray:
    """The consensus class code of each answer's item, aligned with a sorted array of task ids: ``(tasks, codes)``
    packed as a (2, n) array; empty for projects that are not single-label."""
    if classes is None or not consensus:
        return np.zeros((2, 0), dtype=np.int64)
    index = {c: i for i, c in enumerate(classes)}
    pairs = sorted((row.task_id, index.get((row.value.get("labels") or [None])[0], -1)) for row in consensus)
    return np.array(pairs, dtype=np.int64).T


def _settled_label(answers: _Answers, settled: IntArray) -> IntArray:
    """Each answer's item's consensus code (-1 where the item has none)."""
    out = np.full(answers.task.size, -1, dtype=np.int64)
    if settled.shape[1] == 0 or answers.task.size == 0:
        return out
    at = np.searchsorted(settled[0], answers.task).clip(0, settled.shape[1] - 1)
    found = settled[0][at] == answers.task
    out[found] = settled[1][at[found]]
    return out


def _distinct(tasks: IntArray, users: IntArray) -> int:
    """Answers, not rows: a multi-label answer has a row per class it names (one current answer per person)."""
    return int(np.unique(np.stack([tasks, users]), axis=1).shape[1]) if tasks.size else 0


def _summary(session: Session, project: Project, answers: _Answers, consensus: Sequence[Any]) -> dict[str, Any]:
    done = np.array(
        session.scalars(
            sa.select(Task.item_id).where(Task.project_id == project.id, Task.state == "done", Task.is_gold.is_(False))
        ).all(),
        dtype=np.int64,
    )
    total = session.scalar(
        sa.select(sa.func.count())
        .select_from(Task)
        .where(Task.project_id == project.id, Task.state != "staged", Task.is_gold.is_(False))
    )
    mine = answers.task[~answers.gold]
    tasks, counts = np.unique(mine, return_counts=True)
    per_done = np.zeros(done.size, dtype=np.int64)
    if tasks.size and done.size:
        at = np.searchsorted(tasks, done).clip(0, tasks.size - 1)
        per_done = np.where(tasks[at] == done, counts[at], 0)
    return {
        "items": int(total or 0),
        "items_settled": int(done.size),
        "items_with_consensus": len(consensus),
        "answers": int(np.unique(np.stack([answers.task, answers.user]), axis=1).shape[1]) if answers.task.size else 0,
        "gold_answers": int(
            np.unique(np.stack([answers.task[answers.gold], answers.user[answers.gold]]), axis=1).shape[1]
        )
        if answers.gold.any()
        else 0,
        "human_answers_per_settled_item": report.answers_per_item(per_done),
    }


def _gold(session: Session, project: Project, classes: list[str] | None) -> dict[str, Any]:
    rows = session.execute(
        sa.select(Annotation.user_id, Annotation.value, GoldAnswer.value)
        .join(GoldAnswer, GoldAnswer.task_id == Annotation.task_id)
        .where(GoldAnswer.project_id == project.id, Annotation.is_current.is_(True), Annotation.counted.is_(True))
    ).all()
    items = session.scalar(
        sa.select(sa.func.count()).select_from(GoldAnswer).where(GoldAnswer.project_id == project.id)
    )
    scored = [(known, standing.score(project.kind, answer, known).correct) for _, answer, known in rows]
    n = len(scored)
    correct = sum(1 for _, ok in scored if ok)
    low, high = report.wilson_interval(correct, n)
    out: dict[str, Any] = {
        "items": int(items or 0),
        "answers": n,
        "correct": correct,
        "accuracy": correct / n if n else None,
        "interval": [low, high],
    }
    if classes is not None and scored:
        index = {c: i for i, c in enumerate(classes)}
        truth = [(known.get("labels") or [None])[0] for known, _ in scored]
        keep = [i for i, t in enumerate(truth) if t in index]
        table = report.accuracy_by_class(
            np.array([index[truth[i]] for i in keep], dtype=np.int64),
            np.array([scored[i][1] for i in keep], dtype=bool),
            len(classes),
        )
        out["by_class"] = _by_class(table, classes)
        by_user: dict[int, list[int]] = defaultdict(list)
        for i in keep:
            by_user[rows[i][0]].append(i)
        out["by_annotator_and_class"] = {
            user_id: _by_class(
                report.accuracy_by_class(
                    np.array([index[truth[i]] for i in mine], dtype=np.int64),
                    np.array([scored[i][1] for i in mine], dtype=bool),
                    len(classes),
                ),
                classes,
            )
            for user_id, mine in by_user.items()
        }
    return out


def _by_class(table: report.AccuracyTable, classes: list[str]) -> list[dict[str, Any]]:
    """Accuracy on gold per true class, with its Wilson interval; classes without gold answers left out."""
    return [
        {"class": c, "answers": int(table.n[i]), "accuracy": _num(table.accuracy[i]),
         "interval": [_num(table.low[i]), _num(table.high[i])]}
        for i, c in enumerate(classes)
        if table.n[i] > 0
    ]  # fmt: skip


def _num(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 4)


def _agreement(answers: _Answers, classes: list[str] | None) -> dict[str, Any]:
    if classes is None:
        return {"available": False, "reason": "agreement statistics are computed for single-label class projects"}
    usable = ~answers.gold & (answers.label >= 0)
    _, tasks = np.unique(answers.task[usable], return_inverse=True)
    _, users = np.unique(answers.user[usable], return_inverse=True)
    summary = report.agreement_summary(tasks, users, answers.label[usable], len(classes))
    per_class = summary.pop("per_class_alpha")
    summary["per_class"] = [{"class": c, "alpha": per_class[i]} for i, c in enumerate(classes)]
    return {"available": True, **summary}


def _consensus(consensus: Sequence[Any]) -> dict[str, Any]:
    statuses: dict[str, int] = defaultdict(int)
    methods: dict[str, int] = defaultdict(int)
    for row in consensus:
        statuses[row.status] += 1
        methods[row.method] += 1
    confidences = np.array([row.confidence for row in consensus], dtype=np.float64)
    return {
        "items": len(consensus),
        "by_status": dict(statuses),
        "by_method": dict(methods),
        "mean_confidence": float(confidences.mean()) if confidences.size else None,
        "histogram": report.confidence_histogram(confidences),
    }


def _review(session: Session, project_id: int) -> dict[str, Any]:
    verdicts = dict(
        session.execute(
            sa.select(Review.verdict, sa.func.count()).where(Review.project_id == project_id).group_by(Review.verdict)
        ).all()
    )
    return {"queued": review.queue_counts(session, project_id), "verdicts": {k: int(v) for k, v in verdicts.items()}}


def _annotators(
    session: Session,
    project: Project,
    answers: _Answers,
    settled: IntArray,
    gold_by_class: dict[int, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    users, answered = np.unique(answers.user, return_counts=True)
    counts = dict(zip(users.tolist(), answered.tolist(), strict=True))
    consensus = _settled_label(answers, settled)
    judged = ~answers.gold & (consensus >= 0)
    agreeing = dict.fromkeys(users.tolist(), (0, 0))
    if judged.any():
        who, n = np.unique(answers.user[judged], return_counts=True)
        hits = np.bincount(np.searchsorted(who, answers.user[judged]), weights=(answers.label == consensus)[judged])
        agreeing.update({int(u): (int(k), int(h)) for u, k, h in zip(who, n, hits, strict=True)})
    out = []
    for score, name, email in standing.standings(session, project.id):
        low, high = report.wilson_interval(score.gold_correct, score.gold_answered)
        n_judged, n_agree = agreeing.get(score.user_id, (0, 0))
        entry: dict[str, Any] = {
            "annotator": name or email,
            "user_id": score.user_id,
            "answers": counts.get(score.user_id, 0),
            "gold": {
                "answers": score.gold_answered,
                "correct": score.gold_correct,
                "accuracy": score.gold_correct / score.gold_answered if score.gold_answered else None,
                "interval": [low, high],
                "by_class": gold_by_class.get(score.user_id, []),
            },
            "reviewed": {"answers": score.reviewed_answered, "correct": score.reviewed_correct},
            "skill": score.skill,
            "confusion": score.confusion,
            "detail": score.detail,
            "agreement_with_consensus": n_agree / n_judged if n_judged else None,
            "status": score.status,
            "paused_reason": score.paused_reason,
        }
        out.append(entry)
    return out


def _confusion(answers: _Answers, settled: IntArray, classes: list[str] | None) -> dict[str, Any] | None:
    """Answers against the consensus: which classes annotators mistake for which (rows: consensus)."""
    if classes is None:
        return None
    consensus = _settled_label(answers, settled)
    keep = ~answers.gold & (consensus >= 0) & (answers.label >= 0)
    matrix = report.confusion_matrix(consensus[keep], answers.label[keep], len(classes))
    rates = np.round(report.normalised_rows(matrix), 4)
    return {"classes": classes, "counts": matrix.tolist(), "rates": rates.tolist()}
