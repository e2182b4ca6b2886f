"""Audits of what the model labelled alone: a reviewer's verdict updates the class's precision estimate.

A per-class threshold was chosen so that a Clopper–Pearson lower bound on the class's precision, from
out-of-fold settled items, reached the target; a pooled one so that the pool's bound did and the class was not
shown to be worse (its upper bound at least the target). Each audit adds one fresh observation; the bounds are
recomputed over both, and a class that no longer keeps its promise stops being auto-accepted until a retrain
re-earns it.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.orm import Session

from kolam.learning.binomial import clopper_pearson_lower
from kolam.services.model_versions import active_version


def record_audit(
    session: Session, project_id: int, accepted_value: dict[str, Any], correct: bool
) -> dict[str, Any] | None:
    """Count one audit of an auto-accepted label on the active version's table; returns the class's new entry."""
    version = active_version(session, project_id)
    labels = accepted_value.get("labels") or []
    if version is None or not version.thresholds or len(labels) != 1:
        return None
    table = copy.deepcopy(version.thresholds)
    entry = table.get("classes", {}).get(labels[0])
    if entry is None:
        return None
    entry["audits"] = int(entry.get("audits", 0)) + 1
    entry["audits_correct"] = int(entry.get("audits_correct", 0)) + int(correct)
    successes = int(entry.get("correct", 0)) + entry["audits_correct"]
    n = int(entry.get("support", 0)) + entry["audits"]
    level, target = float(table.get("level", 0.95)), float(table.get("target", 0.99))
    entry["lower_bound"] = clopper_pearson_lower(successes, n, level)
    entry["upper_bound"] = 1.0 - clopper_pearson_lower(n - successes, n, level)
    # Per-class thresholds promised a lower bound at the target; a pooled one promised only that the class is
    # not shown to be worse than the target (its upper bound). Each is held to what it promised.
    pooled = table.get("pooled_threshold") is not None
    if (entry["upper_bound"] if pooled else entry["lower_bound"]) < target:
        entry["enabled"] = False
    version.thresholds = table
    return dict(entry)
