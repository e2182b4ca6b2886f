"""Organizations, users, their memberships and roles."""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.errors import Conflict, Forbidden, Invalid, NotFound
from kolam.security import MIN_PASSWORD, hash_password
from kolam.services import audit
from kolam.services.auth import forget_cached_credentials
from kolam.services.context import ROLES, Actor
from kolam.store.tables import Member, Organization, User
from kolam.store.types import utcnow

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
SKILL = re.compile(r"^[a-z0-9][a-z0-9:_-]{0,40}$")


def create_organization(session: Session, actor: Actor | None, *, slug: str, name: str) -> Organization:
    """A new tenant. Only a platform admin (or the local CLI, actor None) may create one."""
    if actor is not None and not actor.is_admin:
        raise Forbidden("only a platform administrator can create organizations")
    if not SLUG.match(slug):
        raise Invalid("slug must be lower-case letters, digits and dashes (at most 63)", field="slug")
    if session.scalar(sa.select(Organization.id).where(Organization.slug == slug)) is not None:
        raise Conflict(f"an organization with slug '{slug}' exists", field="slug")
    org = Organization(slug=slug, name=name or slug, created_at=utcnow())
    session.add(org)
    session.flush()
    audit.record(session, actor, "organization.create", "organization", org.id, {"slug": slug}, org_id=org.id)
    session.commit()
    return org


def get_organization(session: Session, slug: str) -> Organization:
    org = session.scalar(sa.select(Organization).where(Organization.slug == slug))
    if org is None:
        raise NotFound(f"no organization '{slug}'", field="org")
    return org


def list_organizations(session: Session) -> Sequence[Organization]:
    return session.scalars(sa.select(Organization).order_by(Organization.slug)).all()


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user {email}; add them with `kolam users add`", field="email")
    return user


def list_organizations_of(session: Session, user_id: int) -> Sequence[tuple[Organization, str]]:
    rows = session.execute(
        sa.select(Organization, Member.role)
        .join(Member, Member.org_id == Organization.id)
        .where(Member.user_id == user_id)
        .order_by(Organization.slug)
    )
    return [(org, role) for org, role in rows]


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise Invalid(f"unknown role '{role}'; roles are {', '.join(ROLES)}", field="role")


def _check_skills(skills: Sequence[str]) -> list[str]:
    for skill in skills:
        if not SKILL.match(skill):
            raise Invalid(f"skill '{skill}' must be short lower-case words such as 'ta' or 'lang:hi'", field="skills")
    return sorted(set(skills))


def add_member(
    session: Session,
    actor: Actor | None,
    org_id: int,
    *,
    email: str,
    role: str,
    name: str = "",
    password: str | None = None,
    skills: Sequence[str] = (),
    is_admin: bool = False,
) -> Member:
    """Add a person to an organization, creating their user account if it is new.

    Only an owner may make another owner; a manager may add anyone else.
    """
    if actor is not None:
        actor.require("members.manage")
        if role == "owner" and actor.role != "owner":
            raise Forbidden("only an owner can add an owner")
    _check_role(role)
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise Invalid(f"'{email}' is not an e-mail address", field="email")
    if password is not None and len(password) < MIN_PASSWORD:
        raise Invalid(f"password must have at least {MIN_PASSWORD} characters", field="password")
    user = session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        user = User(
            email=email,
            name=name,
            password_hash=hash_password(password) if password else None,
            is_active=True,
            is_admin=is_admin and actor is None,
            created_at=utcnow(),
        )
        session.add(user)
        session.flush()
    elif password is not None and actor is None:
        user.password_hash = hash_password(password)
    existing = session.scalar(sa.select(Member).where(Member.org_id == org_id, Member.user_id == user.id))
    if existing is not None:
        raise Conflict(f"{email} is already a member of this organization", field="email")
    member = Member(org_id=org_id, user_id=user.id, role=role, skills=_check_skills(skills), created_at=utcnow())
    session.add(member)
    session.flush()
    audit.record(session, actor, "member.add", "member", member.id, {"email": email, "role": role}, org_id=org_id)
    session.commit()
    return member


def list_members(session: Session, actor: Actor | None, org_id: int) -> Sequence[tuple[Member, User]]:
    """The organization's people with their e-mails: for those who manage members, never the client's viewer."""
    if actor is not None:
        actor.require("members.manage")
    rows = session.execute(
        sa.select(Member, User)
        .join(User, User.id == Member.user_id)
        .where(Member.org_id == org_id)
        .order_by(User.email)
    )
    return [(m, u) for m, u in rows]


def get_member(session: Session, org_id: int, member_id: int) -> tuple[Member, User]:
    row = session.execute(
        sa.select(Member, User)
        .join(User, User.id == Member.user_id)
        .where(Member.org_id == org_id, Member.id == member_id)
    ).first()
    if row is None:
        raise NotFound(f"no member {member_id}", field="member_id")
    return row[0], row[1]


def update_member(
    session: Session,
    actor: Actor | None,
    org_id: int,
    member_id: int,
    *,
    role: str | None = None,
    skills: Sequence[str] | None = None,
) -> tuple[Member, User]:
    if actor is not None:
        actor.require("members.manage")
    member, user = get_member(session, org_id, member_id)
    if role is not None:
        _check_role(role)
        if actor is not None and "owner" in (role, member.role) and actor.role != "owner":
            raise Forbidden("only an owner can grant or take away the owner role")
        if member.role == "owner" and role != "owner":
            owners = session.scalar(
                sa.select(sa.func.count()).select_from(Member).where(Member.org_id == org_id, Member.role == "owner")
            )
            if owners == 1:
                raise Conflict("an organization must keep at least one owner", field="role")
        member.role = role
    if skills is not None:
        member.skills = _check_skills(skills)
    details = {"role": member.role, "skills": member.skills}
    audit.record(session, actor, "member.update", "member", member.id, details, org_id=org_id)
    session.commit()
    forget_cached_credentials()
    return member, user


def remove_member(session: Session, actor: Actor | None, org_id: int, member_id: int) -> None:
    member, _user = get_member(session, org_id, member_id)
    if actor is not None:
        actor.require("members.manage")
        if member.role == "owner" and actor.role != "owner":
            raise Forbidden("only an owner can remove an owner")
    if member.role == "owner":
        owners = session.scalar(
            sa.select(sa.func.count()).select_from(Member).where(Member.org_id == org_id, Member.role == "owner")
        )
        if owners == 1:
            raise Conflict("an organization must keep at least one owner", field="member_id")
    session.delete(member)
    audit.record(session, actor, "member.remove", "member", member_id, org_id=org_id)
    session.commit()
    forget_cached_credentials()


def set_password(session: Session, user_id: int, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"password must have at least {MIN_PASSWORD} characters", field="password")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    user.password_hash = hash_password(password)
    audit.record(session, None, "user.password", "user", user_id, org_id=None)
    session.commit()
