"""The client's quality report: the evidence that a project's labels can be trusted.

Accuracy on gold (per annotator and per class, with Wilson intervals), agreement between annotators
(Krippendorff's alpha, Fleiss' kappa), how sure the consensus is, each annotator's estimated skill, the
confusion between classes, what the review queue settled, and what it cost in human answers per item.
Annotators are pseudonyms for anyone who does not manage members (the client's viewer seat).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.labels.schema import ImageClassesSchema, TextClassesSchema
from kolam.quality import report
from kolam.services import review, standing
from kolam.services.context import Actor
from kolam.services.projects import current_schema, get_project
from kolam.services.quality_settings import stored_quality
from kolam.store.tables import Annotation, Consensus, GoldAnswer, Project, Review, Task


def pseudonym(user_id: int) -> str:
    return f"a{user_id}"  # the pseudonym exports and the dashboard use


def quality_report(
    session: Session, actor: Actor | None, project_id: int, *, org_id: int | None = None
) -> dict[str, Any]:
    """The report as JSON; ``actor`` None is the command line (inside ``org_id``), which sees names."""
    if actor is not None:
        actor.require("stats.read")
    project = get_project(session, actor, project_id, org_id=org_id)
    named = actor is None or actor.can("members.manage")
    schema = current_schema(session, project)
    classes = (
        schema.label_names(include_retired=True)
        if isinstance(schema, ImageClassesSchema | TextClassesSchema) and not schema.multi_label
        else None
    )
    answers = session.execute(
        sa.select(Annotation.task_id, Annotation.user_id, Annotation.value, Task.is_gold)
        .join(Task, Task.item_id == Annotation.task_id)
        .where(Annotation.project_id == project.id, Annotation.is_current.is_(True), Annotation.counted.is_(True))
    ).all()
    gold_query = sa.select(GoldAnswer.task_id, GoldAnswer.value).where(GoldAnswer.project_id == project.id)
    gold: dict[int, Any] = {task_id: value for task_id, value in session.execute(gold_query)}
    consensus = session.execute(
        sa.select(Consensus.task_id, Consensus.value, Consensus.confidence, Consensus.status, Consensus.method).where(
            Consensus.project_id == project.id
        )
    ).all()
    out: dict[str, Any] = {
        "project": {"id": project.id, "name": project.name, "kind": project.kind},
        "policy": stored_quality(project.quality).model_dump(mode="json"),
        "summary": _summary(session, project, answers, consensus),
        "gold": _gold(project.kind, answers, gold, classes),
        "agreement": _agreement(answers, classes),
        "consensus": _consensus(consensus),
        "review": _review(session, project.id),
        "annotators": _annotators(session, project, answers, consensus, classes, named),
        "confusion": _confusion(answers, consensus, classes),
    }
    return out


def _summary(session: Session, project: Project, answers: Sequence[Any], consensus: Sequence[Any]) -> dict[str, Any]:
    per_task: dict[int, int] = defaultdict(int)
    for a in answers:
        if not a.is_gold:
            per_task[a.task_id] += 1
    done = session.scalars(
        sa.select(Task.item_id).where(Task.project_id == project.id, Task.state == "done", Task.is_gold.is_(False))
    ).all()
    total = session.scalar(
        sa.select(sa.func.count()).select_from(Task).where(Task.project_id == project.id, Task.state != "staged")
    )
    return {
        "items": int(total or 0),
        "items_settled": len(done),
        "items_with_consensus": len(consensus),
        "answers": len(answers),
        "gold_answers": sum(1 for a in answers if a.is_gold),
        "human_answers_per_settled_item": report.answers_per_item(np.array([per_task[t] for t in done])),
    }


def _gold(kind: str, answers: Sequence[Any], gold: dict[int, Any], classes: list[str] | None) -> dict[str, Any]:
    scored = [(a, standing.score(kind, a.value, gold[a.task_id]).correct) for a in answers if a.task_id in gold]
    n = len(scored)
    correct = sum(1 for _, ok in scored if ok)
    low, high = report.wilson_interval(correct, n)
    out: dict[str, Any] = {
        "items": len(gold),
        "answers": n,
        "correct": correct,
        "accuracy": correct / n if n else None,
        "interval": [low, high],
    }
    if classes is not None and scored:
        index = {c: i for i, c in enumerate(classes)}
        truth = [(gold[a.task_id].get("labels") or [None])[0] for a, _ in scored]
        keep = [i for i, t in enumerate(truth) if t in index]
        table = report.accuracy_by_class(
            np.array([index[truth[i]] for i in keep], dtype=np.int64),
            np.array([scored[i][1] for i in keep], dtype=bool),
            len(classes),
        )
        out["by_class"] = [
            {"class": c, "answers": int(table.n[i]), "accuracy": _num(table.accuracy[i]),
             "interval": [_num(table.low[i]), _num(table.high[i])]}
            for i, c in enumerate(classes)
            if table.n[i] > 0
        ]  # fmt: skip
    return out


def _num(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 4)


def _agreement(answers: Sequence[Any], classes: list[str] | None) -> dict[str, Any]:
    if classes is None:
        return {"available": False, "reason": "agreement statistics are computed for single-label class projects"}
    index = {c: i for i, c in enumerate(classes)}
    usable = [a for a in answers if not a.is_gold and len(a.value.get("labels") or []) == 1]
    usable = [a for a in usable if a.value["labels"][0] in index]
    tasks = {t: i for i, t in enumerate(sorted({a.task_id for a in usable}))}
    users = {u: i for i, u in enumerate(sorted({a.user_id for a in usable}))}
    summary = report.agreement_summary(
        np.array([tasks[a.task_id] for a in usable], dtype=np.int64),
        np.array([users[a.user_id] for a in usable], dtype=np.int64),
        np.array([index[a.value["labels"][0]] for a in usable], dtype=np.int64),
        len(classes),
    )
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
    answers: Sequence[Any],
    consensus: Sequence[Any],
    classes: list[str] | None,
    named: bool,
) -> list[dict[str, Any]]:
    settled = {row.task_id: row.value for row in consensus}
    counts: dict[int, int] = defaultdict(int)
    agree: dict[int, list[bool]] = defaultdict(list)
    for a in answers:
        counts[a.user_id] += 1
        if classes is not None and a.task_id in settled and not a.is_gold:
            agree[a.user_id].append(
                sorted(a.value.get("labels") or []) == sorted(settled[a.task_id].get("labels") or [])
            )
    out = []
    for score, name, email in standing.standings(session, project.id):
        low, high = report.wilson_interval(score.gold_correct, score.gold_answered)
        entry: dict[str, Any] = {
            "annotator": (name or email) if named else pseudonym(score.user_id),
            "answers": counts.get(score.user_id, 0),
            "gold": {
                "answers": score.gold_answered,
                "correct": score.gold_correct,
                "accuracy": score.gold_correct / score.gold_answered if score.gold_answered else None,
                "interval": [low, high],
            },
            "reviewed": {"answers": score.reviewed_answered, "correct": score.reviewed_correct},
            "skill": score.skill,
            "agreement_with_consensus": float(np.mean(agree[score.user_id])) if agree.get(score.user_id) else None,
            "status": score.status,
            "paused_reason": score.paused_reason,
        }
        if named:
            entry["user_id"] = score.user_id
        out.append(entry)
    return out


def _confusion(answers: Sequence[Any], consensus: Sequence[Any], classes: list[str] | None) -> dict[str, Any] | None:
    """Answers against the consensus: which classes annotators mistake for which (rows: consensus)."""
    if classes is None:
        return None
    index = {c: i for i, c in enumerate(classes)}
    settled = {row.task_id: (row.value.get("labels") or [None])[0] for row in consensus}
    pairs = [
        (index[settled[a.task_id]], index[a.value["labels"][0]])
        for a in answers
        if not a.is_gold
        and settled.get(a.task_id) in index
        and len(a.value.get("labels") or []) == 1
        and a.value["labels"][0] in index
    ]
    matrix = report.confusion_matrix(
        np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=np.int64), len(classes)
    )
    return {
        "classes": classes,
        "counts": matrix.tolist(),
        "rates": np.round(report.normalised_rows(matrix), 4).tolist(),
    }
