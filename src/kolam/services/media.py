"""Derived media: what annotators download over thin links instead of the originals.

Images get a display image (``media_images``), audio a low-bitrate Opus file and waveform peaks
(``media_audio``). Derivatives live in the blob store like originals, with one ``derivatives`` row per
(item, kind). A job derives what an import brought in; the display endpoint derives on the spot whatever is
still missing, so nothing waits on a worker. An original that cannot be derived gets its error recorded on
the row (and the original is served), never a crashed job.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kolam.services.media_audio import derive_audio
from kolam.services.media_images import MediaError, derive_image
from kolam.store.blobs import BlobStore
from kolam.store.db import Database
from kolam.store.tables import Derivative, Item
from kolam.store.types import utcnow

log = logging.getLogger(__name__)

DERIVATION_VERSION = 1  # raise when the recipe changes: older rows are derived again on demand
DISPLAY, PEAKS = "display", "peaks"
DERIVED_MEDIA = frozenset({"image", "audio"})
CHUNK = 50  # items a transaction when saving rows; derivation itself runs outside any transaction
_derivatives = cast(sa.Table, Derivative.__table__)
_SIZES = sa.select(_derivatives.c.item_id, _derivatives.c.width, _derivatives.c.height).where(
    _derivatives.c.item_id.in_(sa.bindparam("item_ids", expanding=True)),
    _derivatives.c.kind == DISPLAY,
    _derivatives.c.width.is_not(None),
)


@dataclass
class DeriveReport:
    derived: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[dict[str, Any]] = field(default_factory=list)


def url_version(content_hash: str) -> str:
    """The ``v`` of a display URL: a new recipe or new content is a new URL, so browsers may cache for good."""
    return f"{DERIVATION_VERSION}-{content_hash[:16]}"


def display_fields(
    item_id: int, media: str, content_hash: str, blob_key: str | None, size: tuple[int, int] | None
) -> dict[str, Any]:
    """The display_url / peaks_url / width / height of an item's payload (contract A); nothing for URL items."""
    if media not in DERIVED_MEDIA or blob_key is None:
        return {}
    v = url_version(content_hash)
    out: dict[str, Any] = {"display_url": f"/api/v1/items/{item_id}/display?v={v}"}
    if media == "audio":
        out["peaks_url"] = f"/api/v1/items/{item_id}/peaks?v={v}"
    elif size is not None:
        out["width"], out["height"] = size
    return out


