"""Turning one import record into an item row: which field holds the content for each project kind, and
what a path, a URL or an uploaded file means. Errors name the record's location and the field."""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

import orjson

from kolam.errors import Invalid, TooLarge
from kolam.formats import SourceRecord
from kolam.store.blobs import BlobStore, TooBig
from kolam.store.bulk import ITEM_ROW, ItemRow

CONTENT_FIELD = {"image_classes": "image", "image_boxes": "image", "transcription": "audio", "text_classes": "text"}
MEDIA = {"image_classes": "image", "image_boxes": "image", "transcription": "audio", "text_classes": "text"}
RESERVED = {"id", "priority", "meta", "text", "image", "audio", "file", "kind"}
URL_SCHEMES = ("http://", "https://", "s3://", "gs://")
MAX_TEXT = 1_000_000
MAX_EXTERNAL_ID = 500  # items.external_id is VARCHAR(500)
PRIORITY_RANGE = (-(2**31), 2**31 - 1)  # tasks.priority is a 32-bit INTEGER


@dataclass(frozen=True)
class RecordContext:
    """What a record may refer to: which folders paths may point into, and where blobs go."""

    project_kind: str
    org_id: int
    blobs: BlobStore
    allowed_roots: Sequence[Path]
    max_item_bytes: int


def _fail(record: SourceRecord, message: str, field: str | None) -> Invalid:
    where = f"{record.location}: {message}"
    return Invalid(where + (f" (field '{field}')" if field else ""), field=field)


def _check_path(record: SourceRecord, raw: str, ctx: RecordContext, field: str) -> Path:
    if not ctx.allowed_roots:
        raise _fail(record, "items may not refer to server paths here; upload the files or give URLs", field)
    base = ctx.allowed_roots[0]
    path = (base / raw).resolve() if not Path(raw).is_absolute() else Path(raw).resolve()
    if not any(path.is_relative_to(root.resolve()) for root in ctx.allowed_roots):
        raise _fail(record, f"path '{raw}' is outside the folders imports may read", field)
    if not path.is_file():
        raise _fail(record, f"file '{raw}' does not exist", field)
    return path


def _store_file(record: SourceRecord, path: Path, ctx: RecordContext, field: str) -> dict[str, Any]:
    try:
        blob = ctx.blobs.put_file(ctx.org_id, path, max_bytes=ctx.max_item_bytes)
    except TooBig as err:
        raise TooLarge(f"{record.location}: {err}", field=field) from None
    mime = mimetypes.guess_type(path.name)[0]
    return {
        "content_hash": blob.sha256,
        "blob_key": blob.key,
        "size_bytes": blob.size,
        "mime_type": mime,
        "source_name": path.name,
    }


