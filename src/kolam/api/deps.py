"""Typed dependencies: the database sessions and the member making the request."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from kolam.errors import Forbidden, Unauthenticated
from kolam.jobs.queue import Jobs
from kolam.services.auth import known_actor, resolve_session, resolve_token
from kolam.services.context import Actor
from kolam.settings import Settings
from kolam.store.blobs import BlobStore
from kolam.store.db import Database

SESSION_COOKIE = "kolam_session"
CSRF_HEADER = "x-kolam-client"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# The dependencies below do no I/O, or only rarely, so they are coroutines: FastAPI runs a plain function
# dependency in its thread pool, and each such hop costs about as much as the work of a small request.


async def get_jobs(request: Request) -> Jobs:
    jobs: Jobs = request.app.state.jobs
    return jobs


JobsDep = Annotated[Jobs, Depends(get_jobs)]


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_blobs(request: Request) -> BlobStore:
    blobs: BlobStore = request.app.state.blobs
    return blobs


DatabaseDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
BlobsDep = Annotated[BlobStore, Depends(get_blobs)]


async def read_session(db: DatabaseDep) -> AsyncIterator[Session]:
    """A session for the (sync, thread-pool) endpoint; making it does no I/O, closing it does."""
    session = db.session(write=False)
    try:
        yield session
    finally:
        await run_in_threadpool(session.close)


async def write_session(db: DatabaseDep) -> AsyncIterator[Session]:
    """A session whose transaction takes the write lock on SQLite; the endpoint commits, closing rolls back."""
    session = db.session(write=True)
    try:
        yield session
    finally:
        await run_in_threadpool(session.close)


ReadSession = Annotated[Session, Depends(read_session)]
WriteSession = Annotated[Session, Depends(write_session)]


async def current_actor(request: Request, db: DatabaseDep) -> Actor:
    """Bearer token (scripts) or session cookie (browser); cookie writes need the client header (CSRF)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        secret, cookie = header[7:].strip(), False
    elif value := request.cookies.get(SESSION_COOKIE):
        if request.method not in SAFE_METHODS and CSRF_HEADER not in request.headers:
            raise Forbidden(f"browser requests that change data must send the {CSRF_HEADER} header", code="csrf")
        secret, cookie = value, True
    else:
        raise Unauthenticated("log in, or send 'Authorization: Bearer <token>'")
    actor = known_actor(secret, cookie=cookie)
    if actor is None:
        actor = await run_in_threadpool(_resolve, db, secret, cookie)
    client = request.client.host if request.client else None
    return dataclasses.replace(actor, ip=client, user_agent=request.headers.get("user-agent"))


def _resolve(db: Database, secret: str, cookie: bool) -> Actor:
    with db.read() as session:
        return resolve_session(session, secret) if cookie else resolve_token(session, secret)


CurrentActor = Annotated[Actor, Depends(current_actor)]
