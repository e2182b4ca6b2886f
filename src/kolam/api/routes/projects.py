"""Projects of the current organization."""

from __future__ import annotations

from fastapi import APIRouter, Response

from kolam.api.deps import CurrentActor, ReadSession, WriteSession
from kolam.api.schemas.common import ERRORS
from kolam.api.schemas.projects import (
    ProjectDetailOut,
    ProjectIn,
    ProjectOut,
    ProjectPatch,
    ProjectStatsOut,
    SchemaVersionOut,
)
from kolam.services import projects
from kolam.services.projects import ProjectSettings
from kolam.store.tables import Project

router = APIRouter(tags=["projects"], responses=ERRORS)


def _detail(session: ReadSession, project: Project) -> ProjectDetailOut:
    schema = projects.current_schema(session, project).model_dump(mode="json")
    return ProjectDetailOut(**ProjectOut.model_validate(project).model_dump(), label_schema=schema)


@router.get("/projects", response_model=list[ProjectOut])
def list_projects(session: ReadSession, actor: CurrentActor) -> list[ProjectOut]:
    return [ProjectOut.model_validate(p) for p in projects.list_projects(session, actor, actor.org_id)]


@router.post("/projects", response_model=ProjectDetailOut, status_code=201, response_model_by_alias=True)
def create_project(body: ProjectIn, session: WriteSession, actor: CurrentActor) -> ProjectDetailOut:
    settings = ProjectSettings(
        name=body.name,
        instructions=body.instructions,
        overlap=body.overlap,
        gold_ratio=body.gold_ratio,
        required_skills=body.required_skills,
        priority=body.priority,
        lease_seconds=body.lease_seconds,
        quality=body.quality,
        learning=body.learning,
    )
    project = projects.create_project(
        session, actor, actor.org_id, kind=body.kind, schema=body.label_schema, settings=settings
    )
    return _detail(session, project)


@router.get("/projects/{project_id}", response_model=ProjectDetailOut, response_model_by_alias=True)
def get_project(project_id: int, session: ReadSession, actor: CurrentActor) -> ProjectDetailOut:
    return _detail(session, projects.get_project(session, actor, project_id))


@router.patch("/projects/{project_id}", response_model=ProjectDetailOut, response_model_by_alias=True)
def update_project(project_id: int, body: ProjectPatch, session: WriteSession, actor: CurrentActor) -> ProjectDetailOut:
    settings = ProjectSettings(
        name=body.name,
        instructions=body.instructions,
        overlap=body.overlap,
        gold_ratio=body.gold_ratio,
        required_skills=body.required_skills,
        priority=body.priority,
        lease_seconds=body.lease_seconds,
        quality=body.quality,
        learning=body.learning,
    )
    project = projects.update_project(session, actor, project_id, settings=settings, schema=body.label_schema)
    return _detail(session, project)


@router.delete("/projects/{project_id}", status_code=204)
def archive_project(project_id: int, session: WriteSession, actor: CurrentActor) -> Response:
    projects.archive_project(session, actor, project_id)
    return Response(status_code=204)


@router.get("/projects/{project_id}/schema/{version}", response_model=SchemaVersionOut)
def schema_version(project_id: int, version: int, session: ReadSession, actor: CurrentActor) -> SchemaVersionOut:
    project = projects.get_project(session, actor, project_id)
    return SchemaVersionOut(
        version=version, definition=projects.schema_version(session, project, version).model_dump(mode="json")
    )


@router.get("/projects/{project_id}/stats", response_model=ProjectStatsOut)
def stats(project_id: int, session: ReadSession, actor: CurrentActor) -> ProjectStatsOut:
    actor.require("stats.read")
    project = projects.get_project(session, actor, project_id)
    return ProjectStatsOut(**projects.project_counts(session, project.id))
