"""Audits of what the model labelled alone: a reviewer's verdict updates the class's precision estimate.

Each audit is one fresh observation of the class's precision on the items actually accepted. The class is
switched off once its audits alone show it is worse than the target — the one-sided Clopper–Pearson *upper*
bound of audited precision falls below it (``kolam.learning.audits``, the rule ``bench_auto_accept.py``
measured). Audits are judged over a window: a new version starts with the audits recorded on the
``AUDIT_WINDOW − 1`` versions before it (``audits_carried``), so a retrain every 200 answers does not wipe out
the evidence against a class, yet a class switched off for an early, weaker version's mistakes comes back once
they leave the window (``bench_model_loop.py --audit-window``). ``lower_bound`` is kept up to date over the
threshold's evidence and the audits together, for the models page.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.learning.audits import audit_classes
from kolam.learning.binomial import clopper_pearson_lower
from kolam.services.model_versions import active_version
from kolam.services.training_multilabel import WHOLE_ANSWER
from kolam.store.tables_learning import ModelVersion

AUDIT_WINDOW = 3
"""Versions whose audits judge a class: this one and the two active before it."""


def carry_recent_audits(session: Session, project_id: int, table: dict[str, Any]) -> dict[str, Any]:
    """A new version's auto-accept table with the audits of the versions before it (within the window) carried
    in, and each class whose carried audits already show it below target switched off."""
    earlier = session.scalars(
        sa.select(ModelVersion.thresholds)
        .where(
            ModelVersion.project_id == project_id,
            ModelVersion.thresholds.is_not(None),
            ModelVersion.promoted_at.is_not(None),  # only a version that was active was audited
        )
        .order_by(ModelVersion.version.desc())
        .limit(AUDIT_WINDOW - 1)
    ).all()
    table = copy.deepcopy(table)
    for name, entry in table.get("classes", {}).items():
        own = [(t or {}).get("classes", {}).get(name) or {} for t in earlier]
        entry["audits_carried"] = sum(int(e.get("audits", 0)) for e in own)
        entry["audits_correct_carried"] = sum(int(e.get("audits_correct", 0)) for e in own)
        _judge(entry, float(table.get("level", 0.95)), float(table.get("target", 0.99)))
    return table


def _judge(entry: dict[str, Any], level: float, target: float) -> None:
    """Update a class's bounds from its threshold evidence and its audits (own and carried); switch it off once
    the audits' upper bound is under the target."""
    audits = int(entry.get("audits", 0)) + int(entry.get("audits_carried", 0))
    confirmed_n = int(entry.get("audits_correct", 0)) + int(entry.get("audits_correct_carried", 0))
    if audits == 0:
        return
    successes = int(entry.get("correct", 0)) + confirmed_n
    entry["lower_bound"] = clopper_pearson_lower(successes, int(entry.get("support", 0)) + audits, level)
    confirmed = np.arange(audits) < confirmed_n
    report = audit_classes(np.zeros(audits, dtype=np.int64), confirmed, 1, target=target, level=level)
    entry["upper_bound"] = float(report.upper_bound[0])
    if report.below_target[0]:
        entry["enabled"] = False


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
    _judge(entry, float(table.get("level", 0.95)), float(table.get("target", 0.99)))
    version.thresholds = table
    return dict(entry)
