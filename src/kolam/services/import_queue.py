"""Imports as background jobs: the upload is spooled under the data folder, the import row waits as
'queued', and a job runs it (``kolam.jobs``), updating its progress; GET /imports/{id} shows how far it got.

A queued import is claimed by one atomic update (queued → running), so a job enqueued twice (after a restart,
say) runs once. The spool file is the job's input and is removed when the job ends. At start-up the server
rolls back imports a dead process left running and queues again those still waiting.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from kolam.errors import Invalid, KolamError
from kolam.formats import FormatError, detect_format
from kolam.services.context import Actor
from kolam.services.imports import STALE_AFTER, fail_import, import_path
from kolam.services.projects import get_project
from kolam.store.db import Database
from kolam.store.tables import ImportRun
from kolam.store.types import utcnow

log = logging.getLogger(__name__)


def spool_root(data_dir: Path) -> Path:
    return data_dir / "spool" / "imports"


def queue_import(db: Database, actor: Actor, project_id: int, spooled: Path, root: Path) -> tuple[ImportRun, Path]:
    """Make the 'queued' import row for an upload spooled at ``spooled``; moves it to the import's own
    folder under ``root`` and returns the row and the file's new path (what the job gets)."""
    actor.require("items.import")
    try:
        fmt = detect_format(spooled)
    except FormatError as err:
        raise Invalid(str(err), field="filename") from None
    if fmt == "folder":
        raise Invalid("a background import takes a file, not a folder", field="filename")
    with db.write() as session:
        project = get_project(session, actor, project_id)
        now = utcnow()
        run = ImportRun(
            org_id=project.org_id, project_id=project.id, source=spooled.name[:500], format=fmt,
            status="queued", created_by=actor.user_id, created_at=now, heartbeat_at=now,
        )  # fmt: skip
        session.add(run)
        session.commit()
    folder = root / str(run.id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / spooled.name
    spooled.replace(target)
    return run, target


def run_queued_import(
    db: Database,
    import_id: int,
    path: Path,
    *,
    blobs: Any,
    allowed_roots: Sequence[Path] = (),
    max_item_bytes: int = 64 * 1024 * 1024,
    max_expanded_bytes: int | None = None,
) -> dict[str, Any]:
    """Claim the queued import and run it; a failure is recorded on the import row, never raised."""
    with db.write() as session:
        result = session.execute(
            sa.update(ImportRun)
            .where(ImportRun.id == import_id, ImportRun.status == "queued")
            .values(status="running", heartbeat_at=utcnow())
        )
        claimed = int(result.rowcount)  # type: ignore[attr-defined]
        session.commit()
        run = session.get(ImportRun, import_id)
    if not claimed or run is None:
        return {"import_id": import_id, "status": "skipped"}
    try:
        if not path.is_file():
            raise Invalid(f"the uploaded file {path.name} is gone; upload it again", field="body")
        report = import_path(
            db, None, run.project_id, path, blobs=blobs, allowed_roots=allowed_roots, max_item_bytes=max_item_bytes,
            org_id=run.org_id, source_name=run.source, max_expanded_bytes=max_expanded_bytes, run_id=import_id,
        )  # fmt: skip
    except Exception as err:
        _fail_if_running(db, import_id, err)
        message = err.message if isinstance(err, KolamError) else f"{type(err).__name__}: {err}"
        log.warning("import %d failed: %s", import_id, message)
        return {"import_id": import_id, "status": "failed", "error": message}
    return {"status": "done", **report.as_dict()}


def _fail_if_running(db: Database, import_id: int, err: BaseException) -> None:
    """Errors raised before the import began staging leave the row 'running': mark it failed."""
    with db.read() as session:
        status = session.scalar(sa.select(ImportRun.status).where(ImportRun.id == import_id))
    if status == "running":
        fail_import(db, import_id, err)


def remove_spool(path: Path) -> None:
    path.unlink(missing_ok=True)
    if path.parent.is_dir() and not any(path.parent.iterdir()):
        shutil.rmtree(path.parent, ignore_errors=True)


def recover_queued_imports(db: Database, root: Path) -> list[tuple[int, Path]]:
    """Imports still 'queued' when the server starts: those whose upload is still spooled are returned (to be
    enqueued again; a duplicate job finds nothing to claim), the others are failed with the reason."""
    with db.read() as session:
        queued = list(session.scalars(sa.select(ImportRun).where(ImportRun.status == "queued")))
    again: list[tuple[int, Path]] = []
    for run in queued:
        spooled = root / str(run.id) / Path(run.source).name
        if spooled.is_file():
            again.append((run.id, spooled))
            continue
        error = Invalid("the server stopped before this import ran and its upload is gone; upload it again")
        fail_import(db, run.id, error)
    return again


def discard_stale_imports(db: Database) -> int:
    """Imports whose process died mid-way (no heartbeat for a while) are rolled back; run at start-up."""
    cutoff = utcnow() - STALE_AFTER
    with db.read() as session:
        stale = session.scalars(
            sa.select(ImportRun.id).where(ImportRun.status == "running", ImportRun.heartbeat_at < cutoff)
        ).all()
    for import_id in stale:
        fail_import(db, import_id, RuntimeError("the importing process stopped"))
    return len(stale)
