"""The job queue with a real Huey consumer: SQLite storage (the one-machine default) and Redis (127.0.0.1:6379,
a database and queue name of the test's own), plus immediate mode and the embedded consumer's life."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from kolam.jobs import queue as queue_module
from kolam.jobs import tasks as tasks_module
from kolam.jobs.consumer import JobRunner
from kolam.jobs.queue import Jobs, build_jobs, jobs_location
from kolam.settings import Settings
from kolam.store.tables import Derivative
from kolam.store.tables_learning import Embedding
from tests.factories import Factory

DATA = Path(__file__).resolve().parents[1] / "data"
REDIS_URL = os.environ.get("KOLAM_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def _wait(check: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the job")


def _photo_import(factory: Factory, tmp_path: Path) -> int:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(DATA / "photo_china.jpg", folder / "china.jpg")
    project = factory.project(factory.org(), "image_classes")
    return factory.files(project, folder)


def _derived(factory: Factory) -> int:
    with factory.db.read() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(Derivative)) or 0)


def _embedded(factory: Factory) -> int:
    with factory.db.read() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(Embedding)) or 0)


def _run_with_consumer(jobs: Jobs, factory: Factory, import_id: int, then: Callable[[], bool] | None = None) -> None:
    """Derive an import on a real consumer; ``then``: also wait for what the derived import sets off."""
    runner = JobRunner(jobs, workers=2, poll_seconds=0.2)
    assert runner.start()
    try:
        jobs.enqueue_derive_import(import_id)
        _wait(lambda: _derived(factory) == 1)
        if then is not None:  # the derive job enqueues the pre-label job: embeddings, the queue's order
            _wait(then, seconds=60)
    finally:
        started = time.monotonic()
        runner.stop()
        assert time.monotonic() - started < 5  # an idle consumer stops at once
    assert not runner.running


def test_default_queue_is_sqlite_in_the_data_folder(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "d")
    assert jobs_location(settings) == f"sqlite:///{(tmp_path / 'd' / 'jobs.db').resolve()}"
    jobs = build_jobs(settings)
    assert (tmp_path / "d" / "jobs.db").exists()
    jobs.close()


def test_a_bad_jobs_url_is_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="KOLAM_JOBS_URL"):
        build_jobs(Settings(data_dir=tmp_path, jobs_url="amqp://elsewhere"))


def test_sqlite_consumer_derives_an_import(factory: Factory, settings: Settings, tmp_path: Path):
    import_id = _photo_import(factory, tmp_path)
    jobs = build_jobs(settings, db=factory.db, blobs=factory.blobs)
    try:
        _run_with_consumer(jobs, factory, import_id, then=lambda: _embedded(factory) == 1)
        assert jobs.pending() == 0
    finally:
        jobs.close()


@pytest.fixture
def redis_settings(settings: Settings) -> Iterator[Settings]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as err:
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {err}")
    yield settings.model_copy(update={"jobs_url": REDIS_URL})
    client.close()


def test_redis_consumer_derives_an_import(factory: Factory, redis_settings: Settings, tmp_path: Path):
    import_id = _photo_import(factory, tmp_path)
    name = f"kolam-test-{uuid.uuid4().hex[:12]}"
    jobs = build_jobs(redis_settings, db=factory.db, blobs=factory.blobs, name=name)
    try:
        _run_with_consumer(jobs, factory, import_id, then=lambda: _embedded(factory) == 1)
    finally:
        jobs.huey.storage.flush_all()
        jobs.close()


def test_immediate_mode_runs_the_job_as_it_is_enqueued(factory: Factory, settings: Settings, tmp_path: Path):
    import_id = _photo_import(factory, tmp_path)
    jobs = build_jobs(settings, db=factory.db, blobs=factory.blobs, immediate=True)
    jobs.enqueue_derive_import(import_id)
    assert _derived(factory) == 1


def test_one_embedded_consumer_per_queue_and_process(factory: Factory, settings: Settings):
    first = JobRunner(build_jobs(settings, db=factory.db, blobs=factory.blobs), workers=1)
    second = JobRunner(build_jobs(settings, db=factory.db, blobs=factory.blobs), workers=1)
    none = JobRunner(build_jobs(settings, db=factory.db, blobs=factory.blobs), workers=0)
    try:
        assert first.start()
        assert not second.start()
        assert not none.start()
    finally:
        first.stop()
    assert second.start()  # the queue is free again
    second.stop()


def test_a_job_that_meets_a_missing_import_does_not_fail(factory: Factory, settings: Settings):
    jobs = build_jobs(settings, db=factory.db, blobs=factory.blobs, immediate=True)
    jobs.enqueue_derive_import(987654)
    jobs.enqueue_derive_items([987654])
    assert _derived(factory) == 0


def test_answers_refresh_consensus_at_once_then_once_more_after_a_burst(
    factory: Factory, settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """The first answer refreshes at once; a burst inside the pause gets one trailing refresh (a scheduled job,
    which the embedded consumer's scheduler must run), so the burst's last answers are not left out."""
    monkeypatch.setattr(queue_module, "RESOLVE_EVERY_SECONDS", 1.5)
    runs: list[int] = []
    monkeypatch.setattr(tasks_module, "resolve_project", lambda ctx, project_id: runs.append(project_id) or {})
    jobs = build_jobs(settings, db=factory.db)
    runner = JobRunner(jobs, workers=1, poll_seconds=0.1)
    assert runner.start()
    try:
        jobs.answers_arrived(7)
        _wait(lambda: runs == [7], 10)
        for _ in range(5):  # a burst: one trailing refresh, not five
            jobs.answers_arrived(7)
        _wait(lambda: len(runs) == 2, 15)
        time.sleep(2.0)
        assert runs == [7, 7]
    finally:
        runner.stop()
        jobs.close()
