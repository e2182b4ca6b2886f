"""The queue adapter: one Huey instance built from the settings, with Kolam's jobs registered on it.

Built by :func:`build_jobs` when asked, never at import, so that settings are read at run time; the server,
``kolam worker`` and tests each build their own. Jobs are registered under fixed names, so a job enqueued by
one process runs in any other built from the same settings.
"""

from __future__ import annotations

import threading
import time
from functools import cached_property
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.api import Result, TaskWrapper

from kolam.jobs import tasks
from kolam.services import training
from kolam.settings import Settings
from kolam.store.blobs import BlobStore
from kolam.store.db import Database, create_database

QUEUE_NAME = "kolam"
RESOLVE_EVERY_SECONDS = 30.0
"""At most one consensus refresh per project this often per process, however fast answers arrive."""


def jobs_location(settings: Settings) -> str:
    """Where the queue lives, as a URL: KOLAM_JOBS_URL, else SQLite at <data_dir>/jobs.db."""
    return settings.jobs_url or f"sqlite:///{(settings.data_dir / 'jobs.db').resolve()}"


def build_huey(settings: Settings, *, name: str = QUEUE_NAME, immediate: bool = False) -> Huey:
    """A Huey on the configured storage; ``immediate`` runs every job as it is enqueued (in memory)."""
    url = jobs_location(settings)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, immediate=immediate, results=False)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        # timeout: how long a job-queue write waits for SQLite's lock (several workers share one file)
        return SqliteHuey(name, filename=str(path), immediate=immediate, results=False, timeout=10)
    raise ValueError(f"KOLAM_JOBS_URL must be redis://host:port/db or sqlite:///path, not {url!r}")


class Jobs:
    """Kolam's jobs on one Huey instance; ``enqueue_*`` methods return at once, a consumer runs the job."""

    def __init__(
        self,
        settings: Settings,
        huey: Huey,
        *,
        db: Database | None = None,
        blobs: BlobStore | None = None,
    ) -> None:
        self.settings = settings
        self.huey = huey
        self._db = db
        self._blobs = blobs
        self._owns_db = db is None
        retry = {"retries": 2, "retry_delay": 5}
        self._derive_import: TaskWrapper = huey.task(name="kolam.derive_import", **retry)(self._run_derive_import)
        self._derive_items: TaskWrapper = huey.task(name="kolam.derive_items", **retry)(self._run_derive_items)
        self._run_import: TaskWrapper = huey.task(name="kolam.run_import")(self._run_queued_import)
        self._resolve: TaskWrapper = huey.task(name="kolam.resolve_project", **retry)(self._run_resolve)
        self._train: TaskWrapper = huey.task(name="kolam.train_model")(self._run_train)
        self._prelabel: TaskWrapper = huey.task(name="kolam.prelabel_project", **retry)(self._run_prelabel)
        self._resolve_lock = threading.Lock()
        self._resolved_at: dict[int, float] = {}

    @cached_property
    def context(self) -> tasks.JobContext:
        """The database and blobs jobs use: the server's own when given, else opened from the settings."""
        db = self._db or create_database(
            self.settings.effective_database_url,
            busy_timeout_ms=self.settings.sqlite_busy_timeout_ms,
            pool_size=self.settings.pool_size,
        )
        blobs = self._blobs or BlobStore(self.settings.effective_blob_url)
        return tasks.JobContext(self.settings, db, blobs)

    def _run_derive_import(self, import_id: int) -> dict[str, Any]:
        report = tasks.derive_import(self.context, import_id)
        project_id = tasks.import_project(self.context, import_id)
        if project_id is not None and self.settings.prelabel_on_import:
            self.enqueue_prelabel(project_id)  # new items: embeddings, predictions, their place in the queue
        return report

    def _run_derive_items(self, item_ids: list[int]) -> dict[str, Any]:
        return tasks.derive_items(self.context, item_ids)

    def _run_queued_import(self, import_id: int, spool: str) -> dict[str, Any]:
        report = tasks.run_import(self.context, import_id, spool)
        if report.get("status") == "done":
            self.enqueue_derive_import(import_id)
        return report

    def _run_resolve(self, project_id: int) -> dict[str, Any]:
        summary = tasks.resolve_project(self.context, project_id)
        if training.should_retrain(self.context.db, project_id):
            self.enqueue_train(project_id)
        return summary

    def _run_train(self, project_id: int) -> dict[str, Any]:
        summary = tasks.train_model(self.context, project_id)
        if summary["status"] == "active":  # a new version predicts what is open and re-orders the queue
            self.enqueue_prelabel(project_id)
        return summary

    def _run_prelabel(self, project_id: int) -> dict[str, Any]:
        return tasks.prelabel_project(self.context, project_id)

    def enqueue_train(self, project_id: int) -> Result | None:
        return self._train(project_id)

    def enqueue_prelabel(self, project_id: int) -> Result | None:
        return self._prelabel(project_id)

    def enqueue_resolve(self, project_id: int) -> Result | None:
        return self._resolve(project_id)

    def answers_arrived(self, project_id: int) -> None:
        """Refresh the project's consensus soon: now if it was not refreshed lately, else once the pause is over
        (a scheduled job, so the last answers of a burst are not left out)."""
        now = time.monotonic()
        with self._resolve_lock:
            last = self._resolved_at.get(project_id)
            if last is not None and now - last < RESOLVE_EVERY_SECONDS:
                if last > now:  # a trailing refresh is already scheduled
                    return
                self._resolved_at[project_id] = last + RESOLVE_EVERY_SECONDS
                self._resolve.schedule((project_id,), delay=last + RESOLVE_EVERY_SECONDS - now)
                return
            self._resolved_at[project_id] = now
        self._resolve(project_id)

    def enqueue_derive_import(self, import_id: int) -> Result | None:
        return self._derive_import(import_id)

    def enqueue_derive_items(self, item_ids: list[int]) -> Result | None:
        return self._derive_items(item_ids)

    def enqueue_import(self, import_id: int, spool: Path) -> Result | None:
        return self._run_import(import_id, str(spool))

    def pending(self) -> int:
        return int(self.huey.pending_count())

    def close(self) -> None:
        """Let go of what this instance opened (the database when it opened its own, the queue's storage)."""
        if self._owns_db and "context" in self.__dict__:
            self.context.db.dispose()
        close = getattr(self.huey.storage, "close", None)
        if close is not None:
            close()


def build_jobs(
    settings: Settings,
    *,
    db: Database | None = None,
    blobs: BlobStore | None = None,
    name: str = QUEUE_NAME,
    immediate: bool = False,
) -> Jobs:
    return Jobs(settings, build_huey(settings, name=name, immediate=immediate), db=db, blobs=blobs)
