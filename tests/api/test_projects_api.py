"""Projects: create per kind, validate schemas, and version them without touching answers already given."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests.factories import SCHEMAS, Factory


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_create_each_kind(app_client: TestClient, factory: Factory, kind: str):
    org = factory.org()
    manager = factory.person(org, "manager")
    body = {"name": f"p {kind}", "kind": kind, "schema": SCHEMAS[kind], "overlap": 2, "required_skills": ["ta"]}
    response = app_client.post("/api/v1/projects", headers=manager.headers, json=body)
    assert response.status_code == 201, response.text
    project = response.json()
    assert project["kind"] == kind
    assert project["schema_version"] == 1
    assert project["schema"]["kind"] == kind
    assert project["required_skills"] == ["ta"]


@pytest.mark.parametrize(
    ("kind", "schema", "field"),
    [
        ("image_classes", {"classes": []}, "schema.classes"),
        ("image_classes", {"classes": [{"name": "a"}, {"name": "a"}]}, "schema.classes"),
        ("image_classes", {"classes": [{"name": "a", "hotkey": "1"}, {"name": "b", "hotkey": "1"}]}, "schema.classes"),
        ("image_boxes", {"labels": [{"name": "car"}], "colour": "red"}, "schema.colour"),
        ("transcription", {"languages": ["Tamil"]}, "schema.languages"),
        ("nonsense", {}, "kind"),
    ],
    ids=["no-classes", "duplicate-class", "duplicate-hotkey", "unknown-field", "bad-language", "unknown-kind"],
)
def test_bad_schema_names_the_field(app_client: TestClient, factory: Factory, kind, schema, field):
    org = factory.org()
    manager = factory.person(org, "manager")
    response = app_client.post(
        "/api/v1/projects", headers=manager.headers, json={"name": "p", "kind": kind, "schema": schema}
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_duplicate_project_name_conflicts(app_client: TestClient, factory: Factory):
    org = factory.org()
    manager = factory.person(org, "manager")
    body = {"name": "same", "kind": "text_classes", "schema": SCHEMAS["text_classes"]}
    assert app_client.post("/api/v1/projects", headers=manager.headers, json=body).status_code == 201
    response = app_client.post("/api/v1/projects", headers=manager.headers, json=body)
    assert response.status_code == 409
    assert response.json()["error"]["field"] == "name"


def test_editing_labels_mid_work_keeps_answers_and_retires_removed_classes(app_client: TestClient, factory: Factory):
    org = factory.org()
    manager = factory.person(org, "manager")
    annotator = factory.person(org)
    project = factory.project(org, "image_classes")
    factory.image_urls(project, 3)
    tasks = app_client.post(f"/api/v1/projects/{project.id}/next?count=2", headers=annotator.headers).json()
    first = app_client.post(
        f"/api/v1/projects/{project.id}/annotations",
        headers=annotator.headers,
        json={"task_id": tasks[0]["task_id"], "client_id": str(uuid.uuid4()), "value": {"labels": ["dog"]}},
    )
    assert first.status_code == 201
    new_schema = {"classes": [{"name": "cat", "hotkey": "1"}, {"name": "bird", "hotkey": "3"}]}
    edited = app_client.patch(f"/api/v1/projects/{project.id}", headers=manager.headers, json={"schema": new_schema})
    assert edited.status_code == 200
    assert edited.json()["schema_version"] == 2
    classes = {c["name"]: c["retired"] for c in edited.json()["schema"]["classes"]}
    assert classes == {"cat": False, "bird": False, "dog": True}
    # An answer made against version 1 (the browser had not reloaded) is still accepted as version 1.
    late_v1 = app_client.post(
        f"/api/v1/projects/{project.id}/annotations",
        headers=annotator.headers,
        json={
            "task_id": tasks[1]["task_id"],
            "client_id": str(uuid.uuid4()),
            "value": {"labels": ["dog"]},
            "schema_version": 1,
        },
    )
    assert late_v1.status_code == 201
    assert late_v1.json()["annotation"]["schema_version"] == 1
    # Against the current version, the retired class is refused with the field named.
    third = app_client.post(f"/api/v1/projects/{project.id}/next", headers=annotator.headers).json()[0]
    refused = app_client.post(
        f"/api/v1/projects/{project.id}/annotations",
        headers=annotator.headers,
        json={"task_id": third["task_id"], "client_id": str(uuid.uuid4()), "value": {"labels": ["dog"]}},
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "value.labels[0]"
    assert "retired" in refused.json()["error"]["message"]
    # The first answer is untouched and still says version 1.
    items = app_client.get(f"/api/v1/projects/{project.id}/items", headers=manager.headers).json()["items"]
    answers = [a for i in items for a in i["annotations"]]
    assert {(a["value"]["labels"][0], a["schema_version"]) for a in answers} == {("dog", 1)}
    old = app_client.get(f"/api/v1/projects/{project.id}/schema/1", headers=manager.headers).json()
    assert [c["name"] for c in old["definition"]["classes"]] == ["cat", "dog"]


def test_raising_overlap_reopens_done_tasks(app_client: TestClient, factory: Factory):
    org = factory.org()
    manager = factory.person(org, "manager")
    annotator = factory.person(org)
    project = factory.project(org, overlap=1)
    factory.texts(project, 1)
    task = app_client.post(f"/api/v1/projects/{project.id}/next", headers=annotator.headers).json()[0]
    app_client.post(
        f"/api/v1/projects/{project.id}/annotations",
        headers=annotator.headers,
        json={"task_id": task["task_id"], "client_id": str(uuid.uuid4()), "value": {"labels": ["ok"]}},
    )
    stats = app_client.get(f"/api/v1/projects/{project.id}/stats", headers=manager.headers).json()
    assert (stats["open"], stats["done"]) == (0, 1)
    app_client.patch(f"/api/v1/projects/{project.id}", headers=manager.headers, json={"overlap": 2})
    stats = app_client.get(f"/api/v1/projects/{project.id}/stats", headers=manager.headers).json()
    assert (stats["open"], stats["done"]) == (1, 0)
    other = factory.person(org)
    assert len(app_client.post(f"/api/v1/projects/{project.id}/next", headers=other.headers).json()) == 1
