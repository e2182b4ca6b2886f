"""Imports: stream records into items and tasks, all or nothing, reporting duplicates by content.

Rows are written in short transactions (annotators keep working meanwhile) with their tasks 'staged'; only
when the whole source has been read are they published in one statement. A failure discards what was staged,
so a failed import leaves no items behind.
"""

from __future__ import annotations

import gzip
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from kolam.errors import Invalid, KolamError, NotFound
from kolam.formats import FormatError, SourceRecord, detect_format, open_source, reader_for
from kolam.formats.folder import read_folder
from kolam.services import audit
from kolam.services.context import Actor
from kolam.services.item_records import RecordContext, item_fields
from kolam.services.projects import get_project
from kolam.store import bulk
from kolam.store.blobs import BlobStore
from kolam.store.db import Database
from kolam.store.tables import ImportRun
from kolam.store.types import utcnow

CHUNK = 5000
MAX_DUPLICATE_EXAMPLES = 100
STALE_AFTER = timedelta(minutes=10)


@dataclass
class ImportReport:
    import_id: int
    records: int = 0
    created: int = 0
    duplicates: int = 0
    duplicate_examples: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "records": self.records,
            "created": self.created,
            "duplicates": self.duplicates,
            "duplicate_examples": self.duplicate_examples,
            "seconds": self.seconds,
        }


def _chunks(records: Iterable[SourceRecord], size: int) -> Iterator[list[SourceRecord]]:
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


