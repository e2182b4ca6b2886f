"""Audits of what the model labelled alone: a reviewer's verdict updates the class's precision estimate.

Each audit is one fresh observation of the class's precision on the items actually accepted. The class is
switched off once its audits alone show it is worse than the target — the one-sided Clopper–Pearson *upper*
bound of audited precision falls below it (``kolam.learning.audits``, the rule ``bench_auto_accept.py``
measured) — and stays off until a retrain re-earns a threshold. ``lower_bound`` is kept up to date over the
threshold's evidence and the audits together, for the models page.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from kolam.learning.audits import audit_classes
from kolam.learning.binomial import clopper_pearson_lower
from kolam.services.model_versions import active_version
from kolam.services.training_multilabel import WHOLE_ANSWER


def record_audit(
    session: Session, project_id: int, accepted_value: dict[str, Any], correct: bool
) -> dict[str, Any] | None:
    """Count one audit of an auto-accepted label on the active version's table; returns the class's new entry."""
    version = active_version(session, project_id)
    if version is None or not version.thresholds:
        return None
    table = copy.deepcopy(version.thresholds)
    labels = accepted_value.get("labels") or []
    # a multi-label version keeps one entry for whole label sets; a single-label one, one per class
    key = WHOLE_ANSWER if WHOLE_ANSWER in table.get("classes", {}) else (labels[0] if len(labels) == 1 else None)
    entry = table.get("classes", {}).get(key) if key is not None else None
    if entry is None:
        return None
    entry["audits"] = int(entry.get("audits", 0)) + 1
    entry["audits_correct"] = int(entry.get("audits_correct", 0)) + int(correct)
    level, target = float(table.get("level", 0.95)), float(table.get("target", 0.99))
    successes = int(entry.get("correct", 0)) + entry["audits_correct"]
    entry["lower_bound"] = clopper_pearson_lower(successes, int(entry.get("support", 0)) + entry["audits"], level)
    confirmed = np.arange(entry["audits"]) < entry["audits_correct"]
    report = audit_classes(np.zeros(entry["audits"], dtype=np.int64), confirmed, 1, target=target, level=level)
    entry["upper_bound"] = float(report.upper_bound[0])
    if report.below_target[0]:
        entry["enabled"] = False
    version.thresholds = table
    return dict(entry)
