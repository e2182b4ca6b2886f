"""Downloading a project's items and answers in a registered format, streamed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from kolam.api.deps import CurrentActor, DatabaseDep
from kolam.api.schemas.common import ERRORS
from kolam.errors import Invalid
from kolam.formats import EXPORT_FORMATS, export_format
from kolam.services import exports

router = APIRouter(tags=["exports"], responses=ERRORS)


class ExportFormatOut(BaseModel):
    name: str
    media_type: str
    extension: str
    description: str


@router.get("/export-formats", response_model=list[ExportFormatOut])
def formats(actor: CurrentActor) -> list[ExportFormatOut]:
    return [
        ExportFormatOut(name=f.name, media_type=f.media_type, extension=f.extension, description=f.description)
        for f in EXPORT_FORMATS.values()
    ]


@router.get("/projects/{project_id}/export", response_class=StreamingResponse)
def export(
    project_id: int,
    actor: CurrentActor,
    db: DatabaseDep,
    format: Annotated[str, Query(description="jsonl, csv, or another registered format")] = "jsonl",
    history: Annotated[bool, Query(description="Include replaced versions of answers.")] = False,
) -> StreamingResponse:
    """Every item with its answers, streamed; memory stays flat whatever the project's size."""
    try:
        fmt = export_format(format)
    except KeyError:
        raise Invalid(f"unknown format '{format}'; known: {', '.join(EXPORT_FORMATS)}", field="format") from None
    pid = exports.start_export(db, actor, project_id, format_name=fmt.name)
    records = exports.iter_export_records(db, pid, history=history, reveal_annotators=actor.can("members.manage"))
    filename = f"project-{pid}{fmt.extension}"
    return StreamingResponse(
        fmt.write(records),
        media_type=fmt.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
