"""The application factory: settings in, a FastAPI app out; the database is migrated on start."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from starlette.concurrency import run_in_threadpool

from kolam import __version__
from kolam.api import errors, web
from kolam.api.routes import annotations as annotation_routes
from kolam.api.routes import (
    audit,
    auth,
    dashboard,
    exports,
    health,
    imports,
    items,
    media,
    members,
    models,
    organizations,
    projects,
    quality,
    tasks,
    tokens,
)
from kolam.jobs.consumer import JobRunner
from kolam.jobs.queue import build_jobs
from kolam.services.import_queue import discard_stale_imports, recover_queued_imports, spool_root
from kolam.settings import Settings, get_settings
from kolam.store.blobs import BlobStore
from kolam.store.db import Database, create_database
from kolam.store.migrate import upgrade

API_PREFIX = "/api/v1"


def open_database(settings: Settings) -> Database:
    return create_database(
        settings.effective_database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms, pool_size=settings.pool_size
    )


def create_app(settings: Settings | None = None, *, db: Database | None = None, migrate: bool = True) -> FastAPI:
    settings = settings or get_settings()
    database = db or open_database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            upgrade(database)
        discard_stale_imports(database)
        jobs = build_jobs(settings, db=database, blobs=app.state.blobs)
        app.state.jobs = jobs
        for import_id, spooled in recover_queued_imports(database, spool_root(settings.data_dir)):
            jobs.enqueue_import(import_id, spooled)
        runner = JobRunner(jobs, settings.job_workers)
        runner.start()
        try:
            yield
        finally:
            await run_in_threadpool(runner.stop)
            jobs.close()
            if db is None:
                database.dispose()

    app = FastAPI(
        title="Kolam",
        version=__version__,
        description='Annotation with people and a model in the loop. Errors: `{"error": {code, message, field}}`.',
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.blobs = BlobStore(settings.effective_blob_url)
    errors.install(app)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    api = APIRouter(prefix=API_PREFIX)
    for module in (health, auth, organizations, members, tokens, projects, dashboard, imports, tasks,
                   annotation_routes, items, media, exports, audit, quality, models):  # fmt: skip
        api.include_router(module.router)
    app.include_router(api)
    web.install(app)
    return app
