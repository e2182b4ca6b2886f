"""The auto-accept table a trained version stores: a pooled threshold the active version proved is kept while its
items are still at the target, so a bound hovering at the target does not switch the model off and on."""

from __future__ import annotations

import numpy as np

from kolam.services.learning_settings import LearningSettings
from kolam.services.training import threshold_table
from kolam.store.tables_learning import ModelVersion

NAMES = ["cat", "dog"]


def _evidence() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """200 judged items at 0.995 with 3 wrong (98.5 %: no 99 % bound), 200 at 0.6 with half wrong."""
    confidence = np.r_[np.full(200, 0.995), np.full(200, 0.6)]
    predicted = np.tile([0, 1], 200)
    correct = np.r_[np.arange(200) >= 3, np.arange(200) % 2 == 0]
    return confidence, predicted, correct


def _policy(target: float) -> LearningSettings:
    return LearningSettings.model_validate({"auto_accept": {"enabled": True, "target_precision": target}})


def test_no_threshold_is_proven_without_one_before() -> None:
    table = threshold_table(NAMES, *_evidence(), _policy(0.98))
    assert table["pooled_threshold"] is None and table["held"] is False
    assert not any(entry["enabled"] for entry in table["classes"].values())


def test_the_active_versions_threshold_is_kept_while_its_items_are_at_target() -> None:
    active = ModelVersion(thresholds={"pooled_threshold": 0.99, "classes": {}})
    table = threshold_table(NAMES, *_evidence(), _policy(0.98), active)
    assert table["pooled_threshold"] == 0.99 and table["held"] is True
    assert all(entry["enabled"] and entry["threshold"] == 0.99 for entry in table["classes"].values())
    assert sum(entry["support"] for entry in table["classes"].values()) == 200


def test_a_kept_threshold_goes_once_its_items_fall_below_target() -> None:
    active = ModelVersion(thresholds={"pooled_threshold": 0.99, "classes": {}})
    table = threshold_table(NAMES, *_evidence(), _policy(0.99), active)  # 98.5 % < 99 %
    assert table["pooled_threshold"] is None and table["held"] is False
