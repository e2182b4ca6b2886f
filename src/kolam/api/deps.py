"""Typed dependencies: the database sessions and the member making the request."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from kolam.errors import Forbidden, Unauthenticated
from kolam.services.auth import resolve_session, resolve_token
from kolam.services.context import Actor
from kolam.settings import Settings
from kolam.store.blobs import BlobStore
from kolam.store.db import Database

SESSION_COOKIE = "kolam_session"
CSRF_HEADER = "x-kolam-client"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_blobs(request: Request) -> BlobStore:
    blobs: BlobStore = request.app.state.blobs
    return blobs


DatabaseDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
BlobsDep = Annotated[BlobStore, Depends(get_blobs)]


def read_session(db: DatabaseDep) -> Iterator[Session]:
    with db.read() as session:
        yield session


def write_session(db: DatabaseDep) -> Iterator[Session]:
    with db.write() as session:
        yield session


ReadSession = Annotated[Session, Depends(read_session)]
WriteSession = Annotated[Session, Depends(write_session)]


def current_actor(request: Request, db: DatabaseDep) -> Actor:
    """Bearer token (scripts) or session cookie (browser); cookie writes need the client header (CSRF)."""
    header = request.headers.get("authorization", "")
    with db.read() as session:
        if header.lower().startswith("bearer "):
            actor = resolve_token(session, header[7:].strip())
        elif cookie := request.cookies.get(SESSION_COOKIE):
            if request.method not in SAFE_METHODS and CSRF_HEADER not in request.headers:
                raise Forbidden(f"browser requests that change data must send the {CSRF_HEADER} header", code="csrf")
            actor = resolve_session(session, cookie)
        else:
            raise Unauthenticated("log in, or send 'Authorization: Bearer <token>'")
    client = request.client.host if request.client else None
    return dataclasses.replace(actor, ip=client, user_agent=request.headers.get("user-agent"))


CurrentActor = Annotated[Actor, Depends(current_actor)]
