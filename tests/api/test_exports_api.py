"""Exporting a project over HTTP: every item once with its answers, in JSON Lines or CSV, streamed; annotators
pseudonymous except to managers; CSV cells a spreadsheet would run are defused; history on request."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from kolam.formats.export_csv import COLUMNS
from kolam.services import export_lines, exports
from kolam.settings import Settings
from kolam.store.db import Database
from kolam.store.tables import Organization, Project
from tests.factories import Factory, Person

FORMULA_ID = '=HYPERLINK("http://evil.example","x")'
ITEMS = [
    {"id": FORMULA_ID, "text": "=SUM(A1:A9)", "priority": 3},
    {"id": "plain", "text": "ஒரு சாதாரண உரை", "priority": 2},
    {"id": "+cmd", "text": "nobody answered this", "priority": 1},
]


@pytest.fixture
def settings(tmp_path, db: Database) -> Settings:
    """No job threads: a consensus refresh landing between two exports would make them differ."""
    return Settings(
        data_dir=tmp_path / "data", database_url=str(db.engine.url), max_upload_bytes=2_000_000, job_workers=0
    )


@dataclass
class Answered:
    org: Organization
    project: Project
    manager: Person
    viewer: Person
    first: Person
    second: Person
    annotation_ids: dict[tuple[str, str], int]  # (annotator email, item external id) → annotation id


def export(client: TestClient, person: Person, project_id: int, **params: Any) -> httpx.Response:
    return client.get(f"/api/v1/projects/{project_id}/export", params=params, headers=person.headers)


def jsonl_records(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    reader = csv.reader(io.StringIO(response.text))
    assert tuple(next(reader)) == COLUMNS
    return [dict(zip(COLUMNS, row, strict=True)) for row in reader]


def submit(client: TestClient, person: Person, project: Project, task_id: int, labels: list[str]) -> int:
    body = {"task_id": task_id, "client_id": str(uuid.uuid4()), "value": {"labels": labels}, "time_spent_ms": 700}
    response = client.post(f"/api/v1/projects/{project.id}/annotations", headers=person.headers, json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["annotation"]["id"])


@pytest.fixture
def answered(app_client: TestClient, factory: Factory) -> Answered:
    """Three items: the first answered by two annotators, the second by one, the third by nobody."""
    org = factory.org()
    manager = factory.person(org, "manager")
    project = factory.project(org, "text_classes", overlap=2)
    body = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in ITEMS).encode()
    url = f"/api/v1/projects/{project.id}/imports"
    imported = app_client.post(url, params={"filename": "items.jsonl"}, content=body, headers=manager.headers)
    assert imported.status_code == 201, imported.text
    first, second = factory.person(org), factory.person(org)
    ids: dict[tuple[str, str], int] = {}
    plan = [(first, 2, [["spam"], ["ok"]]), (second, 1, [["abuse", "spam"]])]
    for person, count, answers in plan:
        leased = app_client.post(f"/api/v1/projects/{project.id}/next?count={count}", headers=person.headers).json()
        assert [t["item"]["external_id"] for t in leased] == [i["id"] for i in ITEMS[:count]]
        for task, labels in zip(leased, answers, strict=True):
            answer_id = submit(app_client, person, project, task["task_id"], labels)
            ids[(person.email, task["item"]["external_id"])] = answer_id
    return Answered(org, project, manager, factory.person(org, "viewer"), first, second, ids)


def test_jsonl_has_every_item_once_with_pseudonymous_answers_for_a_viewer(
    app_client: TestClient, answered: Answered, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(export_lines, "PAGE", 2)  # walk more than one page

    response = export(app_client, answered.viewer, answered.project.id, format="jsonl")

    records = jsonl_records(response)
    assert response.headers["content-disposition"] == f'attachment; filename="project-{answered.project.id}.jsonl"'
    assert [r["external_id"] for r in records] == [i["id"] for i in ITEMS]
    assert len({r["item_id"] for r in records}) == 3
    assert [r["data"]["text"] for r in records] == [i["text"] for i in ITEMS]
    first, plain, unanswered = records
    assert [sorted(a["value"]["labels"]) for a in first["annotations"]] == [["spam"], ["abuse", "spam"]]
    assert [a["value"]["labels"] for a in plain["annotations"]] == [["ok"]]
    assert unanswered["annotations"] == []
    assert first["task"] == {"state": "done", "answers_wanted": 2, "answers_count": 2}
    assert unanswered["task"]["state"] == "open"
    pseudonyms = [a["annotator"] for a in first["annotations"]]
    assert pseudonyms == [f"a{answered.first.actor.user_id}", f"a{answered.second.actor.user_id}"]
    assert plain["annotations"][0]["annotator"] == pseudonyms[0]  # stable across items
    assert "@" not in response.text


def test_a_manager_sees_annotators_emails(app_client: TestClient, answered: Answered):
    records = jsonl_records(export(app_client, answered.manager, answered.project.id))

    assert [a["annotator"] for a in records[0]["annotations"]] == [answered.first.email, answered.second.email]
    assert records[1]["annotations"][0]["annotator"] == answered.first.email


def test_jsonl_is_byte_for_byte_orjson_of_the_records_with_utc_timestamps(
    app_client: TestClient, answered: Answered, db: Database
):
    response = export(app_client, answered.manager, answered.project.id, history="true")

    records = exports.iter_export_records(db, answered.project.id, history=True, reveal_annotators=True)
    options = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS
    assert response.content == b"".join(orjson.dumps(record, option=options) for record in records)
    stamps = [a["created_at"] for r in jsonl_records(response) for a in r["annotations"]]
    assert len(stamps) == 3
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00", s) for s in stamps), stamps


def test_csv_has_one_row_per_answer_and_defuses_formulas(app_client: TestClient, answered: Answered):
    rows = csv_rows(export(app_client, answered.viewer, answered.project.id, format="csv"))

    assert [(r["external_id"], r["annotator"]) for r in rows] == [
        ("'" + FORMULA_ID, f"a{answered.first.actor.user_id}"),
        ("'" + FORMULA_ID, f"a{answered.second.actor.user_id}"),
        ("plain", f"a{answered.first.actor.user_id}"),
        ("'+cmd", ""),  # an item nobody answered still has its row
    ]
    assert json.loads(rows[0]["data"])["text"] == "=SUM(A1:A9)"
    assert json.loads(rows[2]["data"])["text"] == ITEMS[1]["text"]
    assert sorted(json.loads(rows[1]["value"])["labels"]) == ["abuse", "spam"]
    assert (rows[0]["task_state"], rows[3]["task_state"], rows[3]["annotation_id"]) == ("done", "open", "")
    assert rows[0]["time_spent_ms"] == "700"
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)


def test_unknown_format_is_422_naming_format(app_client: TestClient, answered: Answered):
    response = export(app_client, answered.manager, answered.project.id, format="xlsx")

    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid", "format")
    assert "xlsx" in error["message"] and "jsonl" in error["message"] and "csv" in error["message"]


def test_history_includes_replaced_versions(app_client: TestClient, answered: Answered):
    original = answered.annotation_ids[(answered.first.email, "plain")]
    edit = {"client_id": str(uuid.uuid4()), "value": {"labels": ["abuse"]}}
    edited = app_client.post(f"/api/v1/annotations/{original}/versions", headers=answered.first.headers, json=edit)
    assert edited.status_code == 201, edited.text

    current = jsonl_records(export(app_client, answered.viewer, answered.project.id))[1]["annotations"]
    full = jsonl_records(export(app_client, answered.viewer, answered.project.id, history="true"))[1]["annotations"]

    assert [(a["version"], a["value"]["labels"], a["is_current"]) for a in current] == [(2, ["abuse"], True)]
    assert [(a["id"], a["version"], a["value"]["labels"], a["is_current"]) for a in full] == [
        (original, 1, ["ok"], False),
        (edited.json()["annotation"]["id"], 2, ["abuse"], True),
    ]
    assert full[1]["previous_id"] == original
    rows = csv_rows(export(app_client, answered.viewer, answered.project.id, format="csv", history="true"))
    assert [r["version"] for r in rows if r["external_id"] == "plain"] == ["1", "2"]


@pytest.mark.parametrize(("role", "status"), [("viewer", 200), ("reviewer", 200), ("annotator", 403)])
def test_who_may_export(app_client: TestClient, factory: Factory, answered: Answered, role: str, status: int):
    person = factory.person(answered.org, role)

    response = export(app_client, person, answered.project.id, format="csv")

    assert response.status_code == status
    if status == 403:
        assert response.json()["error"]["code"] == "forbidden"


def test_another_organization_cannot_export(app_client: TestClient, factory: Factory, answered: Answered):
    stranger = factory.person(factory.org(), "manager")

    response = export(app_client, stranger, answered.project.id)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_export_formats_are_listed(app_client: TestClient, factory: Factory):
    viewer = factory.person(factory.org(), "viewer")

    response = app_client.get("/api/v1/export-formats", headers=viewer.headers)

    assert response.status_code == 200
    listed = {f["name"]: f for f in response.json()}
    assert {"jsonl", "csv"} <= set(listed)
    assert (listed["jsonl"]["media_type"], listed["jsonl"]["extension"]) == ("application/x-ndjson", ".jsonl")
    assert (listed["csv"]["media_type"], listed["csv"]["extension"]) == ("text/csv; charset=utf-8", ".csv")
    assert all(f["description"] for f in listed.values())
    assert app_client.get("/api/v1/export-formats").status_code == 401
