"""Browsing items with their answers, and fetching an item's media (every read audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse

from kolam.api.deps import BlobsDep, CurrentActor, WriteSession
from kolam.api.schemas.common import ERRORS
from kolam.api.schemas.tasks import ItemPageOut, ItemWithAnswersOut
from kolam.errors import NotFound
from kolam.services import items
from kolam.services.items import ItemFilter

router = APIRouter(tags=["items"], responses=ERRORS)


@router.get("/projects/{project_id}/items", response_model=ItemPageOut)
def list_items(
    project_id: int,
    session: WriteSession,
    actor: CurrentActor,
    state: Annotated[str | None, Query(description="open or done")] = None,
    annotator: Annotated[int | None, Query(description="User id: items this person answered.")] = None,
    label: Annotated[
        str | None, Query(description="Items with a current, counted answer (not a late extra) naming this class.")
    ] = None,
    created_from: Annotated[
        datetime | None,
        Query(description="Items created at or after this time (ISO 8601; without an offset, UTC)."),
    ] = None,
    created_to: Annotated[
        datetime | None, Query(description="Items created before this time (ISO 8601; without an offset, UTC).")
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            description="next_cursor of the previous page, with the same filters; pages in creation order "
            "when created_from or created_to is given."
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=items.MAX_PAGE)] = 50,
) -> ItemPageOut:
    filters = ItemFilter(
        state=state, annotator_id=annotator, label=label, created_from=created_from, created_to=created_to
    )
    rows, next_cursor = items.list_items(session, actor, project_id, filters, cursor=cursor, limit=limit)
    return ItemPageOut(items=[ItemWithAnswersOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/items/{item_id}", response_model=ItemWithAnswersOut)
def get_item(item_id: int, session: WriteSession, actor: CurrentActor) -> ItemWithAnswersOut:
    return ItemWithAnswersOut.model_validate(items.get_item(session, actor, item_id))


@router.get("/items/{item_id}/content", response_class=Response)
def content(item_id: int, request: Request, session: WriteSession, actor: CurrentActor, blobs: BlobsDep) -> Response:
    """The item's media. Immutable (content-addressed), so browsers may cache it for good."""
    item = items.item_for_content(session, actor, item_id)
    headers = {"Cache-Control": "private, max-age=31536000, immutable", "ETag": f'"{item.content_hash}"'}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    if item.text is not None:
        return Response(item.text, media_type="text/plain; charset=utf-8", headers=headers)
    if item.blob_key is None:
        assert item.url is not None
        return RedirectResponse(item.url, status_code=307)
    media_type = item.mime_type or "application/octet-stream"
    path = blobs.local_path(item.blob_key)
    if path is not None:
        if not path.exists():
            raise NotFound(f"the content of item {item_id} is missing from storage", field="item_id")
        return FileResponse(path, media_type=media_type, headers=headers)
    stream = blobs.open(item.blob_key)
    return StreamingResponse(iter(lambda: stream.read(1 << 16), b""), media_type=media_type, headers=headers)
