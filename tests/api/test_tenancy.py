"""Another organization's objects answer 404 — never 403, never their data — on every route that takes an id."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests.factories import Factory


@pytest.fixture
def two_orgs(app_client: TestClient, factory: Factory):
    ours, theirs = factory.org(), factory.org()
    our_manager = factory.person(ours, "owner")
    their_annotator = factory.person(theirs, "annotator")
    their_manager = factory.person(theirs, "owner")
    project = factory.project(theirs)
    factory.texts(project, 2)
    leased = app_client.post(f"/api/v1/projects/{project.id}/next", headers=their_annotator.headers).json()[0]
    submitted = app_client.post(
        f"/api/v1/projects/{project.id}/annotations",
        headers=their_annotator.headers,
        json={"task_id": leased["task_id"], "client_id": str(uuid.uuid4()), "value": {"labels": ["ok"]}},
    ).json()["annotation"]
    members = app_client.get("/api/v1/members", headers=their_manager.headers).json()
    return {
        "ours": our_manager,
        "project": project.id,
        "task": leased["task_id"],
        "annotation": submitted["id"],
        "member": members[0]["id"],
    }


ROUTES = [
    ("get", "/api/v1/projects/{project}", None),
    ("patch", "/api/v1/projects/{project}", {"priority": 5}),
    ("delete", "/api/v1/projects/{project}", None),
    ("get", "/api/v1/projects/{project}/stats", None),
    ("get", "/api/v1/projects/{project}/schema/1", None),
    ("post", "/api/v1/projects/{project}/next", None),
    ("get", "/api/v1/projects/{project}/items", None),
    ("get", "/api/v1/projects/{project}/export", None),
    ("post", "/api/v1/projects/{project}/imports?filename=a.jsonl", None),
    ("get", "/api/v1/items/{task}", None),
    ("get", "/api/v1/items/{task}/content", None),
    ("post", "/api/v1/tasks/{task}/renew", None),
    ("post", "/api/v1/tasks/{task}/skip", {}),
    ("post", "/api/v1/tasks/{task}/release", None),
    ("get", "/api/v1/annotations/{annotation}/history", None),
    ("post", "/api/v1/annotations/{annotation}/versions", {"client_id": "edit-0000001", "value": {"labels": ["ok"]}}),
    ("patch", "/api/v1/members/{member}", {"role": "viewer"}),
    ("delete", "/api/v1/members/{member}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_other_organization_is_not_found(app_client: TestClient, two_orgs, method: str, path: str, body):
    url = path.format(**{k: v for k, v in two_orgs.items() if k != "ours"})
    kwargs = {"json": body} if body is not None else {}
    if "imports" in path:
        kwargs = {"content": b'{"text": "x"}\n'}
    response = app_client.request(method, url, headers=two_orgs["ours"].headers, **kwargs)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"
    assert "ok" not in response.text and "text 0" not in response.text


def test_submitting_to_another_organizations_task_is_not_found(app_client: TestClient, factory: Factory, two_orgs):
    ours = factory.org()
    annotator = factory.person(ours)
    our_project = factory.project(ours)
    body = {"task_id": two_orgs["task"], "client_id": str(uuid.uuid4()), "value": {"labels": ["ok"]}}
    for project_id in (two_orgs["project"], our_project.id):
        response = app_client.post(f"/api/v1/projects/{project_id}/annotations", headers=annotator.headers, json=body)
        assert response.status_code == 404
        assert response.json()["error"]["field"] in ("project_id", "task_id")


def test_lists_show_only_ones_own_organization(app_client: TestClient, factory: Factory, two_orgs):
    ours = two_orgs["ours"]
    assert app_client.get("/api/v1/projects", headers=ours.headers).json() == []
    emails = [m["email"] for m in app_client.get("/api/v1/members", headers=ours.headers).json()]
    assert emails == [ours.email]
    events = app_client.get("/api/v1/audit?limit=1000", headers=ours.headers).json()
    assert all(e["object_id"] != str(two_orgs["project"]) or e["object_type"] != "project" for e in events)
