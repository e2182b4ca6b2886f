"""`POST /leases/renew`: a browser keeps its whole batch in one request; each lease succeeds or fails alone."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Factory


def test_renew_a_batch_each_lease_on_its_own(app_client: TestClient, factory: Factory) -> None:
    org = factory.org()
    annotator, other = factory.person(org), factory.person(org)
    project = factory.project(org, "text_classes")
    factory.texts(project, 6)
    mine = app_client.post(f"/api/v1/projects/{project.id}/next?count=3", headers=annotator.headers).json()
    theirs = app_client.post(f"/api/v1/projects/{project.id}/next?count=1", headers=other.headers).json()
    skipped = mine[2]["task_id"]
    app_client.post(f"/api/v1/tasks/{skipped}/skip", headers=annotator.headers, json={"reason": "blurred"})
    asked = [mine[1]["task_id"], mine[0]["task_id"], skipped, theirs[0]["task_id"]]

    reply = app_client.post("/api/v1/leases/renew", headers=annotator.headers, json={"task_ids": asked})

    assert reply.status_code == 200
    results = {r["task_id"]: r for r in reply.json()["results"]}
    assert [r["task_id"] for r in reply.json()["results"]] == sorted(asked)  # locked and answered in id order
    for held in mine[:2]:
        assert results[held["task_id"]]["ok"] and results[held["task_id"]]["expires_at"] >= held["expires_at"]
    assert results[skipped]["error"]["code"] == "lease_ended"
    assert results[theirs[0]["task_id"]]["error"]["code"] == "not_found"  # another person's lease is not yours


def test_renew_refuses_an_oversized_batch(app_client: TestClient, factory: Factory) -> None:
    person = factory.person(factory.org())
    reply = app_client.post("/api/v1/leases/renew", headers=person.headers, json={"task_ids": list(range(501))})
    assert reply.status_code == 422 and reply.json()["error"]["field"] == "task_ids"
