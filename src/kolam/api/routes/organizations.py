"""Organizations (tenants): platform administrators create them; members see theirs."""

from __future__ import annotations

from fastapi import APIRouter

from kolam.api.deps import CurrentActor, ReadSession, WriteSession
from kolam.api.schemas.accounts import MembershipOut, OrganizationIn, OrganizationOut
from kolam.api.schemas.common import ERRORS
from kolam.services import accounts

router = APIRouter(tags=["organizations"], responses=ERRORS)


@router.get("/organizations", response_model=list[MembershipOut])
def list_mine(session: ReadSession, actor: CurrentActor) -> list[MembershipOut]:
    return [
        MembershipOut(organization=OrganizationOut.model_validate(org), role=role)
        for org, role in accounts.list_organizations_of(session, actor.user_id)
    ]


@router.post("/organizations", response_model=OrganizationOut, status_code=201)
def create(body: OrganizationIn, session: WriteSession, actor: CurrentActor) -> OrganizationOut:
    org = accounts.create_organization(session, actor, slug=body.slug, name=body.name)
    return OrganizationOut.model_validate(org)
