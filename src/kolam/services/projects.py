"""Projects: kind, label schema (versioned), instructions, overlap, skills, priority."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.errors import Conflict, Invalid, NotFound
from kolam.labels import LabelSchemaDef, evolve_schema, parse_schema
from kolam.services import audit
from kolam.services.context import Actor
from kolam.services.learning_settings import merge_learning, parse_learning, stored_learning
from kolam.services.quality_settings import QualitySettings, parse_quality, stored_quality
from kolam.store.tables import LabelSchema, Project, Task
from kolam.store.types import utcnow

MAX_OVERLAP = 50


@dataclass(frozen=True)
class ProjectSettings:
    """The editable part of a project; None means 'leave as it is' on update."""

    name: str | None = None
    instructions: str | None = None
    overlap: int | None = None
    gold_ratio: float | None = None
    required_skills: Sequence[str] | None = None
    priority: int | None = None
    lease_seconds: int | None = None
    quality: dict[str, Any] | None = None
    learning: dict[str, Any] | None = None


def _validate(settings: ProjectSettings) -> None:
    if settings.name is not None and not (1 <= len(settings.name.strip()) <= 200):
        raise Invalid("name must have 1 to 200 characters", field="name")
    if settings.overlap is not None and not (1 <= settings.overlap <= MAX_OVERLAP):
        raise Invalid(f"overlap must be between 1 and {MAX_OVERLAP}", field="overlap")
    if settings.gold_ratio is not None and not (0.0 <= settings.gold_ratio <= 0.5):
        raise Invalid("gold_ratio must be between 0 and 0.5", field="gold_ratio")
    if settings.lease_seconds is not None and not (10 <= settings.lease_seconds <= 86_400):
        raise Invalid("lease_seconds must be between 10 and 86400", field="lease_seconds")


def get_project(session: Session, actor: Actor | None, project_id: int, *, org_id: int | None = None) -> Project:
    """A project of the actor's organization; any other project is simply not found."""
    scope = actor.org_id if actor is not None else org_id
    query = sa.select(Project).where(Project.id == project_id, Project.archived_at.is_(None))
    if scope is not None:
        query = query.where(Project.org_id == scope)
    project = session.scalar(query)
    if project is None:
        raise NotFound(f"no project {project_id}", field="project_id")
    return project


@dataclass(frozen=True)
class WorkProject:
    """What the annotators' hot paths (lease, submit) need of a project, read without building an ORM object."""

    id: int
    org_id: int
    kind: str
    schema_version: int
    gold_ratio: float
    lease_seconds: int | None
    required_skills: tuple[str, ...]
    overlap: int
    quality: QualitySettings
    model_prior: bool = False


_projects = cast(sa.Table, Project.__table__)
# Built once: the hot paths run it on every lease and submit, and building a statement costs more than running it.
_WORK_PROJECT = sa.select(
    _projects.c.id,
    _projects.c.org_id,
    _projects.c.kind,
    _projects.c.schema_version,
    _projects.c.gold_ratio,
    _projects.c.lease_seconds,
    _projects.c.required_skills,
    _projects.c.overlap,
    _projects.c.quality,
    _projects.c.learning,
).where(
    _projects.c.id == sa.bindparam("project_id"),
    _projects.c.org_id == sa.bindparam("org_id"),
    _projects.c.archived_at.is_(None),
)


def work_project(session: Session, actor: Actor, project_id: int) -> WorkProject:
    """The actor's organization's project, as :class:`WorkProject`; any other project is not found."""
    row = session.connection().execute(_WORK_PROJECT, {"project_id": project_id, "org_id": actor.org_id}).first()
    if row is None:
        raise NotFound(f"no project {project_id}", field="project_id")
    return WorkProject(
        id=row.id,
        org_id=row.org_id,
        kind=row.kind,
        schema_version=row.schema_version,
        gold_ratio=row.gold_ratio,
        lease_seconds=row.lease_seconds,
        required_skills=tuple(row.required_skills or ()),
        overlap=row.overlap,
        quality=stored_quality(row.quality),
        model_prior=stored_learning(row.learning).model_prior,
    )


def list_projects(session: Session, actor: Actor | None, org_id: int) -> Sequence[Project]:
    query = sa.select(Project).where(Project.org_id == org_id, Project.archived_at.is_(None))
    return session.scalars(query.order_by(Project.priority.desc(), Project.id)).all()


def current_schema(session: Session, project: Project) -> LabelSchemaDef:
    return schema_version(session, project, project.schema_version)


_label_schemas = cast(sa.Table, LabelSchema.__table__)
_SCHEMA_DEFINITION = sa.select(_label_schemas.c.definition).where(
    _label_schemas.c.project_id == sa.bindparam("project_id"), _label_schemas.c.version == sa.bindparam("version")
)


def schema_version(session: Session, project: Project | WorkProject, version: int) -> LabelSchemaDef:
    row = session.connection().execute(_SCHEMA_DEFINITION, {"project_id": project.id, "version": version}).scalar()
    if row is None:
        raise Invalid(f"project {project.id} has no schema version {version}", field="schema_version")
    return _parsed(project.kind, orjson.dumps(row, option=orjson.OPT_SORT_KEYS))


@lru_cache(maxsize=256)
def _parsed(kind: str, definition: bytes) -> LabelSchemaDef:
    """Schema versions never change once written, so each is parsed once per process (submit's hot path)."""
    return parse_schema(kind, orjson.loads(definition))


