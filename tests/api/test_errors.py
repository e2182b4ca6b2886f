"""The error envelope is one shape everywhere: {"error": {"code", "message", "field"}} (pinned from day one)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories import Factory


def _assert_envelope(body: dict[str, object], code: str) -> None:
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error, dict)
    assert set(error) >= {"code", "message", "field"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/api/v1/no-such-route", 404, "not_found"),
        ("get", "/api/v1/projects", 401, "unauthenticated"),
        ("delete", "/api/v1/health", 405, "method_not_allowed"),
    ],
    ids=["unknown-route", "no-credentials", "wrong-method"],
)
def test_framework_errors_use_the_envelope(app_client: TestClient, method: str, path: str, status: int, code: str):
    response = app_client.request(method, path)
    assert response.status_code == status
    _assert_envelope(response.json(), code)


def test_request_validation_names_the_field(app_client: TestClient, factory: Factory):
    org = factory.org()
    manager = factory.person(org, "manager")
    response = app_client.post("/api/v1/projects", headers=manager.headers, json={"name": "x", "kind": "text_classes"})
    assert response.status_code == 422
    _assert_envelope(response.json(), "invalid")
    assert response.json()["error"]["field"] == "schema"


def test_domain_errors_name_the_field(app_client: TestClient, factory: Factory):
    org = factory.org()
    manager = factory.person(org, "manager")
    body = {"name": "x", "kind": "image_classes", "schema": {"classes": [{"name": "a", "hotkey": "!!"}]}}
    response = app_client.post("/api/v1/projects", headers=manager.headers, json=body)
    assert response.status_code == 422
    _assert_envelope(response.json(), "invalid")
    assert response.json()["error"]["field"] == "schema.classes[0].hotkey"


def test_openapi_is_served_and_documents_the_error_shape(app_client: TestClient):
    spec = app_client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "Kolam"
    assert "/api/v1/projects/{project_id}/next" in spec["paths"]
    assert "ErrorEnvelope" in spec["components"]["schemas"]
