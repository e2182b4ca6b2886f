"""What annotators download: an item's display image or audio and its waveform peaks (contract A); and what
a client's model server downloads: an item's original file through a signed, short-lived link.

Display and peaks: same access rules and audit as ``/items/{id}/content``. URLs carry ``?v=`` (recipe version
and content hash), so responses are immutable; a missing derivative is derived on the spot, so nothing waits
on a worker. Signed links need no login: the signature is the authorization (services/media_links.py).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse

from kolam.api.deps import BlobsDep, CurrentActor, DatabaseDep, SettingsDep, WriteSession
from kolam.api.schemas.common import ERRORS
from kolam.errors import NotFound
from kolam.services import items, media, media_links
from kolam.store.blobs import BlobStore
from kolam.store.tables import Derivative, Item

router = APIRouter(tags=["items"], responses=ERRORS)
log = logging.getLogger(__name__)
IMMUTABLE = "private, max-age=31536000, immutable"
Version = Annotated[str | None, Query(description="Cache key from the item payload's URL; any value is served.")]


def _etag(item: Item, kind: str) -> str:
    return f'"{kind}-{media.url_version(item.content_hash)}"'


def _blob_response(blobs: BlobStore, key: str, media_type: str, headers: dict[str, str]) -> Response:
    path = blobs.local_path(key)
    if path is not None:
        return FileResponse(path, media_type=media_type, headers=headers)
    with blobs.open(key) as stream:
        return Response(stream.read(), media_type=media_type, headers=headers)


@router.get("/items/{item_id}/display", response_class=Response)
def display(
    item_id: int,
    request: Request,
    session: WriteSession,
    actor: CurrentActor,
    db: DatabaseDep,
    blobs: BlobsDep,
    v: Version = None,
) -> Response:
    """The light version of an image (WebP/JPEG within 1280 px, ≤ 30 KB where possible) or audio (Ogg Opus,
    mono, ≤ 16 kbit/s). Images say their original size in X-Kolam-Original-Width/-Height."""
    item = items.item_for_content(session, actor, item_id)
    headers = {"Cache-Control": IMMUTABLE, "ETag": _etag(item, "display")}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    row = media.derivative(db, blobs, item, media.DISPLAY)
    if row is None:
        raise NotFound(f"item {item_id} has no display version (it is text, or media Kolam does not store)")
    if row.width is not None and row.height is not None:
        headers["X-Kolam-Original-Width"], headers["X-Kolam-Original-Height"] = str(row.width), str(row.height)
    if row.blob_key is None or row.mime_type is None:
        assert item.blob_key is not None
        log.warning("item %d: no display version (%s); serving the original", item_id, row.error)
        return _blob_response(blobs, item.blob_key, item.mime_type or "application/octet-stream", headers)
    return _served(blobs, row, headers)


def _served(blobs: BlobStore, row: Derivative, headers: dict[str, str]) -> Response:
    assert row.blob_key is not None and row.mime_type is not None
    if not blobs.exists(row.blob_key):
        raise NotFound(f"the display version of item {row.item_id} is missing from storage", field="item_id")
    return _blob_response(blobs, row.blob_key, row.mime_type, headers)


@router.get("/items/{item_id}/peaks", response_class=Response)
def peaks(
    item_id: int,
    request: Request,
    session: WriteSession,
    actor: CurrentActor,
    db: DatabaseDep,
    blobs: BlobsDep,
    v: Version = None,
) -> Response:
    """An audio item's waveform: {"duration": s, "rate": peaks a second, "peaks": [max |amplitude|, 0..1]}."""
    item = items.item_for_content(session, actor, item_id)
    headers = {"Cache-Control": IMMUTABLE, "ETag": _etag(item, "peaks")}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    row = media.derivative(db, blobs, item, media.PEAKS)
    if row is None:
        raise NotFound(f"item {item_id} is not audio stored by Kolam, so it has no waveform", field="item_id")
    if row.blob_key is None:
        raise NotFound(f"item {item_id} has no waveform: {row.error}", field="item_id")
    return _served(blobs, row, headers)


@router.get("/media/{item_id}", response_class=Response, tags=["media"])
def signed_original(
    item_id: int,
    request: Request,
    session: WriteSession,
    settings: SettingsDep,
    blobs: BlobsDep,
    exp: Annotated[int | None, Query(description="Expiry of the link, in Unix seconds.")] = None,
    sig: Annotated[str | None, Query(description="HMAC-SHA256 of the item id and expiry, hex.")] = None,
) -> Response:
    """An item's original file, as stored, for a client's model server: no login, the link Kolam signed is
    the authorization (403 when altered or expired). Cached privately no longer than the link lives."""
    client = request.client.host if request.client else None
    read = media_links.item_for_signed_link(
        session, settings, blobs, item_id, exp, sig, ip=client, user_agent=request.headers.get("user-agent")
    )
    assert read.item.blob_key is not None
    headers = {
        "Cache-Control": f"private, max-age={read.seconds_left}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
    }
    return _blob_response(blobs, read.item.blob_key, read.item.mime_type or "application/octet-stream", headers)