def create_project(
    session: Session,
    actor: Actor | None,
    org_id: int,
    *,
    kind: str,
    schema: dict[str, Any],
    settings: ProjectSettings,
) -> Project:
    if actor is not None:
        actor.require("projects.manage")
    if settings.name is None:
        raise Invalid("a project needs a name", field="name")
    _validate(settings)
    quality = parse_quality(settings.quality, settings.overlap or 1)
    learning = parse_learning(settings.learning)
    parsed = parse_schema(kind, schema)
    if session.scalar(sa.select(Project.id).where(Project.org_id == org_id, Project.name == settings.name.strip())):
        raise Conflict(f"a project named '{settings.name}' exists", field="name")
    now = utcnow()
    project = Project(
        org_id=org_id,
        name=settings.name.strip(),
        kind=kind,
        instructions=settings.instructions or "",
        overlap=settings.overlap or 1,
        gold_ratio=settings.gold_ratio or 0.0,
        required_skills=sorted(set(settings.required_skills or ())),
        priority=settings.priority or 0,
        lease_seconds=settings.lease_seconds,
        schema_version=1,
        quality=quality.model_dump(mode="json"),
        learning=learning.model_dump(mode="json"),
        created_at=now,
        updated_at=now,
    )
    session.add(project)
    session.flush()
    session.add(
        LabelSchema(
            project_id=project.id,
            version=1,
            definition=parsed.model_dump(mode="json"),
            created_at=now,
            created_by=actor.user_id if actor else None,
        )
    )
    audit.record(
        session, actor, "project.create", "project", project.id, {"kind": kind, "name": project.name}, org_id=org_id
    )
    session.commit()
    return project


def update_project(
    session: Session,
    actor: Actor | None,
    project_id: int,
    *,
    settings: ProjectSettings,
    schema: dict[str, Any] | None = None,
    org_id: int | None = None,
) -> Project:
    """Change a project; a new schema becomes a new version and never rewrites answers made before."""
    if actor is not None:
        actor.require("projects.manage")
    project = get_project(session, actor, project_id, org_id=org_id)
    _validate(settings)
    changes: dict[str, Any] = {}
    for field in ("instructions", "gold_ratio", "priority", "lease_seconds"):
        value = getattr(settings, field)
        if value is not None and value != getattr(project, field):
            changes[field] = value
            setattr(project, field, value)
    if settings.name is not None and settings.name.strip() != project.name:
        name = settings.name.strip()
        taken = session.scalar(
            sa.select(Project.id).where(
                Project.org_id == project.org_id, Project.name == name, Project.id != project.id
            )
        )
        if taken:
            raise Conflict(f"a project named '{name}' exists", field="name")
        project.name = changes["name"] = name
    if settings.required_skills is not None:
        project.required_skills = changes["required_skills"] = sorted(set(settings.required_skills))
    if settings.overlap is not None and settings.overlap != project.overlap:
        _change_overlap(session, project, settings.overlap)
        changes["overlap"] = settings.overlap
    if settings.quality is not None:
        merged = {**stored_quality(project.quality).model_dump(mode="json"), **settings.quality}
        quality = parse_quality(merged, project.overlap).model_dump(mode="json")
        if quality != stored_quality(project.quality).model_dump(mode="json"):
            project.quality = changes["quality"] = quality
    elif "overlap" in changes:
        parse_quality(project.quality, project.overlap)
    if settings.learning is not None:
        learning = merge_learning(project.learning, settings.learning)
        if learning != stored_learning(project.learning).model_dump(mode="json"):
            project.learning = learning
            changes["learning"] = stored_learning(learning).public()
    if schema is not None:
        old = current_schema(session, project)
        new = evolve_schema(old, parse_schema(project.kind, schema))
        if new != old:
            project.schema_version += 1
            session.add(
                LabelSchema(
                    project_id=project.id,
                    version=project.schema_version,
                    definition=new.model_dump(mode="json"),
                    created_at=utcnow(),
                    created_by=actor.user_id if actor else None,
                )
            )
            changes["schema_version"] = project.schema_version
    if changes:
        project.updated_at = utcnow()
        audit.record(session, actor, "project.update", "project", project.id, changes, org_id=project.org_id)
    session.commit()
    return project


def _change_overlap(session: Session, project: Project, overlap: int) -> None:
    """New overlap applies to every task: open slots move by the difference, finished tasks may reopen."""
    delta = overlap - project.overlap
    project.overlap = overlap
    session.execute(
        sa.update(Task)
        .where(Task.project_id == project.id, Task.state.in_(("open", "done")), Task.is_gold.is_(False))
        .values(
            answers_wanted=overlap,
            open_slots=sa.func.max(Task.open_slots + delta, 0)
            if session.bind and session.bind.dialect.name == "sqlite"
            else sa.func.greatest(Task.open_slots + delta, 0),
            state=sa.case((Task.answers_count >= overlap, "done"), else_="open"),
            updated_at=utcnow(),
        )
    )


def archive_project(session: Session, actor: Actor | None, project_id: int) -> None:
    if actor is not None:
        actor.require("projects.manage")
    project = get_project(session, actor, project_id)
    project.archived_at = utcnow()
    audit.record(session, actor, "project.archive", "project", project.id, org_id=project.org_id)
    session.commit()


def project_counts(session: Session, project_id: int) -> dict[str, int]:
    """Tasks per state and answers counted: the numbers a progress page starts from."""
    rows = session.execute(
        sa.select(Task.state, sa.func.count(), sa.func.sum(Task.answers_count))
        .where(Task.project_id == project_id)
        .group_by(Task.state)
    ).all()
    counts = {"open": 0, "done": 0, "staged": 0}
    answers = 0
    for state, n, a in rows:
        counts[state] = int(n)
        answers += int(a or 0)
    counts["answers"] = answers
    counts["tasks"] = counts["open"] + counts["done"]
    return counts
