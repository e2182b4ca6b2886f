"""The job functions: each takes ids (never rows or files' contents) and calls one service."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from kolam.models.base import NeedsExtra
from kolam.services import import_queue, media, prelabel_run, resolve, training
from kolam.settings import Settings
from kolam.store.blobs import BlobStore
from kolam.store.db import Database
from kolam.store.tables import ImportRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobContext:
    settings: Settings
    db: Database
    blobs: BlobStore


def derive_import(ctx: JobContext, import_id: int) -> dict[str, Any]:
    """Derive the display media of everything an import brought in (already-derived items are skipped)."""
    return asdict(media.derive_import(ctx.db, ctx.blobs, import_id))


def derive_items(ctx: JobContext, item_ids: list[int]) -> dict[str, Any]:
    return asdict(media.derive_items(ctx.db, ctx.blobs, item_ids))


def run_import(ctx: JobContext, import_id: int, spool: str) -> dict[str, Any]:
    """Run a queued import from its spooled upload; the spool file is removed whatever happens."""
    path = Path(spool)
    s = ctx.settings
    try:
        return import_queue.run_queued_import(
            ctx.db, import_id, path, blobs=ctx.blobs, allowed_roots=s.import_roots,
            max_item_bytes=s.max_item_bytes, max_expanded_bytes=s.max_upload_bytes,
        )  # fmt: skip
    finally:
        import_queue.remove_spool(path)


def resolve_project(ctx: JobContext, project_id: int) -> dict[str, Any]:
    """Recompute a project's consensus and annotator skills from all its answers."""
    return asdict(resolve.resolve_project(ctx.db, project_id))


def import_project(ctx: JobContext, import_id: int) -> int | None:
    with ctx.db.read() as session:
        return session.scalar(sa.select(ImportRun.project_id).where(ImportRun.id == import_id))


def train_model(ctx: JobContext, project_id: int) -> dict[str, Any]:
    """Train a new version of the project's built-in model from its settled answers; promote it if better."""
    try:
        if prelabel_run.uses_external_model(ctx.db, project_id):
            return prelabel_run.retrain_external(ctx.db, project_id, settings=ctx.settings)
        return training.train_project(ctx.db, ctx.blobs, project_id).as_dict()
    except NeedsExtra as err:
        log.info("project %s not trained: %s", project_id, err.message)
        return {"project_id": project_id, "status": "skipped", "reason": err.message}


def prelabel_project(ctx: JobContext, project_id: int) -> dict[str, Any]:
    """Predict every item with the active model, re-order the queue, auto-accept what the model may settle."""
    try:
        return prelabel_run.prelabel(
            ctx.db, ctx.blobs, project_id, settings=ctx.settings).as_dict()  # fmt: skip
    except NeedsExtra as err:  # Kolam runs without the ml extra; the model features say what they need
        log.info("project %s not pre-labelled: %s", project_id, err.message)
        return {"project_id": project_id, "reason": err.message}
