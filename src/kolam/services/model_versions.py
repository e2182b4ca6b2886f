"""The model registry: every version a project trained, its artifact, and which one is active.

One active version per project is enforced by a partial unique index (``ux_model_versions_active``); promotion
retires the old one and activates the new one in one transaction. Artifacts are plain arrays in an ``.npz``
blob (never a pickle: a model file must not be able to run code when loaded).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from kolam.errors import Conflict, NotFound
from kolam.services import audit
from kolam.services.context import Actor
from kolam.services.projects import get_project
from kolam.store.blobs import BlobStore
from kolam.store.tables_learning import ModelVersion
from kolam.store.types import utcnow

STATUSES = ("candidate", "active", "retired", "rejected", "failed")


@dataclass(frozen=True)
class VersionView:
    """A model version as people see it (no artifact key)."""

    id: int
    version: int
    backend: str
    status: str
    classes: list[Any]
    training: dict[str, Any]
    metrics: dict[str, Any]
    confusion: list[Any] | None
    calibration: dict[str, Any] | None
    thresholds: dict[str, Any] | None
    comparison: dict[str, Any] | None
    error: str | None
    created_at: str
    promoted_at: str | None


def view(row: ModelVersion) -> VersionView:
    return VersionView(
        id=row.id, version=row.version, backend=row.backend, status=row.status, classes=list(row.classes),
        training=row.training, metrics=row.metrics, confusion=row.confusion, calibration=row.calibration,
        thresholds=row.thresholds, comparison=row.comparison, error=row.error,
        created_at=row.created_at.isoformat(), promoted_at=row.promoted_at.isoformat() if row.promoted_at else None,
    )  # fmt: skip


def list_versions(session: Session, actor: Actor, project_id: int) -> list[VersionView]:
    """Every version of the project, newest first."""
    project = get_project(session, actor, project_id)
    rows = session.scalars(
        sa.select(ModelVersion).where(ModelVersion.project_id == project.id).order_by(ModelVersion.version.desc())
    ).all()
    return [view(r) for r in rows]


def get_version(session: Session, actor: Actor, project_id: int, version: int) -> VersionView:
    project = get_project(session, actor, project_id)
    row = session.scalar(
        sa.select(ModelVersion).where(ModelVersion.project_id == project.id, ModelVersion.version == version)
    )
    if row is None:
        raise NotFound(f"project {project_id} has no model version {version}", field="version")
    return view(row)


def active_version(session: Session, project_id: int) -> ModelVersion | None:
    return session.scalar(
        sa.select(ModelVersion).where(ModelVersion.project_id == project_id, ModelVersion.status == "active")
    )


def next_version(session: Session, project_id: int) -> int:
    last = session.scalar(sa.select(sa.func.max(ModelVersion.version)).where(ModelVersion.project_id == project_id))
    return int(last or 0) + 1


def add_version(session: Session, project_id: int, backend: str, **fields: Any) -> ModelVersion:
    """A new version row (status candidate unless given); the caller commits."""
    row = ModelVersion(
        project_id=project_id,
        version=next_version(session, project_id),
        backend=backend,
        status=fields.pop("status", "candidate"),
        created_at=utcnow(),
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def promote(session: Session, row: ModelVersion) -> None:
    """Make ``row`` the project's active version; the previous one is retired (same transaction)."""
    session.execute(
        sa.update(ModelVersion)
        .where(ModelVersion.project_id == row.project_id, ModelVersion.status == "active", ModelVersion.id != row.id)
        .values(status="retired")
    )
    session.flush()
    row.status = "active"
    row.promoted_at = utcnow()


def save_arrays(blobs: BlobStore, org_id: int, arrays: dict[str, NDArray[Any]]) -> str:
    """Store a model's arrays as one ``.npz`` blob; returns its key."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, allow_pickle=False, **arrays)
    buffer.seek(0)
    return blobs.put_stream(org_id, buffer).key


def load_arrays(blobs: BlobStore, key: str) -> dict[str, NDArray[Any]]:
    with blobs.open(key) as handle:
        data = io.BytesIO(handle.read())
    with np.load(data, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def promote_by_hand(session: Session, actor: Actor, project_id: int, version: int) -> VersionView:
    """A manager makes a version active whatever the comparison said (e.g. to roll back); it is audited."""
    actor.require("projects.manage")
    project = get_project(session, actor, project_id)
    row = session.scalar(
        sa.select(ModelVersion).where(ModelVersion.project_id == project.id, ModelVersion.version == version)
    )
    if row is None:
        raise NotFound(f"project {project_id} has no model version {version}", field="version")
    # a trained head is an artifact; a packaged model needs none (its learnt box corrections, if any, are rules
    # in the training record), so rolling back to the detector as it comes is allowed
    usable = row.artifact_key is not None or "packaged" in (row.training or {})
    if row.status == "failed" or not usable:
        raise Conflict(f"version {version} has no trained model to activate", field="version")
    if row.status != "active":
        promote(session, row)
        row.comparison = {**(row.comparison or {}), "promoted": True, "by_hand": actor.user_id}
        audit.record(session, actor, "model.promote", "project", project.id, {"version": version})
    session.commit()
    return view(row)
