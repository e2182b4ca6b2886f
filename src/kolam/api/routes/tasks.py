"""The annotator's loop: lease tasks, renew, skip, release."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from kolam.api.deps import CurrentActor, SettingsDep, WriteSession
from kolam.api.schemas.common import ERRORS, FastJson
from kolam.api.schemas.tasks import LeasedTaskOut, LeaseOut, RenewIn, RenewOut, RenewResultOut, SkipIn
from kolam.services import assignment
from kolam.services.assignment import LeasedTask

router = APIRouter(tags=["tasks"], responses=ERRORS)
_leased = FastJson[list[LeasedTask]](list[LeasedTask])


@router.post("/projects/{project_id}/next", response_model=list[LeasedTaskOut])
def next_tasks(
    project_id: int,
    session: WriteSession,
    actor: CurrentActor,
    settings: SettingsDep,
    count: Annotated[int, Query(ge=1, description="How many tasks to lease at once (browser prefetch).")] = 1,
    resume: Annotated[
        bool, Query(description="First the tasks you already hold, then new ones up to `count` (a fresh start).")
    ] = False,
) -> Response:
    """Lease up to `count` tasks; an empty list means there is no work for you now."""
    lease = assignment.resume_and_lease if resume else assignment.lease_tasks
    leased = lease(
        session, actor, project_id, count=count, max_batch=settings.max_batch,
        default_lease_seconds=settings.lease_seconds,
    )  # fmt: skip
    return _leased.response(leased)


@router.get("/projects/{project_id}/leases", response_model=list[LeasedTaskOut])
def my_leases(project_id: int, session: WriteSession, actor: CurrentActor) -> Response:
    """The tasks you hold now, so a reloaded page resumes them."""
    return _leased.response(assignment.my_active_leases(session, actor, project_id))


@router.post("/tasks/{task_id}/renew", response_model=LeaseOut)
def renew(task_id: int, session: WriteSession, actor: CurrentActor, settings: SettingsDep) -> LeaseOut:
    lease = assignment.renew_lease(session, actor, task_id, default_lease_seconds=settings.lease_seconds)
    return LeaseOut.model_validate(lease)


@router.post("/leases/renew", response_model=RenewOut)
def renew_many(body: RenewIn, session: WriteSession, actor: CurrentActor, settings: SettingsDep) -> RenewOut:
    """Extend several of your leases at once; each succeeds or fails on its own (an ended one says why)."""
    renewals = assignment.renew_leases(session, actor, body.task_ids, default_lease_seconds=settings.lease_seconds)
    return RenewOut(
        results=[
            RenewResultOut(
                task_id=r.task_id,
                ok=r.error is None,
                expires_at=r.lease.expires_at if r.lease else None,
                error=r.error.as_dict() if r.error else None,
            )
            for r in renewals
        ]
    )


@router.post("/tasks/{task_id}/skip", response_model=LeaseOut)
def skip(task_id: int, body: SkipIn, session: WriteSession, actor: CurrentActor) -> LeaseOut:
    """Never offer this task to me again; its slot goes to someone else."""
    return LeaseOut.model_validate(assignment.end_lease(session, actor, task_id, skip=True, reason=body.reason))


@router.post("/tasks/{task_id}/release", response_model=LeaseOut)
def release(task_id: int, session: WriteSession, actor: CurrentActor) -> LeaseOut:
    """Give the task back (it may come to me again later)."""
    return LeaseOut.model_validate(assignment.end_lease(session, actor, task_id, skip=False))
