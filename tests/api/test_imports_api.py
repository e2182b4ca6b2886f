"""Uploading an import file over HTTP: the raw body is the file, its name's suffix picks the format; all or
nothing, with a located error in the envelope, within the upload limit, inside the caller's organization."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from PIL import Image

from kolam.store.db import Database
from kolam.store.tables import ImportRun, Item, Organization, Project
from tests.factories import Factory, Person

LIMIT = 2_000_000  # the `settings` fixture's max_upload_bytes


@pytest.fixture
def org(factory: Factory) -> Organization:
    return factory.org()


@pytest.fixture
def manager(factory: Factory, org: Organization) -> Person:
    return factory.person(org, "manager")


@pytest.fixture
def project(factory: Factory, org: Organization) -> Project:
    return factory.project(org, "text_classes")


def jsonl(*records: Any) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def upload(client: TestClient, person: Person, project_id: int, filename: str, body: Any) -> httpx.Response:
    return client.post(
        f"/api/v1/projects/{project_id}/imports", params={"filename": filename}, content=body, headers=person.headers
    )


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    return body["error"]


def rows(db: Database, table: type, project: Project) -> int:
    with db.read() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(table).where(table.project_id == project.id)) or 0


def test_upload_imports_everything_and_reports_counts(
    app_client: TestClient, manager: Person, project: Project, db: Database
):
    body = jsonl({"text": "வணக்கம்", "id": "t1"}, {"text": "नमस्ते"}, {"text": "வணக்கம்", "id": "again"})

    response = upload(app_client, manager, project.id, "batch.jsonl", body)

    assert response.status_code == 201, response.text
    out = response.json()
    assert (out["status"], out["format"], out["source"]) == ("done", "jsonl", "batch.jsonl")
    assert (out["records"], out["items_created"], out["duplicates"]) == (3, 2, 1)
    assert out["report"]["duplicate_examples"] == [
        {"location": "batch.jsonl line 3", "same_content_as": "batch.jsonl line 1"}
    ]
    assert out["project_id"] == project.id and out["finished_at"] is not None
    fetched = app_client.get(f"/api/v1/imports/{out['id']}", headers=manager.headers)
    assert fetched.status_code == 200
    assert fetched.json() == out
    stats = app_client.get(f"/api/v1/projects/{project.id}/stats", headers=manager.headers).json()
    assert (stats["tasks"], stats["open"], stats["staged"]) == (2, 2, 0)


def test_a_gzipped_csv_upload(app_client: TestClient, manager: Person, project: Project):
    body = gzip.compress(b"text,meta.lang\nvanakkam,ta\nnamaste,hi\n")

    response = upload(app_client, manager, project.id, "batch.csv.gz", body)

    assert response.status_code == 201, response.text
    assert (response.json()["format"], response.json()["items_created"]) == ("csv", 2)


def test_the_file_name_cannot_point_elsewhere(app_client: TestClient, manager: Person, project: Project):
    response = upload(app_client, manager, project.id, "../../etc/batch.jsonl", jsonl({"text": "a"}))

    assert response.status_code == 201, response.text
    assert response.json()["source"] == "batch.jsonl"


@pytest.mark.parametrize("role", ["annotator", "reviewer", "viewer"])
def test_roles_without_import_rights_get_403(
    app_client: TestClient, factory: Factory, org: Organization, project: Project, db: Database, role: str
):
    person = factory.person(org, role)

    response = upload(app_client, person, project.id, "batch.jsonl", jsonl({"text": "a"}))

    error = error_of(response, 403, "forbidden")
    assert "items.import" in error["message"]
    assert rows(db, ImportRun, project) == 0


def test_another_organizations_project_and_import_are_not_found(
    app_client: TestClient, factory: Factory, manager: Person, project: Project, db: Database
):
    stranger = factory.person(factory.org(), "manager")
    done = upload(app_client, manager, project.id, "batch.jsonl", jsonl({"text": "a"})).json()

    response = upload(app_client, stranger, project.id, "batch.jsonl", jsonl({"text": "b"}))

    error_of(response, 404, "not_found")
    assert rows(db, Item, project) == 1
    error_of(app_client.get(f"/api/v1/imports/{done['id']}", headers=stranger.headers), 404, "not_found")
    error_of(app_client.get("/api/v1/imports/999999", headers=manager.headers), 404, "not_found")


def _chunks(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    line = jsonl({"text": "x" * 1000})
    sent = 0
    while sent < total:
        chunk = line * (size // len(line))
        sent += len(chunk)
        yield chunk


@pytest.mark.parametrize(
    ("how", "words"),
    [
        ("declared-length", f"bytes; the limit is {LIMIT}"),
        ("streamed-without-length", f"the upload is over the limit of {LIMIT} bytes"),
    ],
)
def test_an_upload_over_the_limit_is_413(
    app_client: TestClient, manager: Person, project: Project, db: Database, how: str, words: str
):
    body: Any = jsonl({"text": "x" * (LIMIT + 1)}) if how == "declared-length" else _chunks(LIMIT + 300_000)

    response = upload(app_client, manager, project.id, "big.jsonl", body)

    error = error_of(response, 413, "too_large")
    assert error["field"] == "body"
    assert words in error["message"]
    assert rows(db, ImportRun, project) == rows(db, Item, project) == 0


@pytest.mark.parametrize(
    ("filename", "body", "words", "field"),
    [
        ("batch.jsonl", b'{"text": "fine"}\n{"text": "broken"\n', "batch.jsonl line 2: not valid JSON", None),
        (
            "batch.jsonl",
            jsonl({"text": "a"}, {"text": "b", "priority": "high"}),
            "batch.jsonl line 2: 'priority'",
            "priority",
        ),
        ("batch.csv", b"id,txt\n1,hello\n", "batch.csv row 2: missing field 'text'", "text"),
        ("batch.csv", b"id,text\n1,a\n2,b,c\n", "batch.csv row 3: 3 cells, but the header has 2 columns", None),
        ("batch.json", b'[{"text": "a"}, 5]', "batch.json element 1: each element must be an object", None),
        ("batch.jsonl.gz", b"not gzip", "batch.jsonl.gz: not a readable gzip file", None),
    ],
    ids=["malformed-line", "wrong-type", "missing-column", "wrong-cell-count", "not-an-object", "damaged-gzip"],
)
def test_bad_input_is_422_naming_where_and_nothing_is_kept(
    app_client: TestClient,
    manager: Person,
    project: Project,
    db: Database,
    filename: str,
    body: bytes,
    words: str,
    field: str | None,
):
    response = upload(app_client, manager, project.id, filename, body)

    error = error_of(response, 422, "invalid")
    assert error["message"].startswith(words), error["message"]
    assert error["field"] == field
    assert rows(db, Item, project) == 0
    with db.read() as s:
        failed = s.scalars(sa.select(ImportRun).where(ImportRun.project_id == project.id)).one()
    assert failed.status == "failed"
    assert failed.report["error"]["message"] == error["message"]
    seen = app_client.get(f"/api/v1/imports/{failed.id}", headers=manager.headers).json()
    assert (seen["status"], seen["items_created"]) == ("failed", 0)
    assert seen["report"]["error"]["message"] == error["message"]


@pytest.mark.parametrize(
    ("filename", "body", "words"),
    [
        ("batch.jsonl", b"", "the upload is empty"),
        ("batch.txt", b"hello", "batch.txt: cannot tell the format from the name"),
    ],
    ids=["empty", "unknown-suffix"],
)
def test_uploads_that_are_not_an_import_file_are_422(
    app_client: TestClient, manager: Person, project: Project, filename: str, body: bytes, words: str
):
    error = error_of(upload(app_client, manager, project.id, filename, body), 422, "invalid")

    assert error["message"].startswith(words)


def test_a_missing_filename_is_422_naming_it(app_client: TestClient, manager: Person, project: Project):
    response = app_client.post(
        f"/api/v1/projects/{project.id}/imports", content=jsonl({"text": "a"}), headers=manager.headers
    )

    assert error_of(response, 422, "invalid")["field"] == "filename"


@pytest.mark.parametrize("reference", ["{tmp}/photo.png", "photo.png", "../photo.png"])
def test_items_may_not_refer_to_server_paths_over_the_api(
    app_client: TestClient,
    factory: Factory,
    org: Organization,
    manager: Person,
    db: Database,
    tmp_path: Path,
    reference: str,
):
    Image.new("RGB", (8, 8), (200, 10, 10)).save(tmp_path / "photo.png")
    images = factory.project(org, "image_classes")
    body = jsonl({"image": "https://img.example/ok.png"}, {"image": reference.replace("{tmp}", str(tmp_path))})

    error = error_of(upload(app_client, manager, images.id, "refs.jsonl", body), 422, "invalid")

    assert error["field"] == "image"
    assert error["message"].startswith("refs.jsonl line 2: items may not refer to server paths")
    assert rows(db, Item, images) == 0


def test_url_items_are_accepted_over_the_api(
    app_client: TestClient, factory: Factory, org: Organization, manager: Person
):
    images = factory.project(org, "image_classes")
    body = jsonl(*({"image": f"https://img.example/{i}.jpg"} for i in range(3)))

    response = upload(app_client, manager, images.id, "urls.jsonl", body)

    assert response.status_code == 201, response.text
    assert response.json()["items_created"] == 3
    listed = app_client.get(f"/api/v1/projects/{images.id}/items", headers=manager.headers).json()["items"]
    targets = []
    for entry in listed:  # the server never fetches the URL: the content link redirects the client there
        content = app_client.get(entry["item"]["content_url"], headers=manager.headers, follow_redirects=False)
        assert content.status_code == 307
        targets.append(content.headers["location"])
    assert sorted(targets) == [f"https://img.example/{i}.jpg" for i in range(3)]


def test_reading_an_import_needs_import_rights(
    app_client: TestClient, factory: Factory, org: Organization, manager: Person, project: Project
):
    done = upload(app_client, manager, project.id, "batch.jsonl", jsonl({"text": "a"})).json()
    annotator = factory.person(org, "annotator")

    error_of(app_client.get(f"/api/v1/imports/{done['id']}", headers=annotator.headers), 403, "forbidden")
    error_of(app_client.get(f"/api/v1/imports/{done['id']}"), 401, "unauthenticated")


@pytest.mark.parametrize("name", ["bomb.jsonl.gz", "bomb.csv.gz"])
def test_a_gzip_that_unpacks_past_the_upload_limit_is_413_and_keeps_nothing(
    app_client: TestClient, manager: Person, project: Project, db: Database, name: str
):
    header = b"text\n" if name.endswith(".csv.gz") else b""
    line = b'{"text": "padding"}\n' if name.endswith(".jsonl.gz") else b"padding\n"
    body = gzip.compress(header + line * (LIMIT // len(line) + 1000))
    assert len(body) < LIMIT // 50  # small on the wire

    response = upload(app_client, manager, project.id, name, body)

    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["message"] == f"{name}: decompresses to more than the upload limit of {LIMIT} bytes"
    assert error["field"] == "body"
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Item)) == 0
        run = session.scalars(sa.select(ImportRun)).one()
        assert (run.status, run.items_created) == ("failed", 0)
        assert run.report["error"]["code"] == "too_large"


def test_a_gzip_just_under_the_upload_limit_imports(app_client: TestClient, manager: Person, project: Project):
    lines = [json.dumps({"text": f"line {i}"}).encode() + b"\n" for i in range(50_000)]
    body = b"".join(lines)
    assert len(body) < LIMIT

    response = upload(app_client, manager, project.id, "ok.jsonl.gz", gzip.compress(body))

    assert response.status_code == 201, response.text
    assert response.json()["items_created"] == 50_000
