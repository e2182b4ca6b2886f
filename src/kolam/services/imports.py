"""Imports: stream records into items and tasks, all or nothing, reporting duplicates by content.

Rows are written in short transactions (annotators keep working meanwhile) with their tasks 'staged'; only
when the whole source has been read are they published in one statement. A failure discards what was staged,
so a failed import leaves no items behind.
"""

from __future__ import annotations

import gzip
import io
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa

from kolam.errors import Invalid, KolamError, NotFound, TooLarge
from kolam.formats import FormatError, SourceRecord, detect_format, open_source, reader_for
from kolam.formats.folder import read_folder
from kolam.services import audit
from kolam.services.context import Actor
from kolam.services.item_records import ItemRows, RecordContext
from kolam.services.projects import get_project
from kolam.store import bulk
from kolam.store.blobs import BlobStore
from kolam.store.bulk import ItemRow
from kolam.store.db import Database
from kolam.store.tables import ImportRun
from kolam.store.types import utcnow

CHUNK = 20_000  # records a transaction: on SQLite 0.1 s (empty project) to 0.3 s (1M items) of the write lock
CHUNK_TEXT_CHARS = 32 * 2**20  # and at most about this much text, so long texts do not make big chunks
MAX_DUPLICATE_EXAMPLES = 100
STALE_AFTER = timedelta(minutes=10)
PROGRESS_SECONDS = 1.0  # between progress writes of a running import


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
    run_id: int | None = None,
) -> ImportReport:
    """Import every record or none; returns counts and the first duplicates found.

    ``run_id``: an import row made earlier (a queued background import, already claimed as running).
    """
    started = time.perf_counter()
    with db.write() as session:
        if actor is not None:
            actor.require("items.import")
        project = get_project(session, actor, project_id, org_id=org_id)
        now = utcnow()
        run = session.get(ImportRun, run_id) if run_id is not None else None
        if run is None:
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
        else:
            run.format, run.heartbeat_at = format_name, now
        session.commit()
        report = ImportReport(import_id=run.id)
        ctx = RecordContext(project.kind, project.org_id, blobs, allowed_roots, max_item_bytes)
    staging = bulk.Staging(run.id, project.org_id, project.id, project.overlap, now)
    try:
        counted = _ProgressWriter(db, run.id).count(records)
        _stage_all(db, staging, counted, ItemRows(ctx), report, progress)
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
                org_id=staging.org_id,
            )
            session.commit()
    except BaseException as err:
        _discard(db, run.id, report, started, err)
        if isinstance(err, FormatError):
            raise Invalid(str(err), field=err.field) from None
        raise
    report.seconds = time.perf_counter() - started
    return report


class _ProgressWriter:
    """Shows how far an import has read (``records``) while it runs, at most one short write a second."""

    def __init__(self, db: Database, import_id: int) -> None:
        self.db, self.import_id = db, import_id

    def count(self, records: Iterable[SourceRecord]) -> Iterator[SourceRecord]:
        last = time.monotonic()
        for seen, record in enumerate(records, start=1):
            yield record
            if time.monotonic() - last >= PROGRESS_SECONDS:
                last = time.monotonic()
                with self.db.write() as session:
                    session.execute(
                        sa.update(ImportRun)
                        .where(ImportRun.id == self.import_id, ImportRun.status == "running")
                        .values(records=seen, heartbeat_at=utcnow())
                    )
                    session.commit()


@dataclass
class _Chunk:
    """Rows read and checked, waiting to be staged; duplicates among them are already taken out."""

    rows: list[ItemRow] = field(default_factory=list)
    priorities: list[int] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    first_seen: dict[str, int] = field(default_factory=dict)
    records: int = 0
    text_chars: int = 0

    def add(self, row: ItemRow, priority: int, location: str) -> None:
        position = self.first_seen.setdefault(row[1], len(self.rows))
        if position < len(self.rows):
            self.duplicates.append((location, self.locations[position]))
        else:
            self.rows.append(row)
            self.priorities.append(priority)
            self.locations.append(location)
            if row[3] is not None:
                self.text_chars += len(row[3])
        self.records += 1

    def full(self) -> bool:
        return self.records >= CHUNK or self.text_chars >= CHUNK_TEXT_CHARS


def _stage_all(
    db: Database,
    staging: bulk.Staging,
    records: Iterable[SourceRecord],
    build: ItemRows,
    report: ImportReport,
    progress: Callable[[int], None] | None,
) -> None:
    """Read, check and stage every record, a chunk per short transaction; duplicates in a chunk never reach
    the database (the first one seen stays), those of earlier chunks and imports are left out by it."""
    with _Writer(db, staging, report, progress) as writer:
        chunk = _Chunk()
        for record in records:
            row, priority = build.row(record, len(chunk.rows))
            chunk.add(row, priority, record.location)
            if chunk.full():
                writer.send(chunk)
                chunk = _Chunk()
        writer.send(chunk)
        writer.wait()


