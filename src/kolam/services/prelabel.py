"""Pre-labelling with the project's active model: predictions for every item, the queue's order, auto-accept.

Run as a job after an import, after a promotion and on demand. For a class project with an active version:

1. every item gets the model's calibrated prediction (replacing the previous model's; imported predictions stay);
2. open tasks are re-prioritised by active learning (``kolam.learning.sampling``): by default a batch of the
   least sure items, one per cluster of the model's features (cluster-margin), above the rest by margin;
   before any model, a k-means cold start puts representatives of every cluster first;
3. with auto-accept on, untouched open tasks whose prediction clears its class's threshold (for multi-label
   projects: the whole label set's threshold) are settled by the model alone (consensus status ``auto``,
   method ``model``); a stable random ``audit_rate`` of them is queued for review (reason ``audit``); gold is
   never auto-accepted; items an earlier version settled alone that this one would not accept go back to
   people (``bench_model_loop.py --revoke``: it is what kept precision at 99 %);
4. items the model places between two often-confused classes get one more annotator (``route_confused``).

Every write is a short transaction over one chunk, re-checking the task's state under the write lock, so an
annotator who leased a task in the meantime keeps it.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any, cast

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray

from kolam.learning import one_blas_thread, sampling
from kolam.learning.calibration import softmax
from kolam.learning.confusion import confused_pairs, in_pair
from kolam.learning.heads import SoftmaxHead
from kolam.learning.multilabel import OneVsRestHead, sigmoid
from kolam.learning.semi_supervised import GRAPH_DIMENSIONS
from kolam.services.consensus import in_sample, posterior_dict
from kolam.services.embeddings import encoder_name, ensure_embeddings, load_embeddings
from kolam.services.learning_settings import LearningSettings, stored_learning
from kolam.services.model_versions import active_version, load_arrays
from kolam.services.training_multilabel import WHOLE_ANSWER, label_sets
from kolam.store.blobs import BlobStore
from kolam.store.db import Database
from kolam.store.tables import Consensus, Prediction, Project, Task
from kolam.store.tables_learning import ModelVersion
from kolam.store.types import utcnow
from kolam.store.upsert import insert_missing

CHUNK = 2_000
DIVERSE_BATCH = 250
"""How many uncertain-and-diverse items (cluster-margin, hybrid) are lifted above the rest of the queue after
each prediction: about what people settle between two trainings (``retrain_after``)."""
COLD_START_SHARE = 0.02
COLD_START_MAX = 500

_tasks = cast(sa.Table, Task.__table__)
_predictions = cast(sa.Table, Prediction.__table__)
_consensus = cast(sa.Table, Consensus.__table__)


@dataclass
class PrelabelSummary:
    project_id: int
    model: str | None
    predicted: int = 0
    prioritised: int = 0
    auto_accepted: int = 0
    audits: int = 0
    revoked: int = 0
    routed: int = 0
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Tasks:
    ids: NDArray[np.int64]
    open: NDArray[np.bool_]
    gold: NDArray[np.bool_]
    untouched: NDArray[np.bool_]
    settled: NDArray[np.bool_]
    priority: NDArray[np.int64]
    overlap: int
    adaptive: bool


def _read_tasks(db: Database, project_id: int, ids: NDArray[np.int64]) -> _Tasks:
    with db.read() as session:
        project = session.get(Project, project_id)
        assert project is not None
        rows = session.execute(
            sa.select(
                Task.item_id, Task.state, Task.is_gold, Task.answers_count, Task.answers_wanted, Task.open_slots,
                Task.priority,
            ).where(Task.project_id == project_id, Task.state != "staged")
        ).all()  # fmt: skip
        settled = set(
            session.scalars(
                sa.select(Consensus.task_id).where(
                    Consensus.project_id == project_id, Consensus.status.in_(("agreed", "aggregated", "reviewed"))
                )
            ).all()
        )
        overlap, adaptive = project.overlap, bool((project.quality or {}).get("adaptive"))
    by_id = {r.item_id: r for r in rows}
    present = [by_id.get(int(i)) for i in ids]

    def column(test: Any) -> NDArray[np.bool_]:
        return np.array([r is not None and bool(test(r)) for r in present], dtype=bool)

    return _Tasks(
        ids=ids,
        open=column(lambda r: r.state == "open"),
        gold=column(lambda r: r.is_gold),
        untouched=column(lambda r: r.answers_count == 0 and r.open_slots == r.answers_wanted),
        settled=np.array([int(i) in settled for i in ids], dtype=bool),
        priority=np.array([r.priority if r is not None else 0 for r in present], dtype=np.int64),
        overlap=overlap,
        adaptive=adaptive,
    )


def _queue_order(
    strategy: str, probabilities: NDArray[np.float64] | None, x: NDArray[np.float32], tasks: _Tasks
) -> NDArray[np.int64] | None:
    """New priorities for every row (only open, non-gold rows matter), or None to leave the queue alone.
    ``x``: the embeddings before any model, the model's own projected features after."""
    target = tasks.open & ~tasks.gold
    n_open = int(target.sum())
    if strategy == "off" or n_open == 0:
        return None
    result = tasks.priority.copy()
    rows = np.flatnonzero(target)
    if probabilities is None:  # cold start: representatives of the data's clusters first
        # at least one batch of representatives, so the first batch people label is all cluster picks
        k = min(n_open, max(DIVERSE_BATCH, min(COLD_START_MAX, int(COLD_START_SHARE * n_open))))
        picks = sampling.cold_start(x[rows], k, seed=0)
        result[rows] = 0
        result[rows[picks]] = sampling.PRIORITY_LEVELS + 1
        return result
    if strategy == "random":  # a stable shuffle: the same order however often the model predicts
        result[rows] = sampling.priorities([_uniform(int(i)) for i in tasks.ids[rows]])
        return result
    score = sampling.entropy(probabilities[rows]) if strategy == "entropy" else sampling.margin(probabilities[rows])
    result[rows] = sampling.priorities(score)
    k = min(DIVERSE_BATCH, n_open)
    if strategy == "hybrid":
        already = np.flatnonzero(tasks.settled)
        pool = np.concatenate([rows, already])
        picks = pool[sampling.hybrid(probabilities[pool], x[pool], k, already=np.arange(rows.size, pool.size))]
    elif strategy == "cluster-margin":
        picks = rows[sampling.cluster_margin(probabilities[rows], x[rows], k, seed=0)]
    else:
        return result
    # the diverse batch above everything else, in the order it was picked
    result[picks] = sampling.PRIORITY_LEVELS + 1 + np.arange(k)[::-1]
    return result