def _text_of(record: SourceRecord, value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise _fail(record, f"'{field}' must be a string, got {type(value).__name__}", field)
    if not value.strip():
        raise _fail(record, f"'{field}' is empty", field)
    if "\x00" in value:  # PostgreSQL cannot store NUL in text; refuse it on every database alike
        raise _fail(record, f"'{field}' contains a NUL character (\\u0000)", field)
    if len(value) > MAX_TEXT:
        raise _fail(record, f"'{field}' is over {MAX_TEXT} characters", field)
    return value


def _content(record: SourceRecord, ctx: RecordContext) -> dict[str, Any]:
    field = CONTENT_FIELD[ctx.project_kind]
    media = MEDIA[ctx.project_kind]
    if record.file_path is not None:
        kind = record.fields.get("kind")
        if kind != media:
            raise _fail(record, f"a project of kind {ctx.project_kind} takes {media} files, this is {kind}", "file")
        if media == "text":
            try:
                text = record.file_path.read_text(encoding="utf-8")
            except UnicodeDecodeError as err:
                raise _fail(record, f"not UTF-8 text ({err.reason} at byte {err.start})", "file") from None
            return _text_item(record, text, field)
        return {"media": media, **_store_file(record, record.file_path, ctx, "file")}
    if field not in record.fields:
        given = ", ".join(sorted(record.fields)) or "none"
        raise _fail(
            record,
            f"missing field '{field}' (a project of kind {ctx.project_kind} needs it; fields given: {given})",
            field,
        )
    value = record.fields[field]
    if media == "text":
        return _text_item(record, value, field)
    ref = _text_of(record, value, field).strip()
    if ref.startswith(URL_SCHEMES):
        digest = sha256(b"url:" + ref.encode()).hexdigest()
        return {"media": media, "content_hash": digest, "url": ref, "mime_type": mimetypes.guess_type(ref)[0]}
    return {"media": media, **_store_file(record, _check_path(record, ref, ctx, field), ctx, field)}


def _text_item(record: SourceRecord, value: Any, field: str) -> dict[str, Any]:
    text = _text_of(record, value, field)
    return {
        "media": "text",
        "text": text,
        "content_hash": sha256(text.encode()).hexdigest(),
        "size_bytes": len(text.encode()),
    }


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _external_id(record: SourceRecord, external: Any) -> str | None:
    if external is None:
        return None
    if not isinstance(external, str | int) or isinstance(external, bool):
        raise _fail(record, f"'id' must be a string or number, got {type(external).__name__}", "id")
    if len(str(external)) > MAX_EXTERNAL_ID or "\x00" in str(external):
        raise _fail(record, f"'id' must be at most {MAX_EXTERNAL_ID} characters, without NUL", "id")
    return str(external)


def _priority(record: SourceRecord, priority: Any) -> int:
    if isinstance(priority, str) and priority.strip().lstrip("-").isdigit():
        priority = int(priority)
    if priority in ("", None):
        priority = 0
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise _fail(record, f"'priority' must be a whole number, got {priority!r}", "priority")
    if not PRIORITY_RANGE[0] <= priority <= PRIORITY_RANGE[1]:
        raise _fail(record, f"'priority' must be between {PRIORITY_RANGE[0]} and {PRIORITY_RANGE[1]}", "priority")
    return priority


def _meta_json(record: SourceRecord, meta: Any, file_name: str | None) -> str:
    """The record's meta (its own object plus any fields Kolam does not know) as JSON text."""
    fields = record.fields
    if type(meta) is not dict:
        raise _fail(record, f"'meta' must be an object, got {type(meta).__name__}", "meta")
    if not RESERVED.issuperset(fields):
        meta = {**meta, **{k: v for k, v in fields.items() if k not in RESERVED}}
    if file_name and "file_name" not in meta:
        meta = {**meta, "file_name": fields.get("file", file_name)}
    try:
        text = orjson.dumps(meta)
    except orjson.JSONEncodeError as err:
        raise _fail(record, f"'meta' cannot be stored as JSON ({err})", "meta") from None
    # orjson writes NUL as \u0000; the escape can also be literal text, so look closer before refusing
    if b"\\u0000" in text and _has_nul(meta):  # PostgreSQL's JSONB refuses NUL; refuse it on every database
        raise _fail(record, "'meta' contains a NUL character (\\u0000)", "meta")
    return text.decode()


_EMPTY: dict[str, Any] = {}
MAX_MIME_SUFFIXES = 1000


class ItemRows:
    """Turns records into rows for ``bulk.stage_items``: validated, hashed, meta as JSON text.

    Text and URL records (nearly every large import) take a straight path with no intermediate dict; files,
    paths and anything doubtful go through ``_content``, which also words the errors.
    """

    def __init__(self, ctx: RecordContext) -> None:
        self.ctx = ctx
        self.field = CONTENT_FIELD[ctx.project_kind]
        self.media = MEDIA[ctx.project_kind]
        self._mimes: dict[str, str | None] = {}
        self._compound = {suffix.lower() for suffix in (*mimetypes.suffix_map, *mimetypes.encodings_map)}

    def row(self, record: SourceRecord, position: int) -> tuple[ItemRow, int]:
        """The item row for one record (``position`` first, see ``bulk.ITEM_ROW``) and its task priority."""
        fields = record.fields
        value = fields.get(self.field) if record.file_path is None else None
        file_name = None
        if type(value) is str and value and len(value) <= MAX_TEXT and "\x00" not in value and not value.isspace():
            if self.media == "text":
                data = value.encode()
                content: tuple[Any, ...] = (sha256(data).hexdigest(), "text", value, None, None, None, len(data))
            elif (ref := value.strip()).startswith(URL_SCHEMES):
                digest = sha256(b"url:" + ref.encode()).hexdigest()
                content = (digest, self.media, None, None, self._mime(ref), ref, None)
            else:
                content, file_name = self._slow_content(record)
        else:
            content, file_name = self._slow_content(record)
        external = fields.get("id")
        if type(external) is not str or len(external) > MAX_EXTERNAL_ID or "\x00" in external:
            external = _external_id(record, external)
        priority = fields.get("priority", 0)
        if type(priority) is not int or not PRIORITY_RANGE[0] <= priority <= PRIORITY_RANGE[1]:
            priority = _priority(record, priority)
        meta = fields.get("meta", _EMPTY)
        if meta is _EMPTY and file_name is None and RESERVED.issuperset(fields):
            meta_json = "{}"
        else:
            meta_json = _meta_json(record, meta, file_name)
        return (position, *content, external, meta_json), priority

    def _slow_content(self, record: SourceRecord) -> tuple[tuple[Any, ...], str | None]:
        row = _content(record, self.ctx)
        content = tuple(row.get(column) for column in ITEM_ROW[1:8])
        return content, row.get("source_name")

    def _mime(self, url: str) -> str | None:
        """``mimetypes.guess_type(url)``, remembered by suffix (it parses the URL on every call)."""
        name = url[url.rfind("/") + 1 :].lstrip(".")
        dot = name.rfind(".")
        suffix = name[dot:] if dot > 0 else ""
        if suffix in self._mimes:
            return self._mimes[suffix]
        mime = mimetypes.guess_type(url)[0]
        # .tar.gz and the like depend on the suffix before; a query string makes suffixes endless
        if suffix.lower() not in self._compound and len(self._mimes) < MAX_MIME_SUFFIXES:
            self._mimes[suffix] = mime
        return mime
