"""API tokens for scripts: created (secret shown once), listed, revoked."""

from __future__ import annotations

from fastapi import APIRouter

from kolam.api.deps import CurrentActor, ReadSession, WriteSession
from kolam.api.schemas.accounts import NewTokenOut, TokenIn, TokenOut
from kolam.api.schemas.common import ERRORS
from kolam.services import auth

router = APIRouter(tags=["tokens"], responses=ERRORS)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(session: ReadSession, actor: CurrentActor) -> list[TokenOut]:
    return [TokenOut.model_validate(t) for t in auth.list_tokens(session, actor, actor.org_id)]


@router.post("/tokens", response_model=NewTokenOut, status_code=201)
def create_token(body: TokenIn, session: WriteSession, actor: CurrentActor) -> NewTokenOut:
    secret, row = auth.create_token(
        session, actor, actor.org_id, user_id=body.user_id or actor.user_id, name=body.name, days=body.days
    )
    return NewTokenOut(token=secret, **TokenOut.model_validate(row).model_dump())


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: int, session: WriteSession, actor: CurrentActor) -> TokenOut:
    return TokenOut.model_validate(auth.revoke_token(session, actor, actor.org_id, token_id))
