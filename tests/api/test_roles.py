"""Roles are enforced per endpoint: who may manage, import, read items, work, export, read the audit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories import Factory

# route → roles allowed (others get 403)
MATRIX = [
    ("post", "/api/v1/projects", {"owner", "manager"}),
    ("patch", "/api/v1/projects/{project}", {"owner", "manager"}),
    ("get", "/api/v1/projects/{project}/items", {"owner", "manager", "reviewer"}),
    ("post", "/api/v1/projects/{project}/next", {"owner", "manager", "reviewer", "annotator"}),
    ("get", "/api/v1/projects/{project}/export", {"owner", "manager", "reviewer", "viewer"}),
    ("get", "/api/v1/projects/{project}/stats", {"owner", "manager", "reviewer", "viewer"}),
    ("post", "/api/v1/members", {"owner", "manager"}),
    ("get", "/api/v1/members", {"owner", "manager"}),
    ("get", "/api/v1/audit", {"owner", "manager"}),
]
ROLES = ("owner", "manager", "reviewer", "annotator", "viewer")


@pytest.mark.parametrize(("method", "path", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_role_matrix(app_client: TestClient, factory: Factory, method: str, path: str, allowed: set[str]):
    org = factory.org()
    project = factory.project(org)
    factory.texts(project, 10)
    bodies = {
        "/api/v1/projects": {"name": "new", "kind": "text_classes", "schema": {"classes": [{"name": "a"}]}},
        "/api/v1/projects/{project}": {"priority": 3},
        "/api/v1/members": {"email": "new@x.test", "role": "annotator"},
    }
    for role in ROLES:
        person = factory.person(org, role)
        body = bodies.get(path)
        if body and "name" in body:
            body = {**body, "name": f"new {role}"}
        if body and "email" in body:
            body = {**body, "email": f"new-{role}@x.test"}
        response = app_client.request(
            method, path.format(project=project.id), headers=person.headers, **({"json": body} if body else {})
        )
        if role in allowed:
            assert response.status_code < 400, (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert response.json()["error"]["code"] == "forbidden"


def test_only_an_owner_makes_owners(app_client: TestClient, factory: Factory):
    org = factory.org()
    manager = factory.person(org, "manager")
    response = app_client.post("/api/v1/members", headers=manager.headers, json={"email": "x@y.test", "role": "owner"})
    assert response.status_code == 403


def test_the_last_owner_cannot_be_demoted(app_client: TestClient, factory: Factory):
    org = factory.org()
    owner = factory.person(org, "owner")
    members = app_client.get("/api/v1/members", headers=owner.headers).json()
    me = next(m for m in members if m["email"] == owner.email)
    response = app_client.patch(f"/api/v1/members/{me['id']}", headers=owner.headers, json={"role": "manager"})
    assert response.status_code == 409


def test_role_change_applies_to_existing_tokens(app_client: TestClient, factory: Factory):
    org = factory.org()
    owner = factory.person(org, "owner")
    reviewer = factory.person(org, "reviewer")
    project = factory.project(org)
    assert app_client.get(f"/api/v1/projects/{project.id}/items", headers=reviewer.headers).status_code == 200
    member = [
        m for m in app_client.get("/api/v1/members", headers=owner.headers).json() if m["email"] == reviewer.email
    ]
    app_client.patch(f"/api/v1/members/{member[0]['id']}", headers=owner.headers, json={"role": "annotator"})
    assert app_client.get(f"/api/v1/projects/{project.id}/items", headers=reviewer.headers).status_code == 403
