"""Consensus per project kind: class answers through truth inference (single- and multi-label), boxes by
weighted box fusion, transcripts by skill-weighted ROVER; each also estimates every annotator's quality."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from kolam.quality.boxes import BoxConsensus, score_annotators
from kolam.quality.methods import METHODS, make_method
from kolam.quality.transcripts import cer, rover, wer
from kolam.quality.truth_multilabel import MultiLabel
from kolam.services.consensus import ConsensusRow, posterior_dict, review_reason
from kolam.services.crowd import Answer, Crowd, Estimate, Skills, flags
from kolam.services.projects import WorkProject


def single_label(project: WorkProject, crowd: Crowd, names: list[str]) -> tuple[list[ConsensusRow], Skills]:
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
    flagged = flags(crowd.answers)
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
    model: Any, crowd: Crowd, tasks: np.ndarray, workers: np.ndarray, labels: np.ndarray, truth: np.ndarray, k: int
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


def multi_label(project: WorkProject, crowd: Crowd, names: list[str]) -> tuple[list[ConsensusRow], Skills]:
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
    flagged = flags(crowd.answers)
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


def boxes(
    project: WorkProject, crowd: Crowd, names: list[str], previous: dict[int, float | None]
) -> tuple[list[ConsensusRow], Skills]:
    """Weighted box fusion per image (weights: each annotator's box F1 at the last refresh), and each annotator's
    F1 against the consensus, or against gold where the image is gold."""
    index = {name: i for i, name in enumerate(names)}
    by_task: dict[int, list[Answer]] = defaultdict(list)
    for a in crowd.answers:
        by_task[a.task_id].append(a)
    flagged = flags(crowd.answers)
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


def transcripts(project: WorkProject, crowd: Crowd) -> tuple[list[ConsensusRow], Skills]:
    by_task: dict[int, list[Answer]] = defaultdict(list)
    for a in crowd.answers:
        by_task[a.task_id].append(a)
    flagged = flags(crowd.answers)

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
