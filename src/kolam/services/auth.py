"""Credentials → an Actor: password logins with server-side sessions, and bearer API tokens.

Both kinds of secret are random and stored only as SHA-256 hashes. Resolving a token is on every request's
path, so it is cached briefly in-process; revoking clears this process's cache at once and others within
``CACHE_SECONDS``.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.errors import Invalid, NotFound, Unauthenticated
from kolam.security import new_token, token_hash, verify_password
from kolam.services import audit
from kolam.services.context import Actor
from kolam.store.tables import ApiToken, LoginSession, Member, Organization, User
from kolam.store.types import utcnow

CACHE_SECONDS = 30.0
_cache: dict[str, tuple[float, Actor]] = {}
_cache_lock = threading.Lock()


def _actor_for(session: Session, user_id: int, org_id: int) -> Actor | None:
    row = session.execute(
        sa.select(Member.role, Member.skills, User.is_admin)
        .join(User, User.id == Member.user_id)
        .where(Member.user_id == user_id, Member.org_id == org_id, User.is_active.is_(True))
    ).first()
    if row is None:
        return None
    return Actor(user_id=user_id, org_id=org_id, role=row.role, skills=tuple(row.skills or ()), is_admin=row.is_admin)


def _cached(key: str) -> Actor | None:
    with _cache_lock:
        hit = _cache.get(key)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    return None


def _remember(key: str, actor: Actor) -> None:
    with _cache_lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[key] = (time.monotonic() + CACHE_SECONDS, actor)


def forget_cached_credentials() -> None:
    with _cache_lock:
        _cache.clear()


def known_actor(secret: str, *, cookie: bool) -> Actor | None:
    """The actor of a token (or session cookie) resolved in the last ``CACHE_SECONDS``, without the database."""
    return _cached(("s:" if cookie else "t:") + token_hash(secret))


def resolve_token(session: Session, token: str) -> Actor:
    digest = token_hash(token)
    hit = _cached("t:" + digest)
    if hit is not None:
        return hit
    row = session.execute(
        sa.select(ApiToken.user_id, ApiToken.org_id, ApiToken.expires_at).where(
            ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None)
        )
    ).first()
    if row is None or (row.expires_at is not None and row.expires_at < utcnow()):
        raise Unauthenticated("the API token is unknown, revoked or expired")
    actor = _actor_for(session, row.user_id, row.org_id)
    if actor is None:
        raise Unauthenticated("the API token's user is no longer a member of its organization")
    _remember("t:" + digest, actor)
    return actor


def resolve_session(session: Session, cookie: str) -> Actor:
    digest = token_hash(cookie)
    hit = _cached("s:" + digest)
    if hit is not None:
        return hit
    row = session.execute(
        sa.select(LoginSession.user_id, LoginSession.org_id, LoginSession.expires_at).where(
            LoginSession.token_hash == digest, LoginSession.revoked_at.is_(None)
        )
    ).first()
    if row is None or row.expires_at < utcnow():
        raise Unauthenticated("your session has ended; log in again")
    actor = _actor_for(session, row.user_id, row.org_id)
    if actor is None:
        raise Unauthenticated("you are no longer a member of this organization")
    _remember("s:" + digest, actor)
    return actor


def login(
    session: Session, *, email: str, password: str, org_slug: str | None, hours: int, ip: str | None
) -> tuple[str, Actor, Organization]:
    """Check a password and open a browser session in one of the user's organizations."""
    user = session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        raise Unauthenticated("wrong e-mail or password")
    query = sa.select(Organization).join(Member, Member.org_id == Organization.id).where(Member.user_id == user.id)
    if org_slug:
        query = query.where(Organization.slug == org_slug)
    org = session.scalars(query.order_by(Organization.slug)).first()
    if org is None:
        raise Unauthenticated("you are not a member of that organization" if org_slug else "you have no organization")
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        LoginSession(
            token_hash=token_hash(secret),
            user_id=user.id,
            org_id=org.id,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
            ip=ip,
        )
    )
    actor = _actor_for(session, user.id, org.id)
    assert actor is not None
    audit.record(session, actor, "session.login", "user", user.id, {"ip": ip}, org_id=org.id)
    session.commit()
    return secret, actor, org


def logout(session: Session, cookie: str) -> None:
    digest = token_hash(cookie)
    session.execute(sa.update(LoginSession).where(LoginSession.token_hash == digest).values(revoked_at=utcnow()))
    session.commit()
    with _cache_lock:
        _cache.pop("s:" + digest, None)


def create_token(
    session: Session, actor: Actor | None, org_id: int, *, user_id: int, name: str, days: int | None = None
) -> tuple[str, ApiToken]:
    """A new API token for ``user_id`` in ``org_id``; the secret is returned once and never again."""
    if actor is not None and actor.user_id != user_id:
        actor.require("members.manage")
    if _actor_for(session, user_id, org_id) is None:
        raise NotFound(f"user {user_id} is not a member of this organization", field="user_id")
    if not name.strip():
        raise Invalid("a token needs a name saying what it is for", field="name")
    secret = new_token()
    now = utcnow()
    row = ApiToken(
        org_id=org_id,
        user_id=user_id,
        name=name.strip(),
        token_hash=token_hash(secret),
        prefix=secret[:12],
        created_at=now,
        expires_at=now + timedelta(days=days) if days else None,
    )
    session.add(row)
    session.flush()
    audit.record(session, actor, "token.create", "api_token", row.id, {"user_id": user_id, "name": name}, org_id=org_id)
    session.commit()
    return secret, row


def list_tokens(session: Session, actor: Actor | None, org_id: int, user_id: int | None = None) -> Sequence[ApiToken]:
    query = sa.select(ApiToken).where(ApiToken.org_id == org_id)
    if actor is not None and not actor.can("members.manage"):
        user_id = actor.user_id
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return session.scalars(query.order_by(ApiToken.id)).all()


def revoke_token(session: Session, actor: Actor | None, org_id: int, token_id: int) -> ApiToken:
    row = session.scalar(sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.org_id == org_id))
    if row is None or (actor is not None and row.user_id != actor.user_id and not actor.can("members.manage")):
        raise NotFound(f"no token {token_id}", field="token_id")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor, "token.revoke", "api_token", row.id, org_id=org_id)
        session.commit()
    forget_cached_credentials()
    return row