def _uniform(task_id: int) -> float:
    digest = hashlib.blake2b(f"order:{task_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _write_priorities(db: Database, tasks: _Tasks, new: NDArray[np.int64]) -> int:
    changed = np.flatnonzero((new != tasks.priority) & tasks.open & ~tasks.gold)
    statement = (
        _tasks.update()
        .where(_tasks.c.item_id == sa.bindparam("id"), _tasks.c.state == "open")
        .values(priority=sa.bindparam("p"))
    )
    for start in range(0, changed.size, CHUNK):
        part = changed[start : start + CHUNK]
        with db.write() as session:
            session.execute(statement, [{"id": int(tasks.ids[i]), "p": int(new[i])} for i in part])
            session.commit()
    return int(changed.size)


@dataclass(frozen=True)
class _Answers:
    """What the model would answer for each item, how sure it is of the whole answer, and which entry of the
    version's auto-accept table judges it (the top class; the one whole-label-set entry for multi-label)."""

    values: list[dict[str, Any]]
    confidence: NDArray[np.float64]
    entry: NDArray[np.int64]
    entries: list[str]


def _answers(names: list[str], probabilities: NDArray[np.float64], multi: bool) -> _Answers:
    if multi:
        chosen, sure = label_sets(probabilities)
        values = [{"labels": [names[c] for c in np.flatnonzero(row)]} for row in chosen]
        return _Answers(values, sure, np.zeros(sure.size, dtype=np.int64), [WHOLE_ANSWER])
    top = probabilities.argmax(axis=1)
    values = [{"labels": [names[t]]} for t in top]
    return _Answers(values, probabilities[np.arange(top.size), top], top.astype(np.int64), names)


def _write_predictions(
    db: Database, project_id: int, version: ModelVersion, ids: NDArray[np.int64], probabilities: NDArray[np.float64],
    answers: _Answers,
) -> None:  # fmt: skip
    """Replace the model's predictions of these items."""
    names = list(version.classes)
    label = f"v{version.version}"
    now = utcnow()
    for start in range(0, ids.size, CHUNK):
        part = range(start, min(start + CHUNK, ids.size))
        chunk_ids = [int(ids[i]) for i in part]
        with db.write() as session:
            session.execute(
                _predictions.delete().where(_predictions.c.task_id.in_(chunk_ids), _predictions.c.model_id.is_not(None))
            )
            insert_missing(
                session, _predictions,
                [
                    {"project_id": project_id, "task_id": int(ids[i]), "model_version": label, "model_id": version.id,
                     "value": answers.values[i], "confidence": round(float(answers.confidence[i]), 6),
                     "distribution": posterior_dict(names, probabilities[i]), "created_at": now}
                    for i in part
                ],
            )  # fmt: skip
            session.commit()


def accepts(thresholds: dict[str, Any] | None, answers: _Answers) -> NDArray[np.bool_]:
    """Which rows the stored auto-accept table lets the model settle alone (entry enabled, confidence ≥ its
    threshold)."""
    result = np.zeros(answers.confidence.size, dtype=bool)
    if not thresholds:
        return result
    cut = np.full(len(answers.entries), np.inf)
    for c, name in enumerate(answers.entries):
        entry = thresholds.get("classes", {}).get(name)
        if entry and entry.get("enabled") and entry.get("threshold") is not None:
            cut[c] = float(entry["threshold"])
    result[:] = answers.confidence >= cut[answers.entry]
    return result


def _auto_accept(
    db: Database, project_id: int, version: ModelVersion, tasks: _Tasks, probabilities: NDArray[np.float64],
    answers: _Answers, policy: LearningSettings,
) -> tuple[int, int]:  # fmt: skip
    names = list(version.classes)
    chosen = np.flatnonzero(accepts(version.thresholds, answers) & tasks.open & tasks.untouched & ~tasks.gold)
    accepted = audits = 0
    rate = policy.auto_accept.audit_rate
    for start in range(0, chosen.size, CHUNK):
        part = chosen[start : start + CHUNK]
        row_of = {int(tasks.ids[i]): int(i) for i in part}
        now = utcnow()
        with db.write() as session:
            done = session.scalars(
                _tasks.update()
                .where(
                    _tasks.c.item_id.in_(list(row_of)), _tasks.c.state == "open", _tasks.c.is_gold.is_(False),
                    _tasks.c.answers_count == 0, _tasks.c.open_slots == _tasks.c.answers_wanted,
                )
                .values(state="done", open_slots=0, updated_at=now)
                .returning(_tasks.c.item_id)
            ).all()  # fmt: skip
            rows = []
            for task_id in done:
                i = row_of[task_id]
                audit = in_sample(task_id, rate, salt="audit")
                audits += audit
                rows.append(
                    {"task_id": task_id, "project_id": project_id, "value": answers.values[i],
                     "confidence": float(answers.confidence[i]), "method": "model", "status": "auto",
                     "answers": 0, "posterior": posterior_dict(names, probabilities[i]),
                     "review_state": "queued" if audit else "none", "review_reason": "audit" if audit else None,
                     "updated_at": now}
                )  # fmt: skip
            insert_missing(session, _consensus, rows)
            session.commit()
        accepted += len(done)
    return accepted, audits


def _revoke(db: Database, project_id: int, version: ModelVersion, ids: NDArray[np.int64], answers: _Answers) -> int:
    """Give back to people the items an earlier version settled alone that this one would not accept (its
    threshold moved, or audits switched the class off): a label is only as good as the model that stands by it.
    Audited items (reviewed) are people's now and stay."""
    with db.read() as session:
        auto = set(
            session.scalars(
                sa.select(Consensus.task_id).where(
                    Consensus.project_id == project_id, Consensus.status == "auto", Consensus.review_state != "done"
                )
            ).all()
        )
    if not auto:
        return 0
    keep = accepts(version.thresholds, answers)
    gone = [int(i) for i, ok in zip(ids, keep, strict=True) if int(i) in auto and not ok]
    for start in range(0, len(gone), CHUNK):
        part = gone[start : start + CHUNK]
        with db.write() as session:
            session.execute(_consensus.delete().where(_consensus.c.task_id.in_(part), _consensus.c.status == "auto"))
            session.execute(
                _tasks.update()
                .where(_tasks.c.item_id.in_(part), _tasks.c.state == "done", _tasks.c.answers_count == 0)
                .values(state="open", open_slots=_tasks.c.answers_wanted, updated_at=utcnow())
            )
            session.commit()
    return len(gone)


def _route_confused(db: Database, version: ModelVersion, tasks: _Tasks, probabilities: NDArray[np.float64]) -> int:
    """One more annotator for open items the model places between two often-confused classes."""
    if tasks.adaptive or not version.confusion:
        return 0
    pairs = confused_pairs(version.confusion, min_count=3, top=5)
    rows = np.flatnonzero(in_pair(probabilities, pairs) & tasks.open & ~tasks.gold)
    if rows.size == 0:
        return 0
    routed = 0
    for start in range(0, rows.size, CHUNK):
        ids = [int(tasks.ids[i]) for i in rows[start : start + CHUNK]]
        with db.write() as session:
            result = session.execute(
                _tasks.update()
                .where(_tasks.c.item_id.in_(ids), _tasks.c.state == "open", _tasks.c.answers_wanted == tasks.overlap)
                .values(answers_wanted=_tasks.c.answers_wanted + 1, open_slots=_tasks.c.open_slots + 1)
            )
            routed += int(cast(sa.CursorResult[Any], result).rowcount or 0)
            session.commit()
    return routed


def _probabilities(
    blobs: BlobStore, version: ModelVersion, x: NDArray[np.float32]
) -> tuple[NDArray[np.float64], bool, NDArray[np.float32]]:
    """The active version's calibrated probabilities for every item: one distribution per item (single-label),
    or one probability per class (multi-label, one-vs-rest); whether it is multi-label; and the leading
    whitened features the head sees, which the queue's diversity is measured in."""
    arrays = load_arrays(blobs, version.artifact_key or "")
    temperature = float(arrays.pop("temperature")) if "temperature" in arrays else 1.0
    multi = version.training.get("head") == "one-vs-rest"
    if multi:
        heads = OneVsRestHead.from_arrays(arrays)
        projected, probabilities = heads.projected, sigmoid(heads.log_odds(x) / temperature)
    else:
        projected = SoftmaxHead.from_arrays(arrays)
        probabilities = softmax(projected.logits(x) / temperature)
    features = projected.transform(x)[:, :GRAPH_DIMENSIONS].astype(np.float32)
    return probabilities, multi, features


def prelabel_project(db: Database, blobs: BlobStore, project_id: int) -> PrelabelSummary:
    """Predict, re-prioritise, auto-accept and route a class project's items with its active model."""
    with db.read() as session:
        project = session.get(Project, project_id)
        if project is None:
            return PrelabelSummary(project_id, None, reason="no such project")
        kind = project.kind
        policy = stored_learning(project.learning)
        version = active_version(session, project_id)
        if version is not None:
            session.expunge(version)
    encoder = encoder_name(kind)
    if policy.backend != "builtin" or encoder is None:
        return PrelabelSummary(project_id, None, reason=f"no built-in class model for {kind} / {policy.backend}")
    ensure_embeddings(db, blobs, project_id)
    with db.read() as session:
        ids, x = load_embeddings(session, project_id, encoder)
    if ids.size == 0:
        return PrelabelSummary(project_id, None, reason="no embedded items")
    tasks = _read_tasks(db, project_id, ids)
    with one_blas_thread():
        return _predict_and_order(db, blobs, project_id, policy, version, ids, x, tasks)


def _predict_and_order(
    db: Database, blobs: BlobStore, project_id: int, policy: LearningSettings, version: ModelVersion | None,
    ids: NDArray[np.int64], x: NDArray[np.float32], tasks: _Tasks,
) -> PrelabelSummary:  # fmt: skip
    if version is None:
        order = _queue_order(policy.active_learning, None, x, tasks)
        moved = _write_priorities(db, tasks, order) if order is not None else 0
        return PrelabelSummary(project_id, None, prioritised=moved, reason="no model yet: cold-start order")
    probabilities, multi, features = _probabilities(blobs, version, x)
    summary = PrelabelSummary(project_id, f"v{version.version}")
    answers = _answers(list(version.classes), probabilities, multi)
    _write_predictions(db, project_id, version, ids, probabilities, answers)
    summary.predicted = int(ids.size)
    # the queue orders by how sure the model is of its whole answer (for multi-label: of every class decision)
    sure = probabilities if not multi else np.stack([answers.confidence, 1.0 - answers.confidence], axis=1)
    order = _queue_order(policy.active_learning, sure, features, tasks)
    if order is not None:
        summary.prioritised = _write_priorities(db, tasks, order)
    if policy.auto_accept.enabled and version.thresholds:
        summary.revoked = _revoke(db, project_id, version, ids, answers)
        summary.auto_accepted, summary.audits = _auto_accept(
            db, project_id, version, tasks, probabilities, answers, policy
        )
    if policy.route_confused:
        summary.routed = _route_confused(db, version, tasks, probabilities)
    return summary
