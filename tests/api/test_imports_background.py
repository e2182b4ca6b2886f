"""Imports as background jobs: 202 at once, progress while it runs, the outcome on GET /imports/{id}; the
spooled upload is removed after; an import left queued by a stopped server runs when it starts again."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi.testclient import TestClient

from kolam.api.app import create_app
from kolam.formats import SourceRecord
from kolam.services import import_queue, imports
from kolam.settings import Settings
from kolam.store.db import Database
from kolam.store.tables import ImportRun, Item
from tests.factories import Factory, Person


def _jsonl(n: int, prefix: str = "message") -> bytes:
    return "".join(json.dumps({"text": f"{prefix} {i}", "id": f"{prefix}-{i}"}) + "\n" for i in range(n)).encode()


def _upload(client: TestClient, person: Person, project_id: int, filename: str, body: bytes) -> httpx.Response:
    return client.post(
        f"/api/v1/projects/{project_id}/imports",
        params={"filename": filename, "background": "true"},
        content=body,
        headers=person.headers,
    )


def _until_finished(client: TestClient, person: Person, import_id: int, seconds: float = 60) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        out = client.get(f"/api/v1/imports/{import_id}", headers=person.headers).json()
        seen.append(out)
        if out["status"] in ("done", "failed"):
            return seen
        time.sleep(0.1)
    raise AssertionError(f"import {import_id} did not finish: {seen[-1]}")


def _spool_empties(settings: Settings, seconds: float = 10) -> bool:
    """The job removes the spooled upload just after the import is marked done: wait for that moment."""
    deadline = time.monotonic() + seconds
    while any(p.is_file() for p in _spool(settings).rglob("*")):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _spool(settings: Settings) -> Path:
    return import_queue.spool_root(settings.data_dir)


def test_background_import_answers_at_once_and_finishes(app_client: TestClient, factory: Factory, settings):
    org = factory.org()
    manager = factory.person(org, "manager")
    project = factory.project(org, "text_classes")
    response = _upload(app_client, manager, project.id, "batch.jsonl", _jsonl(25_000))
    assert response.status_code == 202, response.text
    queued = response.json()
    assert (queued["status"], queued["format"], queued["source"], queued["records"]) == (
        "queued", "jsonl", "batch.jsonl", 0,
    )  # fmt: skip
    states = _until_finished(app_client, manager, queued["id"])
    last = states[-1]
    assert last["status"] == "done", last
    assert (last["records"], last["items_created"], last["duplicates"]) == (25_000, 25_000, 0)
    assert [s["records"] for s in states] == sorted(s["records"] for s in states)  # progress never goes back
    assert _spool_empties(settings)  # the spooled upload is gone


def test_a_failing_background_import_says_why(app_client: TestClient, factory: Factory, settings: Settings):
    org = factory.org()
    manager = factory.person(org, "manager")
    project = factory.project(org, "text_classes")
    body = _jsonl(3) + b"{not json\n"
    queued = _upload(app_client, manager, project.id, "bad.jsonl", body).json()
    last = _until_finished(app_client, manager, queued["id"])[-1]
    assert last["status"] == "failed"
    assert last["report"]["error"]["code"] == "invalid"
    assert "line 4" in last["report"]["error"]["message"]
    with factory.db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Item).where(Item.project_id == project.id)) == 0
    assert not any(p.is_file() for p in _spool(settings).rglob("*"))


def test_unknown_format_is_refused_before_queueing(app_client: TestClient, factory: Factory):
    org = factory.org()
    manager = factory.person(org, "manager")
    project = factory.project(org, "text_classes")
    response = _upload(app_client, manager, project.id, "batch.xlsx", b"whatever")
    assert response.status_code == 422, response.text
    with factory.db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ImportRun)) == 0


def test_an_annotator_may_not_import(app_client: TestClient, factory: Factory):
    org = factory.org()
    annotator = factory.person(org, "annotator")
    project = factory.project(org, "text_classes")
    assert _upload(app_client, annotator, project.id, "a.jsonl", _jsonl(1)).status_code == 403


def test_an_import_left_queued_runs_when_the_server_starts_again(settings: Settings, db: Database, factory: Factory):
    org = factory.org()
    manager = factory.person(org, "manager")
    project = factory.project(org, "text_classes")
    without_jobs = settings.model_copy(update={"job_workers": 0})
    with TestClient(create_app(without_jobs, db=db, migrate=False)) as client:
        queued = _upload(client, manager, project.id, "later.jsonl", _jsonl(10)).json()
        time.sleep(0.3)
        assert client.get(f"/api/v1/imports/{queued['id']}", headers=manager.headers).json()["status"] == "queued"
    with TestClient(create_app(settings, db=db, migrate=False)) as client:
        last = _until_finished(client, manager, queued["id"])[-1]
    assert (last["status"], last["items_created"]) == ("done", 10)


def test_a_queued_import_whose_upload_is_gone_is_failed_on_start(settings: Settings, db: Database, factory: Factory):
    org = factory.org()
    manager = factory.person(org, "manager")
    project = factory.project(org, "text_classes")
    root = _spool(settings)
    root.mkdir(parents=True)
    spooled = root / "gone.jsonl"
    spooled.write_bytes(_jsonl(2))
    run, path = import_queue.queue_import(db, manager.actor, project.id, spooled, root)
    path.unlink()
    assert import_queue.recover_queued_imports(db, root) == []
    with db.read() as s:
        row = s.get(ImportRun, run.id)
        assert row is not None and row.status == "failed"
        assert "upload it again" in row.report["error"]["message"]


def test_a_queued_import_runs_once_however_often_its_job_runs(settings: Settings, db: Database, factory: Factory):
    org = factory.org()
    manager = factory.person(org, "manager")
    project = factory.project(org, "text_classes")
    root = _spool(settings)
    root.mkdir(parents=True)
    (root / "twice.jsonl").write_bytes(_jsonl(4))
    run, path = import_queue.queue_import(db, manager.actor, project.id, root / "twice.jsonl", root)
    assert import_queue.recover_queued_imports(db, root) == [(run.id, path)]
    first = import_queue.run_queued_import(db, run.id, path, blobs=factory.blobs)
    second = import_queue.run_queued_import(db, run.id, path, blobs=factory.blobs)
    assert (first["status"], first["created"], second["status"]) == ("done", 4, "skipped")


def test_progress_is_written_while_records_are_read(db: Database, factory: Factory):
    org = factory.org()
    project = factory.project(org, "text_classes")
    seen_while_running: list[tuple[str, int]] = []

    def slow() -> Iterator[SourceRecord]:
        for i in range(5):
            if i == 4:
                with db.read() as s:
                    row = s.scalar(sa.select(ImportRun).where(ImportRun.project_id == project.id))
                    assert row is not None
                    seen_while_running.append((row.status, row.records))
            yield SourceRecord({"text": f"slow {i}"}, f"slow {i}")
            time.sleep(0.6)

    imports.import_records(
        db, None, project.id, slow(), source="slow", format_name="test", blobs=factory.blobs, org_id=org.id
    )
    ((status, records),) = seen_while_running
    assert status == "running" and records >= 2
