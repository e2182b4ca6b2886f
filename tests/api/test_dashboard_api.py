"""GET /projects/{id}/dashboard over HTTP: answers made through the API show up; roles and tenancy hold."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kolam.services import assignment
from tests.factories import Factory, Person


@pytest.fixture(autouse=True)
def fresh_sweep_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assignment, "_last_sweep", {})


def _work(client: TestClient, person: Person, project_id: int, times: list[int], skips: int = 0) -> None:
    """Lease as many tasks as needed; answer the first ones with these times spent, skip the next ``skips``."""
    leased = client.post(
        f"/api/v1/projects/{project_id}/next", params={"count": len(times) + skips}, headers=person.headers
    ).json()
    assert len(leased) == len(times) + skips
    batch = [
        {"task_id": t["task_id"], "client_id": str(uuid.uuid4()), "value": {"labels": ["ok"]}, "time_spent_ms": ms}
        for t, ms in zip(leased, times, strict=False)
    ]
    results = client.post(
        f"/api/v1/projects/{project_id}/annotations/batch", json={"annotations": batch}, headers=person.headers
    ).json()["results"]
    assert all(r["ok"] for r in results)
    for t in leased[len(times) :]:
        r = client.post(f"/api/v1/tasks/{t['task_id']}/skip", json={"reason": "blurred"}, headers=person.headers)
        assert r.status_code == 200


def _dashboard(client: TestClient, person: Person, project_id: int, **params: Any) -> Any:
    return client.get(f"/api/v1/projects/{project_id}/dashboard", params=params, headers=person.headers)


def test_dashboard_reflects_answers_and_skips(app_client: TestClient, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(org, "text_classes", overlap=2)
    factory.texts(project, 4)
    a, b = factory.person(org), factory.person(org)
    _work(app_client, a, project.id, [1000, 2000, 6000])
    _work(app_client, b, project.id, [500], skips=1)
    manager = factory.person(org, "manager")
    r = _dashboard(app_client, manager, project.id, hours=6)
    assert r.status_code == 200
    body = r.json()
    assert body["counts"] == {"tasks": 4, "open": 3, "done": 1, "staged": 0, "answers": 4}
    assert len(body["answers_per_hour"]) == 6
    assert sum(h["answers"] for h in body["answers_per_hour"]) == 4  # all made within the window
    hour = datetime.fromisoformat(body["answers_per_hour"][-1]["hour"])
    assert hour <= datetime.now(UTC) < hour + timedelta(hours=1, minutes=1)
    first, second = body["annotators"]
    assert (first["user_id"], first["email"], first["answers"], first["skips"]) == (a.actor.user_id, a.email, 3, 0)
    assert (first["median_time_ms"], first["mean_time_ms"], first["active_ms"]) == (2000, 3000, 9000)
    assert first["answers_per_hour"] == 1200
    assert (second["user_id"], second["answers"], second["skips"], second["median_time_ms"]) == (
        b.actor.user_id, 1, 1, 500,
    )  # fmt: skip
    assert second["last_answer_at"] is not None


def test_viewer_sees_the_dashboard_with_pseudonyms(app_client: TestClient, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(org, "text_classes")
    factory.texts(project, 2)
    a = factory.person(org)
    _work(app_client, a, project.id, [700])
    viewer = factory.person(org, "viewer")
    body = _dashboard(app_client, viewer, project.id).json()
    assert [(s["name"], s["email"]) for s in body["annotators"]] == [(f"a{a.actor.user_id}", None)]
    # the viewer's seat: dashboards and exports, nothing else
    assert app_client.get(f"/api/v1/projects/{project.id}/export", headers=viewer.headers).status_code == 200
    assert app_client.get(f"/api/v1/projects/{project.id}/items", headers=viewer.headers).status_code == 403


def test_roles_tenancy_and_bad_window(app_client: TestClient, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(org, "image_classes")
    annotator = factory.person(org)
    r = _dashboard(app_client, annotator, project.id)
    assert r.status_code == 403
    stranger = factory.person(factory.org(), "owner")
    r = _dashboard(app_client, stranger, project.id)
    assert r.status_code == 404
    assert r.json()["error"]["field"] == "project_id"
    r = _dashboard(app_client, factory.person(org, "manager"), project.id, hours=0)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "hours"
    assert app_client.get(f"/api/v1/projects/{project.id}/dashboard").status_code == 401
