"""Logging in and out in the browser, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from kolam.api.deps import SESSION_COOKIE, CurrentActor, ReadSession, SettingsDep, WriteSession
from kolam.api.schemas.accounts import LoginIn, MembershipOut, MeOut, OrganizationOut
from kolam.api.schemas.common import ERRORS
from kolam.services import accounts, auth
from kolam.services.context import PERMISSIONS
from kolam.store.tables import Organization, User

router = APIRouter(tags=["auth"], responses=ERRORS)


def _me(session: ReadSession, actor: CurrentActor) -> MeOut:
    user = session.get(User, actor.user_id)
    org = session.get(Organization, actor.org_id)
    assert user is not None and org is not None
    return MeOut(
        user_id=user.id,
        email=user.email,
        name=user.name,
        organization=OrganizationOut.model_validate(org),
        role=actor.role,
        skills=list(actor.skills),
        permissions=sorted(PERMISSIONS.get(actor.role, ())),
        organizations=[
            MembershipOut(organization=OrganizationOut.model_validate(o), role=r)
            for o, r in accounts.list_organizations_of(session, user.id)
        ],
    )


@router.post("/auth/login", response_model=MeOut)
def login(body: LoginIn, request: Request, response: Response, session: WriteSession, settings: SettingsDep) -> MeOut:
    """Check e-mail and password; sets an HttpOnly session cookie."""
    ip = request.client.host if request.client else None
    secret, actor, _org = auth.login(
        session,
        email=body.email,
        password=body.password,
        org_slug=body.organization,
        hours=settings.session_hours,
        ip=ip,
    )
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return _me(session, actor)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, response: Response, session: WriteSession) -> Response:
    if cookie := request.cookies.get(SESSION_COOKIE):
        auth.logout(session, cookie)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.status_code = 204
    return response


@router.get("/me", response_model=MeOut)
def me(session: ReadSession, actor: CurrentActor) -> MeOut:
    return _me(session, actor)
