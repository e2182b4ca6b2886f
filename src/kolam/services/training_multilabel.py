"""Training for multi-label class projects (moderation: an e-mail may be spam *and* a scam): one-vs-rest.

The same steps as ``kolam.services.training`` — people's settled answers only, out-of-fold scores, one shared
temperature, promotion on held-out gold — with one binary head per class (``kolam.learning.multilabel``). An
item is right on gold when its whole label set is.

Auto-accept judges the whole answer: the confidence of a predicted label set is the probability that every
class decision is right, and one threshold (``WHOLE_ANSWER``) bounds the precision of *label sets* — an
accepted set with one wrong class is a wrong label — from the same judges as single-label projects (gold,
reviewed items, consensus at least as sure as the target), out of fold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from kolam.learning.binomial import clopper_pearson_lower
from kolam.learning.calibration import TemperatureScaling
from kolam.learning.crossfit import out_of_fold
from kolam.learning.multilabel import OneVsRestHead, pair_logits, sigmoid
from kolam.services.learning_settings import LearningSettings
from kolam.services.training import FOLDS, TrainSummary, _compare, _projection, record_version, threshold_table
from kolam.services.training_data import TrainingData
from kolam.store.blobs import BlobStore
from kolam.store.db import Database
from kolam.store.tables_learning import ModelVersion

WHOLE_ANSWER = "(whole label set)"
"""The one entry of a multi-label version's auto-accept table: thresholds and audits are about label sets."""


def label_sets(probabilities: NDArray[np.float64]) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Each item's predicted label set (every class at ≥ 0.5; the likeliest if none is) and the probability
    that the whole set is right, class decisions taken as independent."""
    top = probabilities.argmax(axis=1)
    chosen = probabilities >= 0.5
    chosen[np.arange(top.size), top] |= ~chosen.any(axis=1)
    sure = np.prod(np.where(chosen, probabilities, 1.0 - probabilities), axis=1)
    return chosen, sure


def set_scores(probabilities: NDArray[np.float64], targets: NDArray[np.float64]) -> dict[str, Any]:
    """Exact-set accuracy (every class decision right) and mean per-class log loss of ``probabilities``."""
    n = int(targets.shape[0])
    if n == 0:
        return {"n": 0}
    correct = int(np.all((probabilities >= 0.5) == (targets >= 0.5), axis=1).sum())
    p = np.clip(probabilities, 1e-12, 1 - 1e-12)
    loss = -np.mean(targets * np.log(p) + (1 - targets) * np.log(1 - p))
    return {
        "n": n,
        "correct": correct,
        "accuracy": correct / n,
        "accuracy_lower": clopper_pearson_lower(correct, n),
        "log_loss": float(loss),
    }


def _recall(decided: NDArray[np.bool_], applies: NDArray[np.bool_]) -> dict[str, Any]:
    n = int(applies.sum())
    return {"n": n, "recall": float(decided[applies].mean()) if n else None}


def train_multilabel(
    db: Database, blobs: BlobStore, project_id: int, org_id: int, encoder: str, policy: LearningSettings,
    active: ModelVersion | None, data: TrainingData,
) -> TrainSummary:  # fmt: skip
    projected = _projection(data)

    def fit_predict(train: NDArray[np.int64], test: NDArray[np.int64]) -> NDArray[np.float64]:
        model = OneVsRestHead(projected).fit(data.x[train], data.y[train], sample_weight=data.weight[train])
        return model.log_odds(data.x[test])

    strata = np.where(data.y.any(axis=1), data.y.argmax(axis=1), data.y.shape[1])  # first class, or none
    oof = out_of_fold(fit_predict, strata, folds=FOLDS)
    flat_truth = (data.y.reshape(-1) >= 0.5).astype(np.int64)
    temperature = TemperatureScaling().fit(pair_logits(oof), flat_truth).temperature_
    model = OneVsRestHead(projected).fit(data.x, data.y, sample_weight=data.weight)
    cross = set_scores(sigmoid(oof / temperature), data.y)
    gold_probabilities = sigmoid(model.log_odds(data.gold_x) / temperature)
    gold = set_scores(gold_probabilities, data.gold_y)
    decided = sigmoid(oof / temperature) >= 0.5
    metrics = {
        "cross_validated": {**cross, "folds": FOLDS},
        "gold": gold,
        "per_class": {name: _recall(decided[:, c], data.y[:, c] >= 0.5) for c, name in enumerate(data.names)},
    }
    # judges of the threshold: labels surer than the precision it certifies, as for single-label projects
    judged = data.weight >= policy.auto_accept.target_precision
    oof_sets, oof_sure = label_sets(sigmoid(oof[judged] / temperature))
    gold_sets, gold_sure = label_sets(gold_probabilities)
    right = np.concatenate(
        [np.all(oof_sets == (data.y[judged] >= 0.5), axis=1), np.all(gold_sets == (data.gold_y >= 0.5), axis=1)]
    )
    confidence = np.concatenate([oof_sure, gold_sure])
    thresholds = threshold_table([WHOLE_ANSWER], confidence, np.zeros(confidence.size, dtype=np.int64), right, policy)

    def score_old(arrays: dict[str, NDArray[Any]], old_temperature: float) -> dict[str, Any]:
        old = OneVsRestHead.from_arrays(arrays)
        return set_scores(sigmoid(old.log_odds(data.gold_x) / old_temperature), data.gold_y)

    better, comparison = _compare(db, blobs, active, data, metrics, score_old)
    return record_version(
        db, blobs, org_id, project_id, encoder, data, model.to_arrays(), temperature, better, comparison,
        head_kind="one-vs-rest", components=projected.components_.shape[1], metrics=metrics, confusion=None,
        thresholds=thresholds,
    )  # fmt: skip
