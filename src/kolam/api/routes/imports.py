"""Importing items into a project: an uploaded file, or a file or folder on the server."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from kolam.api.deps import BlobsDep, CurrentActor, DatabaseDep, JobsDep, SettingsDep
from kolam.api.schemas.common import ERRORS
from kolam.api.schemas.projects import ImportOut
from kolam.errors import Invalid, NotFound, TooLarge
from kolam.services import import_queue, imports
from kolam.services.projects import get_project

router = APIRouter(tags=["imports"], responses=ERRORS)


class ServerPathIn(BaseModel):
    path: str = Field(description="A file or folder under one of the server's KOLAM_IMPORT_ROOTS.")


def _check_project(db: DatabaseDep, actor: CurrentActor, project_id: int) -> None:
    actor.require("items.import")
    with db.read() as session:
        get_project(session, actor, project_id)


@router.post(
    "/projects/{project_id}/imports",
    response_model=ImportOut,
    status_code=201,
    responses={202: {"model": ImportOut, "description": "Queued (background=true)."}},
)
async def upload(
    project_id: int,
    request: Request,
    actor: CurrentActor,
    db: DatabaseDep,
    blobs: BlobsDep,
    settings: SettingsDep,
    jobs: JobsDep,
    response: Response,
    filename: Annotated[str, Query(description="Name of the file; its suffix picks the format (.jsonl, .csv.gz…)")],
    background: Annotated[
        bool,
        Query(
            description="Answer at once (202, status 'queued') and import in a background job; "
            "poll GET /imports/{id} for its progress (records read) and outcome."
        ),
    ] = False,
) -> ImportOut:
    """Send the file as the raw request body. All its items are imported, or none (the error says where)."""
    await run_in_threadpool(_check_project, db, actor, project_id)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > settings.max_upload_bytes:
        raise TooLarge(f"the upload is {declared} bytes; the limit is {settings.max_upload_bytes}", field="body")
    root = import_queue.spool_root(settings.data_dir)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".upload-", dir=root) as tmp:
        path = Path(tmp) / Path(filename).name
        await _receive(request, path, settings.max_upload_bytes)
        if background:
            run, spooled = await run_in_threadpool(import_queue.queue_import, db, actor, project_id, path, root)
            jobs.enqueue_import(run.id, spooled)
            response.status_code = 202
            return ImportOut.model_validate(run)
        report = await run_in_threadpool(
            imports.import_path, db, actor, project_id, path, blobs=blobs, allowed_roots=settings.import_roots,
            max_item_bytes=settings.max_item_bytes, source_name=path.name,
            max_expanded_bytes=settings.max_upload_bytes,
        )  # fmt: skip
    jobs.enqueue_derive_import(report.import_id)
    return ImportOut.model_validate(imports.get_import(db, actor, report.import_id))


async def _receive(request: Request, path: Path, limit: int) -> None:
    size = 0
    with path.open("wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"the upload is over the limit of {limit} bytes", field="body")
            out.write(chunk)
    if size == 0:
        raise Invalid("the upload is empty", field="body")


@router.post("/projects/{project_id}/imports/from-path", response_model=ImportOut, status_code=201)
def from_server_path(
    project_id: int,
    body: ServerPathIn,
    actor: CurrentActor,
    db: DatabaseDep,
    blobs: BlobsDep,
    settings: SettingsDep,
    jobs: JobsDep,
) -> ImportOut:
    """Import a file or a folder of media that already lies on the server, under KOLAM_IMPORT_ROOTS."""
    _check_project(db, actor, project_id)
    path = Path(body.path)
    if not settings.import_roots or not imports.inside_roots(path, settings.import_roots):
        raise Invalid("the path is not under the server's import folders (KOLAM_IMPORT_ROOTS)", field="path")
    if not path.exists():
        raise NotFound(f"{body.path} does not exist on the server", field="path")
    report = imports.import_path(
        db, actor, project_id, path, blobs=blobs, allowed_roots=settings.import_roots,
        max_item_bytes=settings.max_item_bytes,
    )  # fmt: skip
    jobs.enqueue_derive_import(report.import_id)
    return ImportOut.model_validate(imports.get_import(db, actor, report.import_id))


@router.get("/imports/{import_id}", response_model=ImportOut)
def get_import(import_id: int, actor: CurrentActor, db: DatabaseDep) -> ImportOut:
    actor.require("items.import")
    return ImportOut.model_validate(imports.get_import(db, actor, import_id))
