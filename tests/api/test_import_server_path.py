"""Importing a folder that lies on the server: only under KOLAM_IMPORT_ROOTS."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image

from kolam.api.app import create_app
from kolam.settings import Settings
from tests.factories import Factory


def _images(folder: Path, n: int) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        Image.new("RGB", (32, 24), (i * 40 % 256, 80, 160)).save(folder / f"photo-{i}.png")


def test_folder_under_an_import_root(tmp_path: Path, db, settings: Settings, factory: Factory):
    root = tmp_path / "incoming"
    _images(root / "batch1", 3)
    configured = settings.model_copy(update={"import_roots": [root]})
    org = factory.org()
    manager = factory.person(org, "manager")
    project = factory.project(org, "image_classes")
    with TestClient(create_app(configured, db=db, migrate=False)) as client:
        url = f"/api/v1/projects/{project.id}/imports/from-path"
        done = client.post(url, headers=manager.headers, json={"path": str(root / "batch1")})
        assert done.status_code == 201, done.text
        assert (done.json()["items_created"], done.json()["status"]) == (3, "done")
        outside = client.post(url, headers=manager.headers, json={"path": str(tmp_path)})
        assert outside.status_code == 422
        assert outside.json()["error"]["field"] == "path"
        escape = client.post(url, headers=manager.headers, json={"path": str(root / ".." / "elsewhere")})
        assert escape.status_code == 422
        items = client.get(f"/api/v1/projects/{project.id}/items", headers=manager.headers).json()["items"]
        first = items[0]["item"]
        assert first["mime_type"] == "image/png"
        content = client.get(first["content_url"], headers=manager.headers)
        assert content.status_code == 200
        assert content.content.startswith(b"\x89PNG")
        cached = client.get(first["content_url"], headers={**manager.headers, "If-None-Match": content.headers["etag"]})
        assert cached.status_code == 304


def test_without_import_roots_nothing_on_the_server_is_readable(app_client: TestClient, factory: Factory, tmp_path):
    org = factory.org()
    manager = factory.person(org, "manager")
    project = factory.project(org, "image_classes")
    _images(tmp_path / "x", 1)
    response = app_client.post(
        f"/api/v1/projects/{project.id}/imports/from-path", headers=manager.headers, json={"path": str(tmp_path / "x")}
    )
    assert response.status_code == 422
    assert "KOLAM_IMPORT_ROOTS" in response.json()["error"]["message"]
