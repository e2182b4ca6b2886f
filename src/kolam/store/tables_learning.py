"""Tables of the model in the loop: model versions, item embeddings, and managers' notes on confused classes.

Kept apart from ``tables`` (which imports this module at its end so that every table is on ``Base.metadata``)
because they change with the learning features, not with the core workflow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kolam.store.tables import Base, BigId, JSONData


class ModelVersion(Base):
    """One model of a project: what it learnt from, how it scored on held-out gold, and whether it is in use.

    ``status``: candidate (just trained), active (the one that predicts; at most one per project), retired (was
    active), rejected (lost the comparison with the active one), failed (training raised; ``error`` says why).
    ``training`` records the snapshot (items, answers, the last answer id), ``metrics`` the evaluation,
    ``calibration`` how confidence was recalibrated, ``thresholds`` the auto-accept table per class with its
    audit counts, ``comparison`` the verdict against the version that was active when this one was trained.
    ``artifact_key`` is the blob holding the learnt weights (plain arrays, no pickle).
    """

    __tablename__ = "model_versions"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "version"),
        sa.Index(
            "ux_model_versions_active",
            "project_id",
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[int]
    backend: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16))
    classes: Mapped[list[Any]] = mapped_column(default=list)
    training: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    confusion: Mapped[list[Any] | None] = mapped_column(JSONData)
    calibration: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    thresholds: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    comparison: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    artifact_key: Mapped[str | None] = mapped_column(sa.String(200))
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    promoted_at: Mapped[datetime | None]


class Embedding(Base):
    """An item's vector from a packaged encoder: computed once, reused by every retrain and by active learning.

    ``vector`` is float16 bytes (``dim`` values): half the space of float32 and plenty for a linear head and
    for distances.
    """

    __tablename__ = "embeddings"
    __table_args__ = (sa.Index("ix_embeddings_project_encoder", "project_id", "encoder", "item_id"),)
    item_id: Mapped[int] = mapped_column(
        sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    encoder: Mapped[str] = mapped_column(sa.String(64))
    dim: Mapped[int]
    vector: Mapped[bytes] = mapped_column(sa.LargeBinary)


class GuidelineNote(Base):
    """A manager's note on two classes people or the model confuse; annotators see it on items predicted in
    the pair. ``class_a`` < ``class_b`` so that a pair has one row whichever way round it was named."""

    __tablename__ = "guideline_notes"
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    class_a: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    class_b: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    note: Mapped[str] = mapped_column(sa.Text)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime]
