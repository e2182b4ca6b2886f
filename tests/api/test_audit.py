"""Every read of an item's content and every write leaves an audit event: who, what, when, from where."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from tests.factories import Factory


def test_reads_and_writes_are_audited(app_client: TestClient, factory: Factory):
    org = factory.org()
    owner = factory.person(org, "owner")
    annotator = factory.person(org)
    project = factory.project(org)
    factory.texts(project, 2)
    task = app_client.post(f"/api/v1/projects/{project.id}/next", headers=annotator.headers).json()[0]
    app_client.post(
        f"/api/v1/projects/{project.id}/annotations",
        headers={**annotator.headers, "User-Agent": "kolam-test/1"},
        json={"task_id": task["task_id"], "client_id": str(uuid.uuid4()), "value": {"labels": ["ok"]}},
    )
    app_client.get(f"/api/v1/items/{task['task_id']}", headers=owner.headers)
    app_client.get(f"/api/v1/items/{task['task_id']}/content", headers=owner.headers)
    app_client.get(f"/api/v1/projects/{project.id}/export", headers=owner.headers)
    listed = app_client.get(f"/api/v1/projects/{project.id}/items?limit=1", headers=owner.headers).json()["items"]

    events = app_client.get("/api/v1/audit?limit=1000", headers=owner.headers).json()
    seen = {(e["action"], e["user_id"]) for e in events}
    assert ("item.read", annotator.actor.user_id) in seen  # leasing hands out the content
    assert ("annotation.create", annotator.actor.user_id) in seen
    assert ("item.read", owner.actor.user_id) in seen
    assert ("item.content", owner.actor.user_id) in seen
    assert ("project.export", owner.actor.user_id) in seen
    assert ("project.create", None) in seen and ("import.finish", None) in seen
    create = next(e for e in events if e["action"] == "annotation.create")
    assert create["ip"] == "testclient"
    assert create["via"] == "api"
    ids = [e["id"] for e in events]
    assert ids == sorted(ids)
    by_listing = [e["object_id"] for e in events if e["action"] == "item.read" and e["details"] == {"via": "list"}]
    assert by_listing == [str(listed[0]["task"]["id"])]  # one event per item shown, none for the rest


def test_audit_filters_by_object(app_client: TestClient, factory: Factory):
    org = factory.org()
    owner = factory.person(org, "owner")
    project = factory.project(org)
    factory.texts(project, 1)
    response = app_client.get(f"/api/v1/audit?object_type=project&object_id={project.id}", headers=owner.headers)
    assert [e["action"] for e in response.json()] == ["project.create"]


@pytest.mark.parametrize("form", ["naive", "utc", "offset"])
def test_audit_since_reads_a_time_without_offset_as_utc(app_client: TestClient, factory: Factory, form: str):
    org = factory.org()
    owner = factory.person(org, "owner")
    factory.project(org)
    last = app_client.get("/api/v1/audit?limit=1000", headers=owner.headers).json()[-1]
    at = datetime.fromisoformat(last["at"]).astimezone(UTC)

    def since(moment: datetime) -> list[int]:
        value = {
            "naive": moment.replace(tzinfo=None).isoformat(),
            "utc": moment.isoformat(),
            "offset": moment.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat(),
        }[form]
        response = app_client.get("/api/v1/audit", headers=owner.headers, params={"since": value, "limit": 1000})
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()]

    assert last["id"] in since(at)  # inclusive
    assert last["id"] not in since(at + timedelta(microseconds=1))
    assert since(at - timedelta(hours=1))[-1] == last["id"]
