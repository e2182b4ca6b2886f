"""`set_up_demo` makes four working projects on the shipped data, once: a second run reuses them.

Runs on SQLite and PostgreSQL; the demo annotators then lease real tasks from each project through the API.
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from kolam.services.demo import PASSWORD, PEOPLE, set_up_demo
from kolam.settings import Settings
from kolam.store.blobs import BlobStore
from kolam.store.db import Database
from kolam.store.tables import GoldAnswer, Item, Prediction, Project

LIMIT = 20
EXPECTED = [
    ("Fashion products", "image_classes", LIMIT),
    ("E-mail moderation", "text_classes", LIMIT),
    ("Speech transcription", "transcription", 15),
    ("Photo objects", "image_boxes", 6),
]


def _set_up(db: Database, settings: Settings, tmp_path: Path) -> list[tuple[int, str, int]]:
    setup = set_up_demo(db, BlobStore(settings.effective_blob_url), tmp_path / "sources", limit=LIMIT)
    return setup.projects


def test_four_projects_with_their_items_and_a_second_run_reuses_them(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    first = _set_up(db, settings, tmp_path)
    second = _set_up(db, settings, tmp_path)

    assert [(name, tasks) for _, name, tasks in first] == [(name, tasks) for name, _, tasks in EXPECTED]
    assert second == first
    with db.read() as s:
        kinds = {p.name: p.kind for p in s.scalars(sa.select(Project))}
        assert kinds == {name: kind for name, kind, _ in EXPECTED}
        assert s.scalar(sa.select(sa.func.count()).select_from(Item)) == sum(n for _, _, n in EXPECTED)
        assert s.scalar(sa.select(sa.func.count()).select_from(Prediction)) == 0  # references are no predictions
        speech = s.scalars(sa.select(Item).where(Item.media == "audio")).all()
    metas = [m if isinstance(m, dict) else json.loads(m) for m in (item.meta for item in speech)]
    assert sorted(m["language"] for m in metas) == ["en"] * 7 + ["hi"] * 3 + ["ta"] * 5
    assert all("reference" not in m and isinstance(m["synthetic"], bool) for m in metas)  # never shown
    assert {item.mime_type for item in speech} == {"audio/flac"}


def test_fashion_gold_comes_from_the_data_sets_labels_and_never_reaches_annotators_in_meta(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    ids = {name: pid for pid, name, _ in _set_up(db, settings, tmp_path)}
    with db.read() as s:
        gold = s.execute(
            sa.select(Item.external_id, GoldAnswer.value).join(GoldAnswer, GoldAnswer.task_id == Item.id)
        ).all()
        fashion = s.get(Project, ids["Fashion products"])
        metas = s.scalars(sa.select(Item.meta).where(Item.project_id == ids["Fashion products"])).all()
    # Test images 0 (ankle boot) is the first of every 25th; the limit keeps only it.
    assert [(ext, value["labels"]) for ext, value in gold] == [("fashion-mnist-test-0", ["Ankle boot"])]
    assert fashion is not None and fashion.gold_ratio > 0 and fashion.quality["adaptive"] is True
    assert all("source_label" not in (m or {}) for m in metas)


def test_demo_annotators_can_work_on_every_project(
    db: Database, settings: Settings, tmp_path: Path, app_client: TestClient
) -> None:
    ids = {name: pid for pid, name, _ in _set_up(db, settings, tmp_path)}
    annotators = [email for email, _, role, _ in PEOPLE if role == "annotator"]
    app_client.headers["x-kolam-client"] = "web"  # signed in by cookie, like the browser app

    for email in annotators:
        app_client.cookies.clear()
        login = app_client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        for name, project_id in ids.items():
            leased = app_client.post(f"/api/v1/projects/{project_id}/next")
            assert leased.status_code == 200, (email, name, leased.text)
            assert len(leased.json()) == 1, (email, name)

    app_client.cookies.clear()
    app_client.post("/api/v1/auth/login", json={"email": annotators[0], "password": PASSWORD})
    tasks = app_client.post(f"/api/v1/projects/{ids['Speech transcription']}/next?count=3").json()
    for task in tasks:
        item = task["item"]
        assert item["media"] == "audio" and item["meta"]["language"] in {"ta", "hi", "en"}
        assert "reference" not in item["meta"] and task["predictions"] == []
        assert app_client.get(item["content_url"]).status_code == 200
    photo = app_client.post(f"/api/v1/projects/{ids['Photo objects']}/next").json()[0]["item"]
    assert photo["media"] == "image" and photo["meta"]["title"]
