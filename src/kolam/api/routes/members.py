"""Members of the current organization and their roles and skills."""

from __future__ import annotations

from fastapi import APIRouter, Response

from kolam.api.deps import CurrentActor, ReadSession, WriteSession
from kolam.api.schemas.accounts import MemberIn, MemberOut, MemberPatch
from kolam.api.schemas.common import ERRORS
from kolam.services import accounts
from kolam.store.tables import Member, User

router = APIRouter(tags=["members"], responses=ERRORS)


def _out(member: Member, user: User) -> MemberOut:
    return MemberOut(
        id=member.id,
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=member.role,
        skills=list(member.skills or []),
        created_at=member.created_at,
    )


@router.get("/members", response_model=list[MemberOut])
def list_members(session: ReadSession, actor: CurrentActor) -> list[MemberOut]:
    return [_out(m, u) for m, u in accounts.list_members(session, actor, actor.org_id)]


@router.post("/members", response_model=MemberOut, status_code=201)
def add_member(body: MemberIn, session: WriteSession, actor: CurrentActor) -> MemberOut:
    member = accounts.add_member(
        session,
        actor,
        actor.org_id,
        email=body.email,
        role=body.role,
        name=body.name,
        password=body.password,
        skills=body.skills,
    )
    return _out(*accounts.get_member(session, actor.org_id, member.id))


@router.patch("/members/{member_id}", response_model=MemberOut)
def update_member(member_id: int, body: MemberPatch, session: WriteSession, actor: CurrentActor) -> MemberOut:
    return _out(*accounts.update_member(session, actor, actor.org_id, member_id, role=body.role, skills=body.skills))


@router.delete("/members/{member_id}", status_code=204)
def remove_member(member_id: int, session: WriteSession, actor: CurrentActor) -> Response:
    accounts.remove_member(session, actor, actor.org_id, member_id)
    return Response(status_code=204)
