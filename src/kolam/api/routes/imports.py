"""Uploading a file of items (JSON, JSONL, CSV, optionally gzip'd) into a project."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from kolam.api.deps import BlobsDep, CurrentActor, DatabaseDep, SettingsDep
from kolam.api.schemas.common import ERRORS
from kolam.api.schemas.projects import ImportOut
from kolam.errors import Invalid, TooLarge
from kolam.formats import FormatError, detect_format, open_source, reader_for
from kolam.services import imports

router = APIRouter(tags=["imports"], responses=ERRORS)


@router.post("/projects/{project_id}/imports", response_model=ImportOut, status_code=201)
async def upload(
    project_id: int,
    request: Request,
    actor: CurrentActor,
    db: DatabaseDep,
    blobs: BlobsDep,
    settings: SettingsDep,
    filename: Annotated[str, Query(description="Name of the file; its suffix picks the format (.jsonl, .csv.gz…)")],
) -> ImportOut:
    """Send the file as the raw request body. All its items are imported, or none (the error says where)."""
    actor.require("items.import")
    declared = request.headers.get("content-length")
    if declared is not None and int(declared) > settings.max_upload_bytes:
        raise TooLarge(f"the upload is {declared} bytes; the limit is {settings.max_upload_bytes}", field="body")
    with tempfile.TemporaryDirectory(prefix="kolam-import-") as tmp:
        path = Path(tmp) / Path(filename).name
        size = 0
        with path.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > settings.max_upload_bytes:
                    raise TooLarge(f"the upload is over the limit of {settings.max_upload_bytes} bytes", field="body")
                out.write(chunk)
        if size == 0:
            raise Invalid("the upload is empty", field="body")
        report = await run_in_threadpool(
            _run, db, actor, project_id, path, blobs, settings.import_roots, settings.max_item_bytes
        )
    return ImportOut.model_validate(imports.get_import(db, actor, report.import_id))


def _run(
    db: DatabaseDep,
    actor: CurrentActor,
    project_id: int,
    path: Path,
    blobs: BlobsDep,
    roots: list[Path],
    max_item_bytes: int,
) -> imports.ImportReport:
    try:
        fmt = detect_format(path)
        if fmt == "folder":
            raise Invalid("upload a file, not a folder", field="filename")
        with open_source(path) as stream:
            records = reader_for(fmt)(stream, path.name)
            return imports.import_records(
                db,
                actor,
                project_id,
                records,
                source=path.name,
                format_name=fmt,
                blobs=blobs,
                allowed_roots=roots,
                max_item_bytes=max_item_bytes,
            )
    except FormatError as err:
        raise Invalid(str(err), field=err.field) from None


@router.get("/imports/{import_id}", response_model=ImportOut)
def get_import(import_id: int, actor: CurrentActor, db: DatabaseDep) -> ImportOut:
    actor.require("items.import")
    return ImportOut.model_validate(imports.get_import(db, actor, import_id))
