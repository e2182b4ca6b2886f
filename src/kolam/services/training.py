"""Training a project's built-in model from its settled answers, and promoting it only if it beats the last.

The model is a packaged encoder (frozen) plus a softmax head learnt from this project's human-settled items
(consensus agreed, aggregated or reviewed; never the model's own auto-accepted labels, which would teach it
its own mistakes). Every settled item is scored out of fold (``kolam.learning.crossfit``) to fit temperature
scaling and the auto-accept thresholds on predictions the model did not train on; the final head then trains
on all of them. Gold items are never trained on: they are the held-out set both the new version and the active
one are scored on now, and the new one is promoted only if it is better there (accuracy, then log loss).
Without gold, a version trained on more settled items replaces the active one, and the comparison says so.

With ``learning.pseudo_labels`` (the default) each head is refitted on the settled items plus the unlabelled
ones where it and label spreading over the embeddings' k-NN graph agree (``kolam.learning.semi_supervised``);
out of fold too, each fold spreading only its own training answers, so calibration and thresholds judge the
model that is deployed. Both ways are cross-validated on the same folds and the better one is kept (with few
unlabelled items pseudo-labels can hurt); the choice is stored in the metrics. Gold is never pseudo-labelled.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray

from kolam.learning import one_blas_thread
from kolam.learning.auto_accept import auto_accept_thresholds
from kolam.learning.binomial import clopper_pearson_lower
from kolam.learning.calibration import TemperatureScaling, expected_calibration_error, softmax
from kolam.learning.heads import SoftmaxHead
from kolam.services.embeddings import encoder_name, ensure_embeddings
from kolam.services.learning_settings import LearningSettings, stored_learning
from kolam.services.model_versions import active_version, add_version, load_arrays, promote, save_arrays
from kolam.services.training_data import SETTLED, TrainingData, read_training_data
from kolam.services.training_semi import CrossValidated, PseudoLabels
from kolam.store.blobs import BlobStore
from kolam.store.db import Database
from kolam.store.tables import Consensus, Project
from kolam.store.tables_learning import ModelVersion

FOLDS = 5
HEAD_C = 0.05
"""L2 strength (sklearn's C) of the head: strong, since a project starts with few labels (benchmarks/RESULTS.md)."""
COMPONENTS = 256
"""Whitened PCA directions the head sees (fitted once on every embedding, labelled or not): 1,280 features
made training slow and no better on Fashion-MNIST."""
UNLABELLED_FOR_PROJECTION = 20_000


@dataclass
class TrainSummary:
    project_id: int
    status: str
    reason: str
    version: int | None = None
    items: int = 0
    gold: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _projection(data: TrainingData) -> SoftmaxHead:
    """The standardiser and whitened PCA every head of this training shares, fitted once on all embeddings.
    Fewer directions than half the rows: whitening would blow up directions the data does not span."""
    rows = np.vstack([data.x, data.gold_x, data.unlabelled[:UNLABELLED_FOR_PROJECTION]])
    components = max(1, min(COMPONENTS, rows.shape[0] // 2))
    return SoftmaxHead(n_components=components, c=HEAD_C).fit_projection(rows)


def _fit(projected: SoftmaxHead, data: TrainingData, rows: NDArray[np.int64]) -> SoftmaxHead:
    head = copy.deepcopy(projected)
    return head.fit(data.x[rows], data.y[rows], len(data.names), sample_weight=data.weight[rows], keep_projection=True)


def _gold_scores(probabilities: NDArray[np.float64], labels: NDArray[np.int64]) -> dict[str, Any]:
    n = int(labels.size)
    if n == 0:
        return {"n": 0}
    correct = int((probabilities.argmax(axis=1) == labels).sum())
    picked = np.clip(probabilities[np.arange(n), labels], 1e-12, 1.0)
    return {
        "n": n,
        "correct": correct,
        "accuracy": correct / n,
        "accuracy_lower": clopper_pearson_lower(correct, n),
        "log_loss": float(-np.mean(np.log(picked))),
    }


def _recall(correct: NDArray[np.bool_], mine: NDArray[np.bool_]) -> dict[str, Any]:
    n = int(mine.sum())
    return {"n": n, "recall": float(correct[mine].mean()) if n else None}


def _confusion(labels: NDArray[np.int64], predicted: NDArray[np.int64], k: int) -> list[list[int]]:
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix.tolist()


def threshold_table(
    names: list[str], confidence: NDArray[np.float64], predicted: NDArray[np.int64], correct: NDArray[np.bool_],
    policy: LearningSettings,
) -> dict[str, Any]:  # fmt: skip
    """The auto-accept table stored on a version: per class its threshold, evidence and (empty) audit counts."""
    rule = policy.auto_accept
    table = auto_accept_thresholds(
        confidence, predicted, correct, len(names), target=rule.target_precision, level=rule.level,
        min_support=rule.min_support, pooled=rule.pooled,
    )  # fmt: skip
    classes = {}
    for c, name in enumerate(names):
        threshold = float(table.threshold[c])
        classes[name] = {
            "threshold": None if math.isnan(threshold) else threshold,
            "support": int(table.support[c]),
            "correct": round(float(table.precision[c]) * int(table.support[c])) if table.support[c] else 0,
            "predicted": int(table.n_predicted[c]),
            "lower_bound": None if math.isnan(table.lower_bound[c]) else float(table.lower_bound[c]),
            "audits": 0,
            "audits_correct": 0,
            "enabled": not math.isnan(threshold),
        }
    pooled = table.pooled_threshold
    return {
        "target": rule.target_precision,
        "level": rule.level,
        "pooled_threshold": None if math.isnan(pooled) else float(pooled),
        "classes": classes,
    }


def _compare(
    db: Database, blobs: BlobStore, active: ModelVersion | None, data: TrainingData, new: dict[str, Any],
    score_old: Callable[[dict[str, NDArray[Any]], float], dict[str, Any]] | None = None,
) -> tuple[bool, dict[str, Any]]:  # fmt: skip
    """Should the new version replace the active one? Both are scored on today's gold."""
    if active is None:
        return True, {"against": None, "promoted": True, "reason": "first version"}
    old_items = int(active.training.get("items", 0))
    if data.gold_y.shape[0] == 0:
        better = data.n > old_items
        reason = f"no held-out gold: trained on {data.n} settled items against {old_items}" + (
            "" if better else "; not more data, so the active version stays"
        )
        return better, {"against": active.version, "promoted": better, "reason": reason}
    old: dict[str, Any]
    try:
        arrays = load_arrays(blobs, active.artifact_key or "")
        temperature = float(arrays.pop("temperature")) if "temperature" in arrays else 1.0
        if score_old is not None:
            old = score_old(arrays, temperature)
        else:
            head = SoftmaxHead.from_arrays(arrays)
            old = _gold_scores(softmax(head.logits(data.gold_x) / temperature), data.gold_y)
    except (OSError, KeyError, ValueError) as err:
        return True, {"against": active.version, "promoted": True, "reason": f"active version unreadable: {err}"}
    newer = new["gold"]
    better = (newer["correct"], -newer["log_loss"]) > (old["correct"], -old["log_loss"])
    reason = (
        f"held-out gold ({newer['n']} items): {newer['correct']} right against {old['correct']}, "
        f"log loss {newer['log_loss']:.4f} against {old['log_loss']:.4f}"
    )
    return better, {"against": active.version, "promoted": better, "reason": reason, "this": newer, "that": old}


def should_retrain(db: Database, project_id: int) -> bool:
    """Whether enough new items were settled by people since the last training (any version, kept or not)."""
    with db.read() as session:
        project = session.get(Project, project_id)
        if project is None:
            return False
        policy = stored_learning(project.learning)
        learns = encoder_name(project.kind) is not None or project.kind == "image_boxes"
        if policy.backend == "none" or (policy.backend == "builtin" and not learns):
            return False
        settled = session.scalar(
            sa.select(sa.func.count())
            .select_from(Consensus)
            .where(Consensus.project_id == project_id, Consensus.status.in_(SETTLED))
        )
        trainings = session.scalars(sa.select(ModelVersion.training).where(ModelVersion.project_id == project_id)).all()
    # a packaged model's version (made on first pre-label, trained on nothing) has no item count
    last = max((int(t["items"]) for t in trainings if "items" in t), default=None)
    if last is None:
        return int(settled or 0) >= policy.min_train_items
    return int(settled or 0) - last >= policy.retrain_after


def train_project(db: Database, blobs: BlobStore, project_id: int) -> TrainSummary:
    """Train a new version of the project's built-in model; promote it if it beats the active one."""
    with db.read() as session:
        project = session.get(Project, project_id)
        if project is None:
            return TrainSummary(project_id, "skipped", "no such project")
        kind, org_id = project.kind, project.org_id
        policy = stored_learning(project.learning)
        active = active_version(session, project_id)
        if active is not None:
            session.expunge(active)
    if policy.backend != "builtin":
        return TrainSummary(project_id, "skipped", f"the project's model backend is {policy.backend}")
    if kind == "image_boxes":  # the packaged detector learns its corrections (imported here: it imports this)
        from kolam.services.box_training import train_boxes

        return train_boxes(db, blobs, project_id)
    encoder = encoder_name(kind)
    if encoder is None:
        return TrainSummary(project_id, "skipped", f"{kind} projects use packaged models without training")
    ensure_embeddings(db, blobs, project_id)
    data = read_training_data(db, project_id, encoder)
    if isinstance(data, str):
        return TrainSummary(project_id, "skipped", data)
    present = int((data.y.sum(axis=0) > 0).sum()) if data.multi else np.unique(data.y).size
    if data.n < policy.min_train_items or present < 2:
        return TrainSummary(
            project_id, "skipped",
            f"{data.n} settled items in {present} classes; training needs {policy.min_train_items} in two",
            items=data.n, gold=int(data.gold_y.shape[0]),
        )  # fmt: skip
    with one_blas_thread():
        if data.multi:
            from kolam.services.training_multilabel import train_multilabel

            return train_multilabel(db, blobs, project_id, org_id, encoder, policy, active, data)
        return _train(db, blobs, project_id, org_id, encoder, policy, active, data)


def _train(
    db: Database, blobs: BlobStore, project_id: int, org_id: int, encoder: str, policy: LearningSettings,
    active: ModelVersion | None, data: TrainingData,
) -> TrainSummary:  # fmt: skip
    k = len(data.names)
    projected = _projection(data)
    helper = PseudoLabels.build(projected, data) if policy.pseudo_labels else None

    def plain(rows: NDArray[np.int64]) -> SoftmaxHead:
        return _fit(projected, data, rows)

    def helped(rows: NDArray[np.int64]) -> SoftmaxHead:
        assert helper is not None
        return helper.refit(_fit(projected, data, rows), data, rows)

    # pseudo-labels help when answers are few and the unlabelled pool large; with few unlabelled items they can
    # hurt, so cross-validation decides (both scored on the same folds, the deployed model is the better)
    fit, cv = plain, CrossValidated.of(plain, data, FOLDS)
    semi: dict[str, Any] | None = None
    if helper is not None:
        with_pseudo = CrossValidated.of(helped, data, FOLDS)
        semi = {"used": with_pseudo.beats(cv), "accuracy_with": with_pseudo.accuracy, "accuracy_without": cv.accuracy}
        if semi["used"]:
            fit, cv = helped, with_pseudo
    head = fit(np.arange(data.y.size))
    if semi is not None and semi["used"]:
        semi["pseudo_labels"] = helper.last_count if helper is not None else 0
    oof_logits = cv.logits
    # The settled items are what active learning picked, the hardest: a temperature fitted on them squashes every
    # confidence (out of fold 55–64 % right where a random test set gets 86–87 %: bench_training_service.py).
    # Gold is not picked by the model and the head never trained on it: with enough of it, gold calibrates.
    gold_logits = head.logits(data.gold_x)
    temperature, calibrated_on = cv.temperature, "out-of-fold"
    if data.gold_y.size >= policy.auto_accept.min_support:
        temperature, calibrated_on = TemperatureScaling().fit(gold_logits, data.gold_y).temperature_, "gold"
    oof = softmax(oof_logits / temperature)
    predicted = oof.argmax(axis=1)
    confidence = oof.max(axis=1)
    correct = predicted == data.y
    gold_probabilities = softmax(gold_logits / temperature)
    gold = _gold_scores(gold_probabilities, data.gold_y)
    # Judges of the thresholds: labels surer than the precision they certify (gold, reviewed, and consensus at
    # least that confident); a 2 % error rate in the judges alone would keep a 99 % bound out of reach.
    judged = data.weight >= policy.auto_accept.target_precision
    gold_predicted = gold_probabilities.argmax(axis=1)
    thresholds = threshold_table(
        data.names,
        np.concatenate([confidence[judged], gold_probabilities.max(axis=1)]),
        np.concatenate([predicted[judged], gold_predicted]),
        np.concatenate([correct[judged], gold_predicted == data.gold_y]),
        policy,
    )
    metrics = {
        "cross_validated": {
            "n": int(data.y.size),
            "accuracy": float(correct.mean()),
            "ece_before": expected_calibration_error(softmax(oof_logits).max(axis=1), correct),
            "ece_after": expected_calibration_error(confidence, correct),
            "folds": FOLDS,
        },
        "gold": gold,
        "semi_supervised": semi,
        "per_class": {name: _recall(correct, data.y == c) for c, name in enumerate(data.names)},
    }
    better, comparison = _compare(db, blobs, active, data, metrics)
    return record_version(
        db, blobs, org_id, project_id, encoder, data, head.to_arrays(), temperature, better, comparison,
        head_kind="softmax", components=projected.components_.shape[1], metrics=metrics,
        confusion=_confusion(data.y, predicted, k), thresholds=thresholds, calibrated_on=calibrated_on,
    )  # fmt: skip


def record_version(
    db: Database, blobs: BlobStore, org_id: int, project_id: int, encoder: str, data: TrainingData,
    arrays: dict[str, NDArray[Any]], temperature: float, better: bool, comparison: dict[str, Any], *,
    head_kind: str, components: int, metrics: dict[str, Any], confusion: list[list[int]] | None,
    thresholds: dict[str, Any] | None, calibrated_on: str = "out-of-fold",
) -> TrainSummary:  # fmt: skip
    """Store a trained version (artifact, snapshot, evaluation) and promote or reject it, in one transaction."""
    key = save_arrays(blobs, org_id, {**arrays, "temperature": np.array(temperature)})
    gold_n = int(data.gold_y.shape[0])
    with db.write() as session:
        if thresholds is not None:
            from kolam.services.audits import carry_recent_audits  # audits imports the multi-label trainer

            thresholds = carry_recent_audits(session, project_id, thresholds)
        row = add_version(
            session, project_id, f"builtin:{encoder}", classes=data.names,
            training={"items": data.n, "gold_held_out": gold_n, "through_answer_id": data.last_answer_id,
                      "encoder": encoder, "head": head_kind, "c": HEAD_C, "components": components},
            metrics=metrics, confusion=confusion,
            calibration={"method": "temperature", "temperature": temperature, "fitted_on": calibrated_on},
            thresholds=thresholds, comparison=comparison, artifact_key=key,
        )  # fmt: skip
        if better:
            promote(session, row)
        else:
            row.status = "rejected"
        session.commit()
        version = row.version
    return TrainSummary(
        project_id, "active" if better else "rejected", comparison["reason"], version=version, items=data.n,
        gold=gold_n, metrics=metrics,
    )  # fmt: skip