def display_sizes(session: Session, item_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Original sizes of the images among ``item_ids`` already derived: one primary-key lookup for a batch."""
    if not item_ids:
        return {}
    rows = session.connection().execute(_SIZES, {"item_ids": list(item_ids)})
    return {row.item_id: (row.width, row.height) for row in rows}


def derive_items(db: Database, blobs: BlobStore, item_ids: Iterable[int], *, force: bool = False) -> DeriveReport:
    """Derive what is missing (or of an older recipe) for these items; returns counts and the errors."""
    started = time.perf_counter()
    report = DeriveReport()
    ids = list(item_ids)
    for start in range(0, len(ids), CHUNK):
        _derive_chunk(db, blobs, ids[start : start + CHUNK], force, report)
    report.seconds = time.perf_counter() - started
    return report


def derive_import(db: Database, blobs: BlobStore, import_id: int) -> DeriveReport:
    """Everything an import brought in, a chunk at a time (keyset over item ids, so memory stays flat)."""
    started = time.perf_counter()
    report = DeriveReport()
    after = 0
    while True:
        with db.read() as session:
            ids = list(
                session.scalars(
                    sa.select(Item.id)
                    .where(Item.import_id == import_id, Item.id > after, Item.media.in_(DERIVED_MEDIA))
                    .where(Item.blob_key.is_not(None))
                    .order_by(Item.id)
                    .limit(CHUNK)
                )
            )
        if not ids:
            break
        _derive_chunk(db, blobs, ids, False, report)
        after = ids[-1]
    report.seconds = time.perf_counter() - started
    if report.derived or report.failed:
        log.info(
            "import %d: derived media of %d items (%d failed) in %.1f s",
            import_id, report.derived, report.failed, report.seconds,
        )  # fmt: skip
    return report


def _derive_chunk(db: Database, blobs: BlobStore, ids: list[int], force: bool, report: DeriveReport) -> None:
    with db.read() as session:
        items = list(
            session.execute(
                sa.select(Item.id, Item.org_id, Item.media, Item.blob_key).where(
                    Item.id.in_(ids), Item.media.in_(DERIVED_MEDIA), Item.blob_key.is_not(None)
                )
            )
        )
        done = (
            set()
            if force
            else set(
                session.scalars(
                    sa.select(Derivative.item_id).where(
                        Derivative.item_id.in_(ids),
                        Derivative.kind == DISPLAY,
                        Derivative.version == DERIVATION_VERSION,
                    )
                )
            )
        )
    report.skipped += len(ids) - len(items)
    rows: list[dict[str, Any]] = []
    for item in items:
        if item.id in done:
            report.skipped += 1
            continue
        made = _derive_one(blobs, item.id, item.org_id, item.media, item.blob_key)
        if made[0]["error"] is None:
            report.derived += 1
        else:
            report.failed += 1
            report.errors.append({"item_id": item.id, "error": made[0]["error"]})
        rows.extend(made)
    if rows:
        _save(db, rows)


def _derive_one(blobs: BlobStore, item_id: int, org_id: int, media: str, blob_key: str) -> list[dict[str, Any]]:
    """The rows of one item's derivatives; an unreadable original gives rows that carry the error."""
    kinds = (DISPLAY, PEAKS) if media == "audio" else (DISPLAY,)
    try:
        with blobs.open(blob_key) as stream:
            original = stream.read()
        if media == "image":
            image = derive_image(original)
            stored = blobs.put_stream(org_id, io.BytesIO(image.data))
            return [_row(item_id, DISPLAY, stored.key, image.mime_type, stored.size, width=image.width,
                         height=image.height)]  # fmt: skip
        audio = derive_audio(original)
        sound = blobs.put_stream(org_id, io.BytesIO(audio.data))
        peaks = blobs.put_stream(org_id, io.BytesIO(audio.peaks))
        return [
            _row(item_id, DISPLAY, sound.key, audio.mime_type, sound.size, duration=audio.duration),
            _row(item_id, PEAKS, peaks.key, "application/json", peaks.size, duration=audio.duration),
        ]
    except MediaError as err:
        error = str(err)
    except FileNotFoundError:
        error = "the original is missing from storage"
    except Exception as err:  # a job must outlive one bad file; the error is kept on the row
        log.exception("item %d: deriving its media failed", item_id)
        error = f"{type(err).__name__}: {err}"
    log.warning("item %d: cannot derive its %s media (%s); the original will be served", item_id, media, error)
    return [_row(item_id, kind, None, None, None, error=error[:1000]) for kind in kinds]


def _row(
    item_id: int,
    kind: str,
    blob_key: str | None,
    mime_type: str | None,
    size: int | None,
    *,
    width: int | None = None,
    height: int | None = None,
    duration: float | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "item_id": item_id, "kind": kind, "version": DERIVATION_VERSION, "blob_key": blob_key,
        "mime_type": mime_type, "size_bytes": size, "width": width, "height": height, "duration": duration,
        "error": error, "created_at": utcnow(),
    }  # fmt: skip


def _save(db: Database, rows: list[dict[str, Any]]) -> None:
    """Insert or replace: the job and an on-demand request may derive the same item at once, harmlessly."""
    insert = sqlite.insert if db.is_sqlite else postgresql.insert
    stmt = insert(Derivative).values(rows)
    update = {c: stmt.excluded[c] for c in rows[0] if c not in ("item_id", "kind")}
    with db.write() as session:
        session.execute(stmt.on_conflict_do_update(index_elements=["item_id", "kind"], set_=update))
        session.commit()


def derivative(db: Database, blobs: BlobStore, item: Item, kind: str) -> Derivative | None:
    """The item's derivative of this kind, derived now if missing or of an older recipe; None when the item
    is not media Kolam stores (text, or a URL)."""
    if item.media not in DERIVED_MEDIA or item.blob_key is None or (kind == PEAKS and item.media != "audio"):
        return None
    for attempt in range(2):
        with db.read() as session:
            row = session.get(Derivative, (item.id, kind))
            if row is not None and row.version == DERIVATION_VERSION:
                session.expunge(row)
                return row
        if attempt == 0:
            derive_items(db, blobs, [item.id], force=True)
    return None
