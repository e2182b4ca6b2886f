"""The model in the loop: versions, training and pre-labelling runs, the learning status, guideline notes."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from kolam.api.deps import BlobsDep, CurrentActor, DatabaseDep, JobsDep, ReadSession, SettingsDep, WriteSession
from kolam.api.schemas.common import ERRORS
from kolam.api.schemas.models import GuidelineIn, GuidelineOut, RunOut, VersionOut
from kolam.services import audit, guidelines, learning_status, model_versions, prelabel_run, training
from kolam.services.context import Actor
from kolam.services.projects import get_project
from kolam.store.db import Database
from kolam.store.tables import Project

router = APIRouter(tags=["models"], responses=ERRORS)

Background = Annotated[bool, Query(description="Queue it as a job and answer at once (default).")]


def _requested(db: Database, actor: Actor, project_id: int, action: str) -> Project:
    """A manager asked for a run on the project: check, and put it in the audit trail."""
    actor.require("projects.manage")
    with db.write() as session:
        project = get_project(session, actor, project_id)
        audit.record(session, actor, action, "project", project.id, {})
        session.commit()
        session.expunge(project)
    return project


@router.get("/projects/{project_id}/models", response_model=list[VersionOut])
def list_versions(project_id: int, session: ReadSession, actor: CurrentActor) -> list[VersionOut]:
    """Every model version of the project, newest first, with its metrics and comparison."""
    actor.require("stats.read")
    return [VersionOut(**asdict(v)) for v in model_versions.list_versions(session, actor, project_id)]


@router.get("/projects/{project_id}/models/status")
def status(project_id: int, session: ReadSession, actor: CurrentActor) -> dict[str, Any]:
    """The active version, auto-accept per class with audits, predicted and embedded counts, missing extras."""
    return learning_status.learning_status(session, actor, project_id)


@router.get("/projects/{project_id}/models/{version}", response_model=VersionOut)
def get_version(project_id: int, version: int, session: ReadSession, actor: CurrentActor) -> VersionOut:
    actor.require("stats.read")
    return VersionOut(**asdict(model_versions.get_version(session, actor, project_id, version)))


@router.post("/projects/{project_id}/models/{version}/promote", response_model=VersionOut)
def promote(project_id: int, version: int, session: WriteSession, actor: CurrentActor, jobs: JobsDep) -> VersionOut:
    """Make a version active by hand (a rollback, say); it then pre-labels what is open."""
    promoted = model_versions.promote_by_hand(session, actor, project_id, version)
    jobs.enqueue_prelabel(project_id)
    return VersionOut(**asdict(promoted))


@router.post("/projects/{project_id}/models/train", response_model=RunOut)
def train(
    project_id: int, db: DatabaseDep, blobs: BlobsDep, actor: CurrentActor, jobs: JobsDep, background: Background = True
) -> Any:
    """Train a new version from the settled answers now; it is promoted only if it beats the active one."""
    project = _requested(db, actor, project_id, "model.train")
    if background:
        jobs.enqueue_train(project.id)
        return Response(status_code=202, content=RunOut(queued=True).model_dump_json(), media_type="application/json")
    summary = training.train_project(db, blobs, project.id)
    if summary.status == "active":
        jobs.enqueue_prelabel(project.id)
    return RunOut(result=summary.as_dict())


@router.post("/projects/{project_id}/models/prelabel", response_model=RunOut)
def run_prelabel(
    project_id: int,
    db: DatabaseDep,
    blobs: BlobsDep,
    settings: SettingsDep,
    actor: CurrentActor,
    jobs: JobsDep,
    background: Background = True,
) -> Any:
    """Predict every item with the active model, re-order the queue and auto-accept what the policy allows."""
    project = _requested(db, actor, project_id, "model.prelabel")
    if background:
        jobs.enqueue_prelabel(project.id)
        return Response(status_code=202, content=RunOut(queued=True).model_dump_json(), media_type="application/json")
    summary = prelabel_run.prelabel(db, blobs, project.id, settings=settings)
    return RunOut(result=summary.as_dict())


@router.get("/projects/{project_id}/guidelines", response_model=list[GuidelineOut])
def list_guidelines(project_id: int, session: ReadSession, actor: CurrentActor) -> list[GuidelineOut]:
    """Managers' notes on confused class pairs."""
    project = get_project(session, actor, project_id)
    return [GuidelineOut(classes=list(pair), note=note) for pair, note in guidelines.notes(session, project.id).items()]


@router.put("/projects/{project_id}/guidelines", response_model=GuidelineOut | None)
def set_guideline(project_id: int, body: GuidelineIn, session: WriteSession, actor: CurrentActor) -> Any:
    """Attach a note to a pair of classes; annotators see it on items the model places between the two."""
    row = guidelines.set_note(session, actor, project_id, body.classes[0], body.classes[1], body.note)
    if row is None:
        return Response(status_code=204)
    return GuidelineOut(classes=[row.class_a, row.class_b], note=row.note)
