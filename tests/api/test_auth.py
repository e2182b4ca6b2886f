"""Logging in: password + cookie for the browser (with a CSRF header for writes), bearer tokens for scripts."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Factory


def test_login_sets_an_httponly_cookie_and_me_answers(app_client: TestClient, factory: Factory):
    org = factory.org()
    person = factory.person(org, "reviewer")
    response = app_client.post("/api/v1/auth/login", json={"email": person.email, "password": "password123"})
    assert response.status_code == 200
    assert "httponly" in response.headers["set-cookie"].lower()
    me = app_client.get("/api/v1/me").json()
    assert me["email"] == person.email
    assert me["role"] == "reviewer"
    assert "items.read" in me["permissions"]


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(app_client: TestClient, factory: Factory):
    org = factory.org()
    person = factory.person(org)
    for email, password in ((person.email, "nope-nope"), ("nobody@x.test", "password123")):
        response = app_client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "wrong e-mail or password"


def test_cookie_writes_need_the_client_header(app_client: TestClient, factory: Factory):
    org = factory.org()
    person = factory.person(org)
    project = factory.project(org)
    factory.texts(project, 1)
    app_client.post("/api/v1/auth/login", json={"email": person.email, "password": "password123"})
    refused = app_client.post(f"/api/v1/projects/{project.id}/next")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf"
    allowed = app_client.post(f"/api/v1/projects/{project.id}/next", headers={"x-kolam-client": "web"})
    assert allowed.status_code == 200
    assert len(allowed.json()) == 1


def test_logout_ends_the_session(app_client: TestClient, factory: Factory):
    org = factory.org()
    person = factory.person(org)
    app_client.post("/api/v1/auth/login", json={"email": person.email, "password": "password123"})
    assert app_client.get("/api/v1/me").status_code == 200
    cookie = app_client.cookies.get("kolam_session")
    app_client.post("/api/v1/auth/logout")
    app_client.cookies.set("kolam_session", cookie)
    assert app_client.get("/api/v1/me").status_code == 401


def test_a_revoked_token_is_refused_at_once(app_client: TestClient, factory: Factory):
    org = factory.org()
    person = factory.person(org, "annotator")
    created = app_client.post("/api/v1/tokens", headers=person.headers, json={"name": "script"}).json()
    token_headers = {"Authorization": f"Bearer {created['token']}"}
    assert app_client.get("/api/v1/me", headers=token_headers).status_code == 200
    revoked = app_client.delete(f"/api/v1/tokens/{created['id']}", headers=person.headers)
    assert revoked.json()["revoked_at"] is not None
    assert app_client.get("/api/v1/me", headers=token_headers).status_code == 401


def test_tokens_are_stored_only_as_hashes(app_client: TestClient, factory: Factory, db):
    import sqlalchemy as sa

    org = factory.org()
    person = factory.person(org)
    with db.read() as s:
        stored = s.execute(sa.text("SELECT token_hash, prefix FROM api_tokens")).all()
    assert all(person.token not in row.token_hash for row in stored)
    assert any(person.token.startswith(row.prefix) for row in stored)
