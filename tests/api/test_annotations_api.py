"""Submitting answers over HTTP: validated against the schema, idempotent by client id, versioned on edit."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests.factories import Factory


@pytest.fixture
def leased(app_client: TestClient, factory: Factory):
    org = factory.org()
    annotator = factory.person(org)
    project = factory.project(org, "text_classes", overlap=2)
    factory.texts(project, 5)
    tasks = app_client.post(f"/api/v1/projects/{project.id}/next?count=5", headers=annotator.headers).json()
    return annotator, project, tasks


def _submit(client: TestClient, person, project_id: int, task_id: int, value, client_id: str | None = None):
    body = {
        "task_id": task_id,
        "client_id": client_id or str(uuid.uuid4()),
        "value": value,
        "lead_time_ms": 1200,
        "time_spent_ms": 900,
        "client_created_at": "2026-11-24T10:00:00Z",
    }
    return client.post(f"/api/v1/projects/{project_id}/annotations", headers=person.headers, json=body)


def test_answer_is_stored_with_timings(app_client: TestClient, leased):
    annotator, project, tasks = leased
    response = _submit(app_client, annotator, project.id, tasks[0]["task_id"], {"labels": ["spam"]})
    assert response.status_code == 201
    stored = response.json()["annotation"]
    assert stored["value"]["labels"] == ["spam"]
    assert (stored["lead_time_ms"], stored["time_spent_ms"]) == (1200, 900)
    assert stored["client_created_at"].startswith("2026-11-24T10:00:00")
    assert stored["counted"] is True and stored["late"] is False


def test_a_retried_submit_returns_the_first_result_and_stores_nothing(app_client: TestClient, leased, db):
    import sqlalchemy as sa

    annotator, project, tasks = leased
    client_id = str(uuid.uuid4())
    first = _submit(app_client, annotator, project.id, tasks[0]["task_id"], {"labels": ["spam"]}, client_id)
    again = _submit(app_client, annotator, project.id, tasks[0]["task_id"], {"labels": ["ok"]}, client_id)
    assert again.status_code == 201
    assert again.json()["replayed"] is True
    assert again.json()["annotation"] == first.json()["annotation"]
    with db.read() as s:
        assert s.scalar(sa.text("SELECT count(*) FROM annotations")) == 1
        assert s.scalar(sa.text("SELECT answers_count FROM tasks WHERE item_id = :t"), {"t": tasks[0]["task_id"]}) == 1


@pytest.mark.parametrize(
    ("value", "field", "words"),
    [
        ({"labels": ["nonsense"]}, "value.labels[0]", "not in the label schema"),
        ({"labels": "spam"}, "value.labels", "list"),
        ({"labels": ["spam"], "boxes": []}, "value.boxes", "Extra inputs"),
        ("spam", "value", "must be an object"),
        ({"labels": ["spam"], "spans": [{"start": 5, "end": 2, "label": "spam"}]}, "value.spans[0]", "after start"),
        (
            {"labels": ["spam"], "spans": [{"start": 0, "end": 999, "label": "spam"}]},
            "value.spans[0].end",
            "past the end",
        ),
    ],
    ids=[
        "unknown-class",
        "labels-not-a-list",
        "field-of-another-kind",
        "not-an-object",
        "span-backwards",
        "span-past-text",
    ],
)
def test_answer_of_the_wrong_shape_is_refused_naming_the_field(app_client: TestClient, leased, value, field, words):
    annotator, project, tasks = leased
    response = _submit(app_client, annotator, project.id, tasks[0]["task_id"], value)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == field
    assert words in error["message"]


def test_bad_client_id_is_refused(app_client: TestClient, leased):
    annotator, project, tasks = leased
    response = _submit(app_client, annotator, project.id, tasks[0]["task_id"], {"labels": ["ok"]}, client_id="x")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "client_id"


def test_second_submit_to_the_same_task_must_be_an_edit(app_client: TestClient, leased):
    annotator, project, tasks = leased
    _submit(app_client, annotator, project.id, tasks[0]["task_id"], {"labels": ["ok"]})
    response = _submit(app_client, annotator, project.id, tasks[0]["task_id"], {"labels": ["spam"]})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_answered"


def test_editing_makes_a_new_version_and_keeps_history(app_client: TestClient, leased, factory: Factory):
    annotator, project, tasks = leased
    first = _submit(app_client, annotator, project.id, tasks[0]["task_id"], {"labels": ["ok"]}).json()["annotation"]
    edit = {"client_id": str(uuid.uuid4()), "value": {"labels": ["spam", "abuse"]}, "time_spent_ms": 300}
    second = app_client.post(f"/api/v1/annotations/{first['id']}/versions", headers=annotator.headers, json=edit)
    assert second.status_code == 201
    assert second.json()["annotation"]["version"] == 2
    assert second.json()["annotation"]["previous_id"] == first["id"]
    replay = app_client.post(f"/api/v1/annotations/{first['id']}/versions", headers=annotator.headers, json=edit)
    assert replay.json()["replayed"] is True
    stale = app_client.post(
        f"/api/v1/annotations/{first['id']}/versions",
        headers=annotator.headers,
        json={"client_id": str(uuid.uuid4()), "value": {"labels": ["ok"]}},
    )
    assert stale.status_code == 409
    history = app_client.get(f"/api/v1/annotations/{first['id']}/history", headers=annotator.headers).json()
    assert [(h["version"], h["is_current"]) for h in history] == [(1, False), (2, True)]
    someone_else = factory.person(factory.org())
    assert app_client.get(f"/api/v1/annotations/{first['id']}/history", headers=someone_else.headers).status_code == 404


def test_batch_submit_reports_each_answer(app_client: TestClient, leased):
    annotator, project, tasks = leased
    repeat = str(uuid.uuid4())
    answers = [
        {"task_id": tasks[0]["task_id"], "client_id": repeat, "value": {"labels": ["ok"]}},
        {"task_id": tasks[1]["task_id"], "client_id": str(uuid.uuid4()), "value": {"labels": ["bad"]}},
        {"task_id": tasks[2]["task_id"], "client_id": str(uuid.uuid4()), "value": {"labels": ["spam"]}},
        {"task_id": tasks[0]["task_id"], "client_id": repeat, "value": {"labels": ["ok"]}},
    ]
    response = app_client.post(
        f"/api/v1/projects/{project.id}/annotations/batch", headers=annotator.headers, json={"annotations": answers}
    )
    results = response.json()["results"]
    assert [r["ok"] for r in results] == [True, False, True, True]
    assert results[1]["error"]["field"] == "value.labels[0]"
    assert results[3]["replayed"] is True and results[3]["annotation_id"] == results[0]["annotation_id"]


def test_batch_says_which_answers_came_late_and_whether_they_count(app_client: TestClient, leased, db):
    """An outbox syncing after an outage: the lease ran out meanwhile, the task still wants answers."""
    import sqlalchemy as sa

    annotator, project, tasks = leased
    with db.write() as s:
        s.execute(
            sa.text("UPDATE leases SET expires_at = :past WHERE task_id = :t"),
            {"past": "2020-01-01 00:00:00", "t": tasks[0]["task_id"]},
        )
        s.commit()
    answers = [
        {"task_id": t["task_id"], "client_id": str(uuid.uuid4()), "value": {"labels": ["ok"]}} for t in tasks[:2]
    ]
    results = app_client.post(
        f"/api/v1/projects/{project.id}/annotations/batch", headers=annotator.headers, json={"annotations": answers}
    ).json()["results"]
    assert [(r["ok"], r["late"], r["counted"]) for r in results] == [(True, True, True), (True, False, True)]


def test_skip_with_reason_and_it_never_comes_back(app_client: TestClient, leased):
    annotator, project, tasks = leased
    skipped = app_client.post(
        f"/api/v1/tasks/{tasks[0]['task_id']}/skip", headers=annotator.headers, json={"reason": "unreadable"}
    )
    assert skipped.json()["status"] == "skipped"
    for t in tasks[1:]:
        app_client.post(f"/api/v1/tasks/{t['task_id']}/release", headers=annotator.headers)
    again = app_client.post(f"/api/v1/projects/{project.id}/next?count=10", headers=annotator.headers).json()
    assert tasks[0]["task_id"] not in [t["task_id"] for t in again]
    assert len(again) == 4


def test_the_annotators_loop_replies_exactly_in_the_documented_shapes(app_client: TestClient, leased):
    """next, leases, submit, batch and edit serialise without FastAPI's response validation: check them here."""
    from pydantic import BaseModel

    from kolam.api.schemas.tasks import BatchOut, LeasedTaskOut, SubmitOut

    def conforms(model: type[BaseModel], body: dict) -> None:
        parsed = model.model_validate(body)
        assert parsed.model_dump(mode="json") == body  # no field missing, none extra, same encoding

    annotator, project, tasks = leased
    for task in tasks:
        conforms(LeasedTaskOut, task)
    held = app_client.get(f"/api/v1/projects/{project.id}/leases", headers=annotator.headers).json()
    assert sorted(t["task_id"] for t in held) == sorted(t["task_id"] for t in tasks)
    for task in held:
        conforms(LeasedTaskOut, task)
    single = _submit(app_client, annotator, project.id, tasks[0]["task_id"], {"labels": ["spam"]})
    assert single.headers["content-type"] == "application/json"
    conforms(SubmitOut, single.json())
    batch = app_client.post(
        f"/api/v1/projects/{project.id}/annotations/batch",
        headers=annotator.headers,
        json={
            "annotations": [
                {"task_id": tasks[1]["task_id"], "client_id": str(uuid.uuid4()), "value": {"labels": ["ok"]}},
                {"task_id": tasks[2]["task_id"], "client_id": "bad", "value": {"labels": ["ok"]}},
            ]
        },
    )
    conforms(BatchOut, batch.json())
    assert [r["ok"] for r in batch.json()["results"]] == [True, False]
    edited = app_client.post(
        f"/api/v1/annotations/{single.json()['annotation']['id']}/versions",
        headers=annotator.headers,
        json={"client_id": str(uuid.uuid4()), "value": {"labels": ["ok"]}},
    )
    assert edited.status_code == 201
    conforms(SubmitOut, edited.json())
