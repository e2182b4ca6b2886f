"""Quality control: gold answers, consensus, the review queue, annotators' standing and the quality report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from kolam.api.deps import CurrentActor, DatabaseDep, JobsDep, ReadSession, WriteSession
from kolam.api.schemas.common import ERRORS
from kolam.api.schemas.quality import (
    ConsensusOut,
    CountOut,
    GoldOut,
    GoldRemoveIn,
    GoldSetIn,
    QueuedOut,
    ResolveOut,
    ReviewIn,
    ReviewOut,
    ReviewQueueOut,
    StandingOut,
)
from kolam.services import consensus, gold, quality_report, resolve, review, standing
from kolam.services.gold import GoldEntry
from kolam.services.projects import get_project, work_project

router = APIRouter(tags=["quality"], responses=ERRORS)


@router.put("/projects/{project_id}/gold", response_model=CountOut)
def set_gold(project_id: int, body: GoldSetIn, session: WriteSession, actor: CurrentActor) -> CountOut:
    """Mark items as gold with their known answers (all or nothing); they are mixed into annotators' tasks."""
    entries = [GoldEntry(value=g.value, item_id=g.item_id, external_id=g.external_id) for g in body.gold]
    return CountOut(count=gold.set_gold(session, actor, project_id, entries))


@router.post("/projects/{project_id}/gold/remove", response_model=CountOut)
def remove_gold(project_id: int, body: GoldRemoveIn, session: WriteSession, actor: CurrentActor) -> CountOut:
    """Make gold items ordinary tasks again."""
    return CountOut(count=gold.remove_gold(session, actor, project_id, body.item_ids))


@router.get("/projects/{project_id}/gold", response_model=list[GoldOut])
def list_gold(
    project_id: int,
    session: ReadSession,
    actor: CurrentActor,
    after: Annotated[int, Query(description="Item id to continue after.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[GoldOut]:
    return [GoldOut.model_validate(g) for g in gold.list_gold(session, actor, project_id, after=after, limit=limit)]


@router.post("/projects/{project_id}/consensus/refresh", response_model=ResolveOut)
def refresh_consensus(
    project_id: int,
    db: DatabaseDep,
    actor: CurrentActor,
    jobs: JobsDep,
    background: Annotated[bool, Query(description="Queue it as a job and answer 202 at once.")] = False,
) -> Any:
    """Recompute every item's consensus and every annotator's skill now (it also runs after answers arrive)."""
    actor.require("reviews.work")
    with db.read() as session:
        project = get_project(session, actor, project_id)
    if background:
        jobs.enqueue_resolve(project.id)
        return Response(status_code=202)
    return ResolveOut(**vars(resolve.resolve_project(db, project.id)))


@router.get("/projects/{project_id}/consensus", response_model=list[ConsensusOut])
def list_consensus(
    project_id: int,
    session: ReadSession,
    actor: CurrentActor,
    after: Annotated[int, Query(description="Item id to continue after.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ConsensusOut]:
    """Each item's current consensus, in item order."""
    rows = consensus.list_consensus(session, actor, project_id, after=after, limit=limit)
    return [ConsensusOut.model_validate(r) for r in rows]


@router.get("/projects/{project_id}/review", response_model=ReviewQueueOut)
def review_queue(
    project_id: int,
    session: ReadSession,
    actor: CurrentActor,
    reason: Annotated[str | None, Query(description="flagged, low_confidence, disagreement or sample")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ReviewQueueOut:
    """Items waiting for a reviewer, most urgent reason first, then least confident."""
    items = review.review_queue(session, actor, project_id, reason=reason, offset=offset, limit=limit)
    return ReviewQueueOut(
        counts=review.queue_counts(session, project_id),
        items=[QueuedOut(**ConsensusOut.model_validate(c).model_dump(), external_id=ext) for c, ext in items],
    )


@router.get("/projects/{project_id}/review/{task_id}")
def review_item(project_id: int, task_id: int, session: WriteSession, actor: CurrentActor) -> dict[str, Any]:
    """One item with every answer side by side, the consensus, gold and the model's predictions."""
    return review.review_item(session, actor, project_id, task_id)


@router.post("/projects/{project_id}/review/{task_id}", response_model=ReviewOut, status_code=201)
def submit_review(
    project_id: int, task_id: int, body: ReviewIn, session: WriteSession, actor: CurrentActor
) -> ReviewOut:
    """accept (the consensus stands), correct (your answer becomes it) or reject (ask for fresh answers)."""
    verdict = review.submit_review(
        session, actor, project_id, task_id, verdict=body.verdict, value=body.value, note=body.note
    )
    return ReviewOut.model_validate(verdict)


@router.get("/projects/{project_id}/quality")
def quality(project_id: int, session: ReadSession, actor: CurrentActor) -> dict[str, Any]:
    """The client's quality report: gold accuracy, agreement, consensus confidence, annotators, confusion, cost."""
    return quality_report.quality_report(session, actor, project_id)


@router.get("/projects/{project_id}/standing", response_model=StandingOut)
def my_standing(project_id: int, session: ReadSession, actor: CurrentActor) -> StandingOut:
    """Your qualification test and whether you are paused on this project."""
    return StandingOut(**standing.my_qualification(session, actor, work_project(session, actor, project_id)))


@router.post("/projects/{project_id}/annotators/{user_id}/resume", status_code=204)
def resume(project_id: int, user_id: int, session: WriteSession, actor: CurrentActor) -> Response:
    """Let a paused annotator work again (their accuracy floor starts counting afresh)."""
    standing.resume(session, actor, project_id, user_id)
    return Response(status_code=204)


@router.post("/projects/{project_id}/annotators/{user_id}/retake", status_code=204)
def retake(project_id: int, user_id: int, session: WriteSession, actor: CurrentActor) -> Response:
    """Let an annotator who failed the qualification test take it again."""
    standing.retake(session, actor, project_id, user_id)
    return Response(status_code=204)
