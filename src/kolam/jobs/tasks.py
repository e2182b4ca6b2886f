"""The job functions: each takes ids (never rows or files' contents) and calls one service."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kolam.services import import_queue, media, resolve
from kolam.settings import Settings
from kolam.store.blobs import BlobStore
from kolam.store.db import Database

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
