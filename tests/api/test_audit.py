"""Every read of an item's content and every write leaves an audit event: who, what, when, from where."""

from __future__ import annotations

import uuid

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


def test_audit_filters_by_object(app_client: TestClient, factory: Factory):
    org = factory.org()
    owner = factory.person(org, "owner")
    project = factory.project(org)
    factory.texts(project, 1)
    response = app_client.get(f"/api/v1/audit?object_type=project&object_id={project.id}", headers=owner.headers)
    assert [e["action"] for e in response.json()] == ["project.create"]
