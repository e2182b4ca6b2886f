"""Signed, short-lived links to an item's original file, for a client's model server.

The server downloads images and audio with a plain GET and holds no Kolam credentials, so the link is the
authorization: an HMAC-SHA256 over the item id and an expiry time, under a key only Kolam holds. A link opens
only the item it was made for, and only until it expires.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from sqlalchemy.orm import Session

from kolam.errors import Forbidden, Invalid, NotFound
from kolam.services import audit
from kolam.settings import Settings
from kolam.store.blobs import BlobStore
from kolam.store.tables import Item

log = logging.getLogger(__name__)

KEY_FILE = "secret.key"
MIN_KEY_CHARS = 32
DEFAULT_TTL = 3600
MEDIA_PATH = "/api/v1/media"  # the route in kolam.api.routes.media; services do not import the API
_PURPOSE = b"media:v1:"  # a key reused for another purpose later cannot mint media links, nor the reverse


class SignedRead(NamedTuple):
    """The item a valid link opens, and how many seconds the link has left (what a cache may keep it for)."""

    item: Item
    seconds_left: int


def signing_key(settings: Settings) -> bytes:
    """KOLAM_SECRET_KEY, else the key kept in ``<data_dir>/secret.key`` (made on first use)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    return load_or_create_key(settings.data_dir / KEY_FILE)


def load_or_create_key(path: Path) -> bytes:
    """The key in ``path``; when there is none, a new random one, written so that racing processes agree.

    The new key goes to a private temporary file first and is then hard-linked to ``path``, which fails if
    the file exists: whoever links first wins and everyone reads the winner's key. The file holds text, so
    it can be copied into KOLAM_SECRET_KEY as it is.
    """
    if path.exists():
        return _read_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_bytes(32).hex() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
            log.info("made a new media-link signing key in %s", path)
        except FileExistsError:
            pass  # another process made one first: use theirs
    finally:
        temporary.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    if len(text) < MIN_KEY_CHARS:
        raise Invalid(
            f"{path} holds a signing key of {len(text)} characters; it needs at least {MIN_KEY_CHARS} "
            "(delete the file to have a new one made, or set KOLAM_SECRET_KEY)",
            field="secret_key",
        )
    if path.stat().st_mode & 0o077:
        log.warning("%s can be read by other users of this machine; make it private (chmod 600)", path)
    return text.encode()


def _signature(key: bytes, item_id: int, exp: int) -> str:
    return hmac.new(key, _PURPOSE + f"{item_id}:{exp}".encode(), hashlib.sha256).hexdigest()


def signed_media_url(settings: Settings, item_id: int, *, ttl: int = DEFAULT_TTL, now: float | None = None) -> str:
    """An absolute URL that serves item ``item_id``'s original file to anyone holding it, for ``ttl`` seconds."""
    if ttl <= 0:
        raise Invalid(f"a media link must live a positive number of seconds, got {ttl}", field="ttl")
    exp = int(time.time() if now is None else now) + ttl
    sig = _signature(signing_key(settings), item_id, exp)
    return f"{settings.effective_public_url}{MEDIA_PATH}/{item_id}?exp={exp}&sig={sig}"


def verify(settings: Settings, item_id: int, exp: int, sig: str, now: float | None = None) -> int:
    """Seconds the link has left; Forbidden when the signature does not match or the link has expired."""
    expected = _signature(signing_key(settings), item_id, exp).encode()
    if not hmac.compare_digest(expected, sig.encode(errors="replace")):
        raise Forbidden(
            f"the media link to item {item_id} has a wrong signature: it was altered, or signed with another "
            "key (do all Kolam servers share KOLAM_SECRET_KEY?)",
            field="sig",
            code="bad_signature",
        )
    left = exp - (time.time() if now is None else now)
    if left <= 0:
        when = datetime.fromtimestamp(exp, UTC).isoformat(timespec="seconds")
        raise Forbidden(
            f"the media link to item {item_id} expired at {when} ({int(-left)} s ago); ask Kolam for a new link",
            field="exp",
            code="link_expired",
        )
    return int(left)


def item_for_signed_link(
    session: Session,
    settings: Settings,
    blobs: BlobStore,
    item_id: int,
    exp: int | None,
    sig: str | None,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    now: float | None = None,
) -> SignedRead:
    """The item a signed link opens, its stored file checked present; the read goes to the audit trail.

    The signature is checked before anything is read, so a bad link learns nothing about which items exist.
    """
    if exp is None or sig is None:
        raise Forbidden(
            "a media link needs ?exp=...&sig=... exactly as Kolam made it", field="sig", code="bad_signature"
        )
    seconds_left = verify(settings, item_id, exp, sig, now)
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"no item {item_id}", field="item_id")
    if item.blob_key is None:
        raise NotFound(
            f"item {item_id} has no file stored by Kolam (it is text, or refers to media elsewhere)", field="item_id"
        )
    if not blobs.exists(item.blob_key):
        raise NotFound(f"the file of item {item_id} is missing from storage", field="item_id")
    audit.record(
        session, None, "media.signed_read", "item", item_id, {"exp": exp}, org_id=item.org_id,
        source=("signed_link", ip, user_agent),
    )  # fmt: skip
    session.commit()
    return SignedRead(item, seconds_left)
