"""Browsing a project's items over HTTP: each filter alone and combined, keyset pages, cursors, timestamps."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from kolam.store.db import Database
from kolam.store.tables import Organization, Task
from tests.factories import Factory, Person

BASE = datetime(2026, 1, 1, tzinfo=UTC)
# creation times, hours after BASE, of t0..t6: t0 last although first by id, t2..t4 share one time
CREATED_HOURS = (6, 1, 2, 2, 2, 3, 4)


@dataclass
class World:
    """Seven texts (t0..t6), overlap 2; a1 answered t0 t1 t2 t4 and edited t1, a2 answered t1 t3 t4.

    Current classes: t0 spam; t1 abuse (a1, was ok) + spam (a2); t2 spam+abuse; t3 ok; t4 ok (both).
    t1 and t4 have their two answers, so they are done; the others are open.
    """

    org: Organization
    project_id: int
    t: list[int]
    manager: Person
    a1: Person
    a2: Person


def _submit(client: TestClient, person: Person, project_id: int, task_id: int, labels: list[str]) -> dict[str, Any]:
    body = {"task_id": task_id, "client_id": str(uuid.uuid4()), "value": {"labels": labels}}
    response = client.post(f"/api/v1/projects/{project_id}/annotations", headers=person.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()["annotation"]


def _created(db: Database, times: dict[int, datetime]) -> None:
    with db.write() as s:
        for task_id, at in times.items():
            s.execute(sa.update(Task).where(Task.item_id == task_id).values(created_at=at))
        s.commit()


@pytest.fixture
def world(app_client: TestClient, factory: Factory, db: Database) -> World:
    org = factory.org()
    manager, a1, a2 = factory.person(org, "manager"), factory.person(org), factory.person(org)
    project = factory.project(org, "text_classes", overlap=2)
    factory.texts(project, 7)
    for person in (a1, a2):
        leased = app_client.post(f"/api/v1/projects/{project.id}/next?count=7", headers=person.headers).json()
        assert len(leased) == 7
    listed = app_client.get(f"/api/v1/projects/{project.id}/items", headers=manager.headers).json()["items"]
    t = [row["task"]["id"] for row in listed]
    assert t == sorted(t) and len(t) == 7
    for task, labels in ((0, ["spam"]), (2, ["spam", "abuse"]), (4, ["ok"])):
        _submit(app_client, a1, project.id, t[task], labels)
    first = _submit(app_client, a1, project.id, t[1], ["ok"])
    edit = {"client_id": str(uuid.uuid4()), "value": {"labels": ["abuse"]}}
    edited = app_client.post(f"/api/v1/annotations/{first['id']}/versions", headers=a1.headers, json=edit)
    assert edited.status_code == 201
    for task, labels in ((1, ["spam"]), (3, ["ok"]), (4, ["ok"])):
        _submit(app_client, a2, project.id, t[task], labels)
    _created(db, {t[i]: BASE + timedelta(hours=h) for i, h in enumerate(CREATED_HOURS)})
    return World(org, project.id, t, manager, a1, a2)


def _page(client: TestClient, w: World, params: dict[str, Any], person: Person | None = None):
    return client.get(f"/api/v1/projects/{w.project_id}/items", headers=(person or w.manager).headers, params=params)


def _walk(client: TestClient, w: World, params: dict[str, Any], limit: int) -> tuple[list[int], int]:
    """Every item a filter lists, page after page; and the number of pages."""
    ids: list[int] = []
    cursor = None
    for pages in range(1, 100):
        response = _page(client, w, {**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= limit
        ids += [row["task"]["id"] for row in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, pages
        assert len(body["items"]) == limit
    raise AssertionError("the cursor never ran out")


def _ids(client: TestClient, w: World, params: dict[str, Any]) -> list[int]:
    response = _page(client, w, params)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return [row["task"]["id"] for row in response.json()["items"]]


FILTERS = [
    ("none", {}, [0, 1, 2, 3, 4, 5, 6]),
    ("state-open", {"state": "open"}, [0, 2, 3, 5, 6]),
    ("state-done", {"state": "done"}, [1, 4]),
    ("annotator-edited-once", {"annotator": "a1"}, [0, 1, 2, 4]),
    ("annotator-2", {"annotator": "a2"}, [1, 3, 4]),
    ("label", {"label": "spam"}, [0, 1, 2]),
    ("label-replaced-version-not", {"label": "ok"}, [3, 4]),
    ("label-of-the-edit", {"label": "abuse"}, [1, 2]),
    ("label-nobody-named", {"label": "nonsense"}, []),
    # each filter on its own: t1 is a1's, and names spam in a2's answer
    ("annotator+label", {"annotator": "a1", "label": "spam"}, [0, 1, 2]),
    ("annotator+label-2", {"annotator": "a2", "label": "abuse"}, [1]),
    ("annotator+state", {"annotator": "a2", "state": "done"}, [1, 4]),
    ("label+state", {"label": "ok", "state": "done"}, [4]),
    ("annotator+label+state", {"annotator": "a1", "label": "abuse", "state": "open"}, [2]),
    ("created_from", {"created_from": "2026-01-01T02:00:00"}, [2, 3, 4, 5, 6, 0]),
    ("created_to", {"created_to": "2026-01-01T03:00:00Z"}, [1, 2, 3, 4]),
    ("created-range+label", {"created_from": "2026-01-01T01:00:00Z", "label": "spam"}, [1, 2, 0]),
    ("created-range+annotator", {"created_to": "2026-01-01T03:00:00Z", "annotator": "a2"}, [1, 3, 4]),
    ("created+state", {"created_from": "2026-01-01T02:00:00Z", "state": "done"}, [4]),
]


def _params(w: World, params: dict[str, Any]) -> dict[str, Any]:
    people = {"a1": w.a1, "a2": w.a2}
    return {k: people[v].actor.user_id if k == "annotator" else v for k, v in params.items()}


@pytest.mark.parametrize(("params", "expected"), [f[1:] for f in FILTERS], ids=[f[0] for f in FILTERS])
def test_each_filter_alone_and_combined(app_client: TestClient, world: World, params, expected):
    assert _ids(app_client, world, _params(world, params)) == [world.t[i] for i in expected]


@pytest.mark.parametrize(("params", "expected"), [f[1:] for f in FILTERS], ids=[f[0] for f in FILTERS])
@pytest.mark.parametrize("limit", [1, 2])
def test_pages_list_every_item_once_in_order(app_client: TestClient, world: World, params, expected, limit):
    ids, pages = _walk(app_client, world, _params(world, params), limit)
    assert ids == [world.t[i] for i in expected]
    assert pages == max(1, -(-len(expected) // limit))  # an exactly full last page says so: no empty page after


def test_an_answered_item_shows_its_current_answers_only(app_client: TestClient, world: World):
    row = _page(app_client, world, {"label": "abuse", "limit": 1}).json()["items"][0]
    assert row["task"]["id"] == world.t[1]
    assert sorted(a["value"]["labels"][0] for a in row["annotations"]) == ["abuse", "spam"]
    assert all(a["is_current"] for a in row["annotations"])


def test_staged_items_are_never_listed(app_client: TestClient, world: World, db: Database):
    with db.write() as s:  # as if t3 (a2's, named ok) were still being imported
        s.execute(sa.update(Task).where(Task.item_id == world.t[3]).values(state="staged"))
        s.commit()
    for params in ({}, {"annotator": "a2"}, {"label": "ok"}, {"created_from": "2026-01-01T00:00:00Z"}):
        ids, _ = _walk(app_client, world, _params(world, params), 1)
        assert world.t[3] not in ids, params
    assert _page(app_client, world, {"state": "staged"}).status_code == 422


TIMESTAMPS = [
    ("naive-is-utc", {"created_from": "2026-01-01T02:00:00"}, [2, 3, 4, 5, 6, 0]),
    ("from-inclusive-offset", {"created_from": "2026-01-01T07:30:00+05:30"}, [2, 3, 4, 5, 6, 0]),
    ("from-a-microsecond-later", {"created_from": "2026-01-01T02:00:00.000001"}, [5, 6, 0]),
    ("to-exclusive-naive", {"created_to": "2026-01-01T02:00:00"}, [1]),
    ("to-exclusive-offset", {"created_to": "2026-01-01T07:30:00+05:30"}, [1]),
    ("to-a-microsecond-later", {"created_to": "2026-01-01T02:00:00.000001Z"}, [1, 2, 3, 4]),
    ("range", {"created_from": "2026-01-01T01:00:00", "created_to": "2026-01-01T09:30:00+05:30"}, [1, 2, 3, 4, 5]),
    ("empty-range", {"created_from": "2026-01-01T02:00:00", "created_to": "2026-01-01T02:00:00Z"}, []),
]


@pytest.mark.parametrize(("params", "expected"), [t[1:] for t in TIMESTAMPS], ids=[t[0] for t in TIMESTAMPS])
def test_creation_bounds_from_inclusive_to_exclusive_naive_read_as_utc(app_client, world: World, params, expected):
    ids, _ = _walk(app_client, world, params, 2)
    assert ids == [world.t[i] for i in expected]


@pytest.mark.parametrize("limit", [0, 501])
def test_limit_out_of_bounds_is_refused_naming_limit(app_client: TestClient, world: World, limit: int):
    response = _page(app_client, world, {"limit": limit})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "limit"


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


CURSORS = [
    ("garbage", {}, "not a cursor!"),
    ("not-text", {}, "____"),
    ("unknown-kind", {}, _b64("x:12")),
    ("id-not-a-number", {}, _b64("i:twelve")),
    ("creation-cursor-without-bounds", {}, _b64("c:1767225600000000:12")),
    ("id-cursor-with-bounds", {"created_from": "2026-01-01T00:00:00Z"}, _b64("i:12")),
    ("creation-cursor-bad-time", {"created_to": "2026-01-01T00:00:00Z"}, _b64("c:soon:12")),
    ("creation-cursor-out-of-range", {"created_to": "2026-01-01T00:00:00Z"}, _b64("c:99999999999999999999:1")),
]


@pytest.mark.parametrize(("params", "cursor"), [c[1:] for c in CURSORS], ids=[c[0] for c in CURSORS])
def test_a_forged_or_foreign_cursor_is_refused_naming_cursor(app_client: TestClient, world: World, params, cursor):
    response = _page(app_client, world, {**params, "cursor": cursor})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "cursor"


def test_a_cursor_carries_over_only_within_the_same_order(app_client: TestClient, world: World):
    by_id = _page(app_client, world, {"limit": 2}).json()["next_cursor"]
    by_time = _page(app_client, world, {"limit": 2, "created_to": "2026-01-02T00:00:00Z"}).json()["next_cursor"]
    assert _page(app_client, world, {"cursor": by_id, "label": "spam"}).status_code == 200
    assert _page(app_client, world, {"cursor": by_id, "created_from": "2026-01-01T00:00:00Z"}).status_code == 422
    assert _page(app_client, world, {"cursor": by_time}).status_code == 422
    assert _page(app_client, world, {"cursor": by_time, "created_from": "2026-01-01T00:00:00Z"}).status_code == 200


def test_another_organizations_project_is_not_found(app_client: TestClient, world: World, factory: Factory):
    stranger = factory.person(factory.org(), "owner")
    response = _page(app_client, world, {}, person=stranger)
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "project_id"


@pytest.mark.parametrize(("role", "status"), [("owner", 200), ("reviewer", 200), ("annotator", 403), ("viewer", 403)])
def test_who_may_browse_items(app_client: TestClient, world: World, factory: Factory, role: str, status: int):
    response = _page(app_client, world, {}, person=factory.person(world.org, role))
    assert response.status_code == status
    if status == 403:
        assert response.json()["error"]["code"] == "forbidden"
