"""Organizations, members, tokens and logins."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from kolam.api.schemas.common import Out


class LoginIn(BaseModel):
    email: str
    password: str
    organization: str | None = Field(default=None, description="Slug; default: your first organization.")


class OrganizationIn(BaseModel):
    slug: str
    name: str = ""


class OrganizationOut(Out):
    id: int
    slug: str
    name: str
    created_at: datetime


class MembershipOut(BaseModel):
    organization: OrganizationOut
    role: str


class MeOut(BaseModel):
    user_id: int
    email: str
    name: str
    organization: OrganizationOut
    role: str
    skills: list[str]
    permissions: list[str]
    organizations: list[MembershipOut]


class MemberIn(BaseModel):
    email: str
    role: str
    name: str = ""
    password: str | None = Field(default=None, description="Sets the password of a new user (≥ 8 characters).")
    skills: list[str] = Field(default_factory=list, description="Such as language codes: ['ta', 'hi'].")


class MemberPatch(BaseModel):
    role: str | None = None
    skills: list[str] | None = None


class MemberOut(BaseModel):
    id: int
    user_id: int
    email: str
    name: str
    role: str
    skills: list[str]
    created_at: datetime


class TokenIn(BaseModel):
    name: str
    user_id: int | None = Field(default=None, description="Whose token; default: yours. Managers only for others.")
    days: int | None = Field(default=None, ge=1, le=3650, description="Expiry; default: never.")


class TokenOut(Out):
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="The secret; shown only now.")


class AuditEventOut(Out):
    id: int
    user_id: int | None
    action: str
    object_type: str
    object_id: str | None
    via: str
    ip: str | None
    at: datetime
    details: dict[str, object]
