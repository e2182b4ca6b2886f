"""The model in the loop over HTTP, on SQLite and PostgreSQL: the learning policy, status, guideline notes,
permissions, and a real training run (packaged image encoder, real Fashion-MNIST images) whose version then
pre-labels the tasks annotators lease."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kolam.demo.datasets import iter_fashion_mnist
from kolam.settings import Settings
from tests.factories import Factory

CLASSES = {"classes": [{"name": "cat"}, {"name": "dog"}, {"name": "bird"}]}
FOUR = ("T-shirt/top", "Trouser", "Pullover", "Sneaker")
FASHION = {"classes": [{"name": name} for name in FOUR]}


def api(project_id: int, path: str = "") -> str:
    return f"/api/v1/projects/{project_id}{path}"


@pytest.fixture
def settings(tmp_path: Path, db) -> Settings:  # type: ignore[no-untyped-def]
    """No job threads: a test runs training and pre-labelling itself, so results are known."""
    return Settings(data_dir=tmp_path / "data", database_url=str(db.engine.url), job_workers=0)


def test_learning_policy_is_validated_and_the_token_never_comes_back(app_client: TestClient, factory: Factory) -> None:
    org = factory.org()
    manager = factory.person(org, "manager")
    project = factory.project(org, "image_classes", CLASSES)
    got = app_client.get(api(project.id), headers=manager.headers).json()
    assert got["learning"]["backend"] == "builtin" and got["learning"]["auto_accept"]["enabled"] is False
    assert got["learning"]["auto_accept"]["target_precision"] == 0.99

    bad = app_client.patch(
        api(project.id), headers=manager.headers, json={"learning": {"auto_accept": {"target_precision": 1.5}}}
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "learning.auto_accept.target_precision"
    no_url = app_client.patch(api(project.id), headers=manager.headers, json={"learning": {"backend": "external"}})
    assert no_url.status_code == 422 and "external_url" in no_url.json()["error"]["message"]

    change = {"backend": "external", "external_url": "http://127.0.0.1:9/", "external_token": "s3cret",
              "auto_accept": {"enabled": True}}  # fmt: skip
    ok = app_client.patch(api(project.id), headers=manager.headers, json={"learning": change})
    assert ok.status_code == 200, ok.text
    learning = ok.json()["learning"]
    assert learning["external_token"] == "********" and learning["auto_accept"]["enabled"] is True
    assert learning["auto_accept"]["audit_rate"] == 0.05  # the nested policy was merged, not replaced
    # sending the mask back (as a form does) keeps the stored token
    again = app_client.patch(api(project.id), headers=manager.headers, json={"learning": learning})
    assert again.status_code == 200
    audit = app_client.get("/api/v1/audit", headers=factory.person(org, "owner").headers).json()
    assert "s3cret" not in str(audit)


def test_status_guidelines_and_permissions(app_client: TestClient, factory: Factory) -> None:
    org = factory.org()
    manager, viewer, annotator = factory.person(org, "manager"), factory.person(org, "viewer"), factory.person(org)
    project = factory.project(org, "image_classes", CLASSES)
    status = app_client.get(api(project.id, "/models/status"), headers=viewer.headers)
    assert status.status_code == 200
    body = status.json()
    assert body["active"] is None and body["versions"] == 0 and body["ml_extra"]["installed"] is True
    assert app_client.get(api(project.id, "/models/status"), headers=annotator.headers).status_code == 403
    assert app_client.post(api(project.id, "/models/train"), headers=viewer.headers).status_code == 403
    assert app_client.get(api(project.id, "/models/7"), headers=manager.headers).status_code == 404

    put = app_client.put(
        api(project.id, "/guidelines"), headers=manager.headers,
        json={"classes": ["dog", "cat"], "note": "Cats have vertical pupils; look at the eyes."},
    )  # fmt: skip
    assert put.status_code == 200 and put.json()["classes"] == ["cat", "dog"]
    unknown = app_client.put(api(project.id, "/guidelines"), headers=manager.headers,
                             json={"classes": ["cat", "cow"], "note": "x"})  # fmt: skip
    assert unknown.status_code == 422 and "cow" in unknown.json()["error"]["message"]
    assert app_client.put(api(project.id, "/guidelines"), headers=annotator.headers,
                          json={"classes": ["cat", "dog"], "note": "x"}).status_code == 403  # fmt: skip
    listed = app_client.get(api(project.id, "/guidelines"), headers=manager.headers).json()
    assert listed == [{"classes": ["cat", "dog"], "note": "Cats have vertical pupils; look at the eyes."}]
    removed = app_client.put(api(project.id, "/guidelines"), headers=manager.headers,
                             json={"classes": ["cat", "dog"], "note": " "})  # fmt: skip
    assert removed.status_code == 204
    assert app_client.get(api(project.id, "/guidelines"), headers=manager.headers).json() == []

    too_few = app_client.post(api(project.id, "/models/train?background=false"), headers=manager.headers)
    assert too_few.status_code == 200
    assert too_few.json()["result"]["status"] == "skipped"
    assert app_client.post(api(project.id, "/models/train"), headers=manager.headers).status_code == 202


def test_a_trained_version_prelabels_what_annotators_lease(
    app_client: TestClient, factory: Factory, tmp_path: Path
) -> None:
    org = factory.org()
    manager, annotator = factory.person(org, "manager"), factory.person(org)
    project = factory.project(org, "image_classes", FASHION, learning={"min_train_items": 30})
    folder = tmp_path / "fashion"
    folder.mkdir()
    truth = {}
    for png, label, index in iter_fashion_mnist():
        if label in FOUR and len(truth) < 100:
            (folder / f"{index:05d}.png").write_bytes(png)
            truth[index] = label
    factory.files(project, folder)
    page = app_client.get(api(project.id, "/items?limit=100"), headers=manager.headers).json()
    label_of = {row["item"]["id"]: truth[int(Path(row["item"]["meta"]["file_name"]).stem)] for row in page["items"]}
    assert len(label_of) == 100
    for _ in range(2):
        leased = app_client.post(api(project.id, "/next?count=40"), headers=annotator.headers).json()
        for task in leased:
            body = {"task_id": task["task_id"], "client_id": str(uuid.uuid4()),
                    "value": {"labels": [label_of[task["task_id"]]]}}  # fmt: skip
            assert (
                app_client.post(api(project.id, "/annotations"), headers=annotator.headers, json=body).status_code
                == 201
            )
    assert app_client.post(api(project.id, "/consensus/refresh"), headers=manager.headers).status_code == 200

    trained = app_client.post(api(project.id, "/models/train?background=false"), headers=manager.headers).json()
    assert trained["result"]["status"] == "active", trained
    versions = app_client.get(api(project.id, "/models"), headers=manager.headers).json()
    assert [v["version"] for v in versions] == [1] and versions[0]["status"] == "active"
    assert versions[0]["comparison"]["reason"] == "first version"
    assert versions[0]["metrics"]["cross_validated"]["accuracy"] > 0.7

    run = app_client.post(api(project.id, "/models/prelabel?background=false"), headers=manager.headers).json()
    assert run["result"]["predicted"] == 100
    leased = app_client.post(api(project.id, "/next?count=5"), headers=annotator.headers).json()
    assert leased and all(any(p["model_version"] == "v1" for p in t["predictions"]) for t in leased)
    status = app_client.get(api(project.id, "/models/status"), headers=manager.headers).json()
    assert status["active"]["version"] == 1 and status["predicted"] == 100 and status["embedded"] == 100
    report = app_client.get(api(project.id, "/quality"), headers=manager.headers).json()
    assert isinstance(report["confused_pairs"], list)
