"""Submitting answers (one or a batch), editing them, and their history."""

from __future__ import annotations

from fastapi import APIRouter, Response

from kolam.api.deps import CurrentActor, JobsDep, ReadSession, WriteSession
from kolam.api.schemas.common import ERRORS, FastJson
from kolam.api.schemas.tasks import (
    AnnotationEditIn,
    AnnotationIn,
    AnnotationOut,
    BatchIn,
    BatchOut,
    BatchResultOut,
    SubmitOut,
)
from kolam.services import answer_edits, submissions
from kolam.services.submissions import Submission

router = APIRouter(tags=["annotations"], responses=ERRORS)
_submitted = FastJson[SubmitOut](SubmitOut)
_batch = FastJson[BatchOut](BatchOut)


def _answer(result: submissions.SubmitResult) -> SubmitOut:
    """The reply, built without validation: every field comes from a row just read or written."""
    fields = {name: getattr(result.annotation, name) for name in AnnotationOut.model_fields}
    return SubmitOut.model_construct(annotation=AnnotationOut.model_construct(**fields), replayed=result.replayed)


def _submission(body: AnnotationIn) -> Submission:
    return Submission(
        task_id=body.task_id,
        client_id=body.client_id,
        value=body.value,
        schema_version=body.schema_version,
        lead_time_ms=body.lead_time_ms,
        time_spent_ms=body.time_spent_ms,
        client_created_at=body.client_created_at,
    )


@router.post("/projects/{project_id}/annotations", response_model=SubmitOut, status_code=201)
def submit(project_id: int, body: AnnotationIn, session: WriteSession, actor: CurrentActor, jobs: JobsDep) -> Response:
    """Store an answer. Retrying with the same `client_id` returns the first result (`replayed: true`)."""
    result = submissions.submit(session, actor, project_id, _submission(body))
    if not result.replayed:
        jobs.answers_arrived(project_id)
    return _submitted.response(_answer(result), status_code=201)


@router.post("/projects/{project_id}/annotations/batch", response_model=BatchOut)
def submit_batch(project_id: int, body: BatchIn, session: WriteSession, actor: CurrentActor, jobs: JobsDep) -> Response:
    """Several answers at once (an offline outbox syncing); each succeeds or fails on its own."""
    outcomes = submissions.submit_many(session, actor, project_id, [_submission(a) for a in body.annotations])
    if any(o.result is not None and not o.result.replayed for o in outcomes):
        jobs.answers_arrived(project_id)
    reply = BatchOut.model_construct(
        results=[
            BatchResultOut.model_construct(
                client_id=o.client_id,
                ok=o.error is None,
                annotation_id=o.result.annotation.id if o.result else None,
                replayed=o.result.replayed if o.result else False,
                late=o.result.annotation.late if o.result else False,
                counted=o.result.annotation.counted if o.result else False,
                error=o.error.as_dict() if o.error else None,
            )
            for o in outcomes
        ]
    )
    return _batch.response(reply)


@router.post("/annotations/{annotation_id}/versions", response_model=SubmitOut, status_code=201)
def edit(annotation_id: int, body: AnnotationEditIn, session: WriteSession, actor: CurrentActor) -> Response:
    """Replace your answer with a new version; the old one stays in its history."""
    result = answer_edits.edit_answer(
        session, actor, annotation_id, client_id=body.client_id, value=body.value, time_spent_ms=body.time_spent_ms
    )
    return _submitted.response(_answer(result), status_code=201)


@router.get("/annotations/{annotation_id}/history", response_model=list[AnnotationOut])
def history(annotation_id: int, session: ReadSession, actor: CurrentActor) -> list[AnnotationOut]:
    return [AnnotationOut.model_validate(a) for a in answer_edits.answer_history(session, actor, annotation_id)]
