"""The relational schema, SQLAlchemy 2 typed declarative, shared by SQLite and PostgreSQL.

Indexes are chosen for the hot paths: the assignment queue (a partial index over open tasks ordered by
priority), per-annotator lookups, keyset pagination, and label filters over current answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import JSON

from kolam.store.types import UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSON on SQLite, JSONB on PostgreSQL (indexable, compact).
JSONData = JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONData, list[Any]: JSONData}


class Organization(Base):
    __tablename__ = "organizations"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (sa.UniqueConstraint("org_id", "user_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    skills: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime]


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class LoginSession(Base):
    """A browser login: the cookie holds a random secret, the table only its hash."""

    __tablename__ = "login_sessions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(sa.String(64))


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (sa.UniqueConstraint("org_id", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(32))
    instructions: Mapped[str] = mapped_column(sa.Text, default="")
    overlap: Mapped[int] = mapped_column(default=1)
    gold_ratio: Mapped[float] = mapped_column(default=0.0)
    required_skills: Mapped[list[Any]] = mapped_column(default=list)
    priority: Mapped[int] = mapped_column(default=0)
    lease_seconds: Mapped[int | None]
    schema_version: Mapped[int] = mapped_column(default=1)
    quality: Mapped[dict[str, Any]] = mapped_column(default=dict)
    learning: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    archived_at: Mapped[datetime | None]


class LabelSchema(Base):
    """One version of a project's label schema; answers point at the version they were made against."""

    __tablename__ = "label_schemas"
    __table_args__ = (sa.UniqueConstraint("project_id", "version"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[int]
    definition: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class ImportRun(Base):
    """One import: its items stay invisible (tasks 'staged') until the whole source was read."""

    __tablename__ = "imports"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(sa.String(500))
    format: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16))
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    records: Mapped[int] = mapped_column(default=0)
    items_created: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Item(Base):
    """One piece of data, immutable; content lives inline (text) or in blob storage by hash."""

    __tablename__ = "items"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "content_hash"),
        sa.Index("ix_items_project_external", "project_id", "external_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    import_id: Mapped[int | None] = mapped_column(sa.ForeignKey("imports.id", ondelete="SET NULL"), index=True)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    media: Mapped[str] = mapped_column(sa.String(16))
    text: Mapped[str | None] = mapped_column(sa.Text)
    blob_key: Mapped[str | None] = mapped_column(sa.String(200))
    mime_type: Mapped[str | None] = mapped_column(sa.String(100))
    url: Mapped[str | None] = mapped_column(sa.Text)
    size_bytes: Mapped[int | None]
    external_id: Mapped[str | None] = mapped_column(sa.String(500))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class Task(Base):
    """An item's place in its project's queue; keyed by the item (one task per item).

    ``open_slots`` = answers wanted − answers counted − active leases: the assignment engine hands a task
    out only while it is positive, which is what keeps overlap exact under concurrency.
    """

    __tablename__ = "tasks"
    __table_args__ = (
        sa.Index(
            "ix_tasks_queue",
            "project_id",
            "is_gold",
            sa.text("priority DESC"),
            "item_id",
            sqlite_where=sa.text("state = 'open' AND open_slots > 0"),
            postgresql_where=sa.text("state = 'open' AND open_slots > 0"),
        ),
        sa.Index("ix_tasks_project_state", "project_id", "state", "item_id"),
        sa.Index("ix_tasks_project_created", "project_id", "created_at", "item_id"),
        sa.Index("ix_tasks_project_item", "project_id", "item_id"),
    )
    item_id: Mapped[int] = mapped_column(
        sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(sa.String(16))
    priority: Mapped[int] = mapped_column(default=0)
    is_gold: Mapped[bool] = mapped_column(default=False)
    answers_wanted: Mapped[int]
    answers_count: Mapped[int] = mapped_column(default=0)
    open_slots: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Lease(Base):
    """One annotator's hold on one task; the row stays as the record that they saw it (and how it ended)."""

    __tablename__ = "leases"
    __table_args__ = (
        sa.UniqueConstraint("task_id", "user_id"),
        sa.Index("ix_leases_project_user", "project_id", "user_id", "status"),
        sa.Index(
            "ix_leases_active_expiry",
            "project_id",
            "expires_at",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.item_id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(16))
    leased_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    renewals: Mapped[int] = mapped_column(default=0)
    skip_reason: Mapped[str | None] = mapped_column(sa.String(500))


class Annotation(Base):
    """One person's answer, append-only: an edit is a new row pointing at the one it replaces."""

    __tablename__ = "annotations"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "client_id"),
        sa.Index("ix_annotations_task", "task_id", "is_current"),
        sa.Index("ix_annotations_project_user", "project_id", "user_id", "task_id"),
        sa.Index("ix_annotations_project_created", "project_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.item_id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(sa.String(100))
    schema_version: Mapped[int]
    version: Mapped[int] = mapped_column(default=1)
    previous_id: Mapped[int | None] = mapped_column(sa.ForeignKey("annotations.id", ondelete="SET NULL"))
    is_current: Mapped[bool] = mapped_column(default=True)
    counted: Mapped[bool] = mapped_column(default=True)
    late: Mapped[bool] = mapped_column(default=False)
    value: Mapped[dict[str, Any]]
    lead_time_ms: Mapped[int | None]
    time_spent_ms: Mapped[int | None]
    client_created_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class AnswerLabel(Base):
    """The classes named by each current answer: what makes 'items answered with class X' an index scan."""

    __tablename__ = "answer_labels"
    __table_args__ = (sa.Index("ix_answer_labels_project_label", "project_id", "label", "task_id"),)
    annotation_id: Mapped[int] = mapped_column(sa.ForeignKey("annotations.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.item_id", ondelete="CASCADE"))


class Prediction(Base):
    """A model's answer for an item: imported with the data (``model_id`` null) or made by the project's model
    (``model_id`` set; one per task, replaced when a newer version predicts). ``distribution`` holds the
    calibrated probability of each class for class projects."""

    __tablename__ = "predictions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.item_id", ondelete="CASCADE"), index=True)
    model_version: Mapped[str] = mapped_column(sa.String(100))
    model_id: Mapped[int | None] = mapped_column(sa.ForeignKey("model_versions.id", ondelete="SET NULL"))
    value: Mapped[dict[str, Any]]
    confidence: Mapped[float | None]
    distribution: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    created_at: Mapped[datetime]


class AuditEvent(Base):
    """Who touched which data, when, from where. Append-only: nothing updates or deletes these rows."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_org_at", "org_id", "at"),
        sa.Index("ix_audit_org_object", "org_id", "object_type", "object_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str] = mapped_column(sa.String(32))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    via: Mapped[str] = mapped_column(sa.String(16))
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    at: Mapped[datetime]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Derivative(Base):
    """What annotators download instead of an item's original: a display image or audio, waveform peaks.

    One row per (item, kind); ``error`` set means the original could not be derived (the original is served).
    ``width``/``height`` are the original's pixel size as a browser shows it (EXIF orientation applied).
    """

    __tablename__ = "derivatives"
    item_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    version: Mapped[int]
    blob_key: Mapped[str | None] = mapped_column(sa.String(200))
    mime_type: Mapped[str | None] = mapped_column(sa.String(100))
    size_bytes: Mapped[int | None]
    width: Mapped[int | None]
    height: Mapped[int | None]
    duration: Mapped[float | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]


class GoldAnswer(Base):
    """The known answer of a gold task: it scores annotators hidden among their tasks and qualifies newcomers."""

    __tablename__ = "gold_answers"
    task_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tasks.item_id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    value: Mapped[dict[str, Any]]
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class Consensus(Base):
    """The project's current answer for an item: value, confidence, method, and how it was reached.

    ``status``: agreed (every answer the same), aggregated (truth inference settled a disagreement), reviewed
    (a reviewer's verdict). ``review_state`` none / queued / done puts it in the review queue, with its reason.
    """

    __tablename__ = "consensus"
    __table_args__ = (sa.Index("ix_consensus_review", "project_id", "review_state", "task_id"),)
    task_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tasks.item_id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    value: Mapped[dict[str, Any]]
    confidence: Mapped[float]
    method: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16))
    answers: Mapped[int]
    posterior: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    review_state: Mapped[str] = mapped_column(sa.String(16), default="none")
    review_reason: Mapped[str | None] = mapped_column(sa.String(32))
    updated_at: Mapped[datetime]


class Review(Base):
    """A reviewer's verdict on an item's answers: accept, reject or correct (with the corrected value)."""

    __tablename__ = "reviews"
    __table_args__ = (sa.Index("ix_reviews_project_created", "project_id", "created_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.item_id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    verdict: Mapped[str] = mapped_column(sa.String(16))
    value: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    reason: Mapped[str | None] = mapped_column(sa.String(32))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime]


class AnnotatorScore(Base):
    """One annotator's standing in one project: gold and review evidence, estimated skill, paused or not.

    ``floor_*`` count gold answers since the last resume: the window the accuracy floor is checked on.
    ``skill`` and ``confusion`` (class projects) or ``detail`` (box precision/recall/IoU, transcript WER/CER)
    are estimates from the last consensus refresh.
    """

    __tablename__ = "annotator_scores"
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    gold_answered: Mapped[int] = mapped_column(default=0)
    gold_correct: Mapped[int] = mapped_column(default=0)
    floor_answered: Mapped[int] = mapped_column(default=0)
    floor_correct: Mapped[int] = mapped_column(default=0)
    reviewed_answered: Mapped[int] = mapped_column(default=0)
    reviewed_correct: Mapped[int] = mapped_column(default=0)
    skill: Mapped[float | None]
    confusion: Mapped[list[Any] | None] = mapped_column(JSONData)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    paused_reason: Mapped[str | None] = mapped_column(sa.String(500))
    updated_at: Mapped[datetime]


class Qualification(Base):
    """An annotator's qualification test for a scope: one project (``project:<id>``) or a skill (``skill:ta``)."""

    __tablename__ = "qualifications"
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    project_id: Mapped[int | None] = mapped_column(sa.ForeignKey("projects.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(sa.String(16))
    answered: Mapped[int] = mapped_column(default=0)
    correct: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]


class QualitySnapshot(Base):
    """The last quality report of a project too big to build one on request, made by the consensus refresh."""

    __tablename__ = "quality_snapshots"
    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    report: Mapped[dict[str, Any]]
    computed_at: Mapped[datetime]


# The learning tables live in their own module; importing it here puts them on Base.metadata.
from kolam.store import tables_learning  # noqa: E402, F401