def import_records(
    db: Database,
    actor: Actor | None,
    project_id: int,
    records: Iterable[SourceRecord],
    *,
    source: str,
    format_name: str,
    blobs: BlobStore,
    allowed_roots: Sequence[Path] = (),
    max_item_bytes: int = 64 * 1024 * 1024,
    org_id: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import every record or none; returns counts and the first duplicates found."""
    started = time.perf_counter()
    with db.write() as session:
        if actor is not None:
            actor.require("items.import")
        project = get_project(session, actor, project_id, org_id=org_id)
        now = utcnow()
        run = ImportRun(
            org_id=project.org_id,
            project_id=project.id,
            source=source[:500],
            format=format_name,
            status="running",
            created_by=actor.user_id if actor else None,
            created_at=now,
            heartbeat_at=now,
        )
        session.add(run)
        session.commit()
        report = ImportReport(import_id=run.id)
        ctx = RecordContext(project.kind, project.org_id, blobs, allowed_roots, max_item_bytes)
        project_info = (project.id, project.org_id, project.overlap)
    try:
        for chunk in _chunks(records, CHUNK):
            _write_chunk(db, run.id, project_info, chunk, ctx, report)
            if progress is not None:
                progress(len(chunk))
        with db.write() as session:
            bulk.publish_import(session, run.id)
            _finish(session, run.id, "done", report, started)
            audit.record(
                session,
                actor,
                "import.finish",
                "import",
                run.id,
                {"project_id": project_id, "created": report.created, "duplicates": report.duplicates},
                org_id=project_info[1],
            )
            session.commit()
    except BaseException as err:
        _discard(db, run.id, report, started, err)
        if isinstance(err, FormatError):
            raise Invalid(str(err), field=err.field) from None
        raise
    report.seconds = time.perf_counter() - started
    return report


def _write_chunk(
    db: Database,
    import_id: int,
    project_info: tuple[int, int, int],
    chunk: list[SourceRecord],
    ctx: RecordContext,
    report: ImportReport,
) -> None:
    project_id, org_id, overlap = project_info
    now = utcnow()
    rows: list[dict[str, Any]] = []
    priorities: dict[str, int] = {}
    locations: dict[str, str] = {}
    for record in chunk:
        fields = item_fields(record, ctx)
        digest = fields["content_hash"]
        if digest in priorities:
            _note_duplicate(report, record.location, locations[digest])
            continue
        priorities[digest] = fields.pop("priority")
        locations[digest] = record.location
        rows.append({**fields, "org_id": org_id, "project_id": project_id, "import_id": import_id})
    report.records += len(chunk)
    with db.write() as session:
        existing = bulk.existing_items(session, project_id, list(priorities))
        for digest, item_id in existing.items():
            _note_duplicate(report, locations[digest], f"item {item_id}")
        fresh = [row for row in rows if row["content_hash"] not in existing]
        created = bulk.insert_items(session, fresh, now)
        for row in fresh:
            if row["content_hash"] not in created:  # PostgreSQL: another import stored it meanwhile
                _note_duplicate(report, locations[row["content_hash"]], "an item imported at the same time")
        bulk.insert_tasks(session, project_id, [(i, priorities[h]) for h, i in created.items()], overlap, now)
        session.execute(sa.update(ImportRun).where(ImportRun.id == import_id).values(heartbeat_at=now))
        session.commit()
    report.created += len(created)


def _note_duplicate(report: ImportReport, location: str, same_as: str) -> None:
    report.duplicates += 1
    if len(report.duplicate_examples) < MAX_DUPLICATE_EXAMPLES:
        report.duplicate_examples.append({"location": location, "same_content_as": same_as})


def _finish(
    session: Any, import_id: int, status: str, report: ImportReport, started: float, error: dict[str, Any] | None = None
) -> None:
    session.execute(
        sa.update(ImportRun)
        .where(ImportRun.id == import_id)
        .values(
            status=status,
            finished_at=utcnow(),
            records=report.records,
            items_created=report.created if status == "done" else 0,
            duplicates=report.duplicates,
            report={
                "seconds": round(time.perf_counter() - started, 3),
                "duplicate_examples": report.duplicate_examples,
                **({"error": error} if error else {}),
            },
        )
    )


def _discard(db: Database, import_id: int, report: ImportReport, started: float, err: BaseException) -> None:
    if isinstance(err, KolamError):
        error = err.as_dict()
    elif isinstance(err, FormatError):
        error = {"code": "invalid", "message": str(err), "field": err.field}
    else:
        error = {"code": "internal", "message": f"{type(err).__name__}: {err}", "field": None}
    with db.write() as session:
        bulk.discard_import(session, import_id)
        _finish(session, import_id, "failed", report, started, error)
        session.commit()


def import_path(
    db: Database,
    actor: Actor | None,
    project_id: int,
    path: Path,
    *,
    blobs: BlobStore,
    allowed_roots: Sequence[Path] = (),
    max_item_bytes: int = 64 * 1024 * 1024,
    org_id: int | None = None,
    progress: Callable[[int], None] | None = None,
    source_name: str | None = None,
) -> ImportReport:
    """Import a file (JSON, JSONL, CSV, optionally .gz) or a folder of media files.

    Paths inside records, and a folder's files, may only come from ``allowed_roots`` (a folder import adds
    itself); the format comes from the name.
    """
    try:
        fmt = detect_format(path)
        if fmt == "folder":
            return import_records(
                db, actor, project_id, read_folder(path), source=source_name or str(path), format_name=fmt,
                blobs=blobs, allowed_roots=[path.resolve(), *allowed_roots], max_item_bytes=max_item_bytes,
                org_id=org_id, progress=progress,
            )  # fmt: skip
        with open_source(path) as stream:
            records = _gzip_errors(reader_for(fmt)(stream, source_name or path.name), path, source_name)
            return import_records(
                db, actor, project_id, records,
                source=source_name or str(path), format_name=fmt, blobs=blobs, allowed_roots=allowed_roots,
                max_item_bytes=max_item_bytes, org_id=org_id, progress=progress,
            )  # fmt: skip
    except FormatError as err:
        raise Invalid(str(err), field=err.field) from None


def _gzip_errors(records: Iterator[SourceRecord], path: Path, name: str | None) -> Iterator[SourceRecord]:
    """A damaged or mislabelled ``.gz`` fails while being read; say so as bad input, not as a crash."""
    try:
        yield from records
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        if path.suffix.lower() != ".gz":
            raise
        raise FormatError(f"not a readable gzip file ({err})", location=name or path.name) from None


def inside_roots(path: Path, roots: Sequence[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved.is_relative_to(root.resolve()) for root in roots)


def discard_stale_imports(db: Database) -> int:
    """Imports whose process died mid-way (no heartbeat for a while) are rolled back; run at start-up."""
    cutoff = utcnow() - STALE_AFTER
    with db.read() as session:
        stale = session.scalars(
            sa.select(ImportRun.id).where(ImportRun.status == "running", ImportRun.heartbeat_at < cutoff)
        ).all()
    for import_id in stale:
        report = ImportReport(import_id=import_id)
        _discard(db, import_id, report, time.perf_counter(), RuntimeError("the importing process stopped"))
    return len(stale)


def get_import(db: Database, actor: Actor, import_id: int) -> ImportRun:
    with db.read() as session:
        run = session.scalar(sa.select(ImportRun).where(ImportRun.id == import_id, ImportRun.org_id == actor.org_id))
    if run is None:
        raise NotFound(f"no import {import_id}", field="import_id")
    return run