class _Writer:
    """Stages chunks in a thread of its own, one at a time, while the next chunk is read and checked.

    Both drivers let go of the GIL while the database works, so reading and writing share the two halves of
    the work. At most one chunk is in flight; after a failure, leaving waits for it, so that the import is
    discarded only once nothing more of it can arrive.
    """

    def __init__(
        self, db: Database, staging: bulk.Staging, report: ImportReport, progress: Callable[[int], None] | None
    ) -> None:
        self.db, self.staging, self.report, self.progress = db, staging, report, progress
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kolam-import")
        self._in_flight: tuple[_Chunk, Future[dict[int, int | None]]] | None = None

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._in_flight is not None:
            wait([self._in_flight[1]])
        self._pool.shutdown()

    def send(self, chunk: _Chunk) -> None:
        self.wait()
        self.report.records += chunk.records
        future = self._pool.submit(_stage_chunk, self.db, self.staging, chunk.rows, chunk.priorities)
        self._in_flight = (chunk, future)

    def wait(self) -> None:
        """Take in the chunk in flight: count what it created, report its duplicates (in file order), and
        tell ``progress`` about its records once they are staged."""
        if self._in_flight is None:
            return
        chunk, future = self._in_flight
        left_out = future.result()
        self._in_flight = None
        for location, same_as in chunk.duplicates:
            _note_duplicate(self.report, location, same_as)
        for position in sorted(left_out):
            item_id = left_out[position]
            same_as = f"item {item_id}" if item_id is not None else "an item imported at the same time"
            _note_duplicate(self.report, chunk.locations[position], same_as)
        self.report.created += len(chunk.rows) - len(left_out)
        if self.progress is not None and chunk.records:
            self.progress(chunk.records)


def _stage_chunk(
    db: Database, staging: bulk.Staging, rows: list[ItemRow], priorities: list[int]
) -> dict[int, int | None]:
    if not rows:
        return {}
    now = utcnow()
    with db.write() as session:
        left_out = bulk.stage_items(session, replace(staging, now=now), rows, priorities)
        session.execute(sa.update(ImportRun).where(ImportRun.id == staging.import_id).values(heartbeat_at=now))
        session.commit()
    return left_out


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
    max_expanded_bytes: int | None = None,
    run_id: int | None = None,
) -> ImportReport:
    """Import a file (JSON, JSONL, CSV, optionally .gz) or a folder of media files.

    Paths inside records, and a folder's files, may only come from ``allowed_roots`` (a folder import adds
    itself); the format comes from the name. ``max_expanded_bytes`` caps what a ``.gz`` file decompresses to,
    so that a small upload cannot unpack into more than the upload limit would have let in uncompressed.
    """
    try:
        fmt = detect_format(path)
        if fmt == "folder":
            return import_records(
                db, actor, project_id, read_folder(path), source=source_name or str(path), format_name=fmt,
                blobs=blobs, allowed_roots=[path.resolve(), *allowed_roots], max_item_bytes=max_item_bytes,
                org_id=org_id, progress=progress, run_id=run_id,
            )  # fmt: skip
        with open_source(path) as opened:
            stream = opened
            if max_expanded_bytes is not None and path.suffix.lower() == ".gz":
                stream = _capped(opened, max_expanded_bytes, source_name or path.name)
            records = _gzip_errors(reader_for(fmt)(stream, source_name or path.name), path, source_name)
            return import_records(
                db, actor, project_id, records,
                source=source_name or str(path), format_name=fmt, blobs=blobs, allowed_roots=allowed_roots,
                max_item_bytes=max_item_bytes, org_id=org_id, progress=progress, run_id=run_id,
            )  # fmt: skip
    except FormatError as err:
        raise Invalid(str(err), field=err.field) from None


class _Capped(io.RawIOBase):
    """A readable stream that refuses to give more than ``limit`` bytes of what it wraps."""

    def __init__(self, inner: BinaryIO, limit: int, name: str) -> None:
        self.inner, self.limit, self.name, self.seen = inner, limit, name, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        count = self.inner.readinto(view)  # type: ignore[attr-defined]
        self.seen += count
        if self.seen > self.limit:
            raise TooLarge(
                f"{self.name}: decompresses to more than the upload limit of {self.limit} bytes", field="body"
            )
        return int(count)


def _capped(inner: BinaryIO, limit: int, name: str) -> BinaryIO:
    return io.BufferedReader(_Capped(inner, limit, name), buffer_size=1 << 16)


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


def fail_import(db: Database, import_id: int, err: BaseException) -> None:
    """Roll back whatever an import staged and mark it failed with ``err`` (stopped from outside its run)."""
    _discard(db, import_id, ImportReport(import_id=import_id), time.perf_counter(), err)


def get_import(db: Database, actor: Actor, import_id: int) -> ImportRun:
    with db.read() as session:
        run = session.scalar(sa.select(ImportRun).where(ImportRun.id == import_id, ImportRun.org_id == actor.org_id))
    if run is None:
        raise NotFound(f"no import {import_id}", field="import_id")
    return run
