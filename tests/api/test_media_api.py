"""GET /items/{id}/display and /peaks (contract A): who may fetch them, caching, derivation on the spot, the
fallback to the original for a file that cannot be derived, and the item payload that points to them."""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

import av
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from PIL import Image

from kolam.api.app import create_app
from kolam.services import media
from kolam.store.tables import AuditEvent, Derivative, Organization, Project
from tests.factories import Factory, Person

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def org(factory: Factory) -> Organization:
    return factory.org()


@pytest.fixture
def annotator(factory: Factory, org: Organization) -> Person:
    return factory.person(org, "annotator")


@pytest.fixture
def photos(factory: Factory, org: Organization, tmp_path: Path) -> Project:
    folder = tmp_path / "photos"
    folder.mkdir()
    out = folder / "big.jpg"
    Image.open(DATA / "photo_china.jpg").resize((1920, 1281)).save(out, "JPEG", quality=92)
    (folder / "broken.jpg").write_bytes((DATA / "photo_china.jpg").read_bytes()[:3000])
    project = factory.project(org, "image_boxes")
    factory.files(project, folder)
    return project


@pytest.fixture
def speech(factory: Factory, org: Organization, tmp_path: Path) -> Project:
    folder = tmp_path / "speech"
    folder.mkdir()
    shutil.copy(DATA / "speech_en_hello_world.wav", folder / "hello.wav")
    project = factory.project(org, "transcription")
    factory.files(project, folder)
    return project


def _lease(client: TestClient, person: Person, project: Project, count: int = 10) -> list[dict]:
    response = client.post(f"/api/v1/projects/{project.id}/next?count={count}", headers=person.headers)
    assert response.status_code == 200, response.text
    return response.json()["tasks"] if isinstance(response.json(), dict) else response.json()


def _by_name(tasks: list[dict]) -> dict[str, dict]:
    return {t["item"]["meta"]["file_name"]: t["item"] for t in tasks}


def test_display_is_derived_on_the_spot_and_cached_for_good(app_client: TestClient, annotator: Person, photos):
    item = _by_name(_lease(app_client, annotator, photos))["big.jpg"]
    assert item["display_url"].startswith(f"/api/v1/items/{item['id']}/display?v={media.DERIVATION_VERSION}-")
    assert "width" not in item  # not derived yet: the size is not known
    response = app_client.get(item["display_url"], headers=annotator.headers)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert response.headers["x-kolam-original-width"] == "1920"
    assert response.headers["x-kolam-original-height"] == "1281"
    assert response.headers["content-type"] in ("image/webp", "image/jpeg")
    assert len(response.content) <= 30_000
    assert max(Image.open(io.BytesIO(response.content)).size) <= 1280
    etag = response.headers["etag"]
    again = app_client.get(item["display_url"], headers={**annotator.headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_payload_carries_the_original_size_once_derived(app_client: TestClient, factory: Factory, photos, org):
    media.derive_items(factory.db, factory.blobs, factory.task_ids(photos))
    annotator = factory.person(org, "annotator")
    items = _by_name(_lease(app_client, annotator, photos))
    assert (items["big.jpg"]["width"], items["big.jpg"]["height"]) == (1920, 1281)
    assert "width" not in items["broken.jpg"]
    assert items["big.jpg"]["content_url"] == f"/api/v1/items/{items['big.jpg']['id']}/content"


def test_an_underivable_file_falls_back_to_the_original(app_client, annotator: Person, photos, caplog):
    item = _by_name(_lease(app_client, annotator, photos))["broken.jpg"]
    with caplog.at_level("WARNING"):
        response = app_client.get(item["display_url"], headers=annotator.headers)
    assert response.status_code == 200
    assert response.content == (DATA / "photo_china.jpg").read_bytes()[:3000]
    assert response.headers["content-type"] == "image/jpeg"
    assert any("serving the original" in r.getMessage() for r in caplog.records)


def test_audio_display_and_peaks(app_client: TestClient, annotator: Person, speech: Project):
    (task,) = _lease(app_client, annotator, speech)
    item = task["item"]
    assert item["peaks_url"].startswith(f"/api/v1/items/{item['id']}/peaks?v=")
    sound = app_client.get(item["display_url"], headers=annotator.headers)
    assert sound.status_code == 200 and sound.headers["content-type"].startswith("audio/ogg")
    with av.open(io.BytesIO(sound.content)) as container:
        assert container.streams.audio[0].codec_context.name == "opus"
    peaks = app_client.get(item["peaks_url"], headers=annotator.headers)
    assert peaks.status_code == 200 and peaks.headers["content-type"] == "application/json"
    body = peaks.json()
    assert body["rate"] == 50 and len(body["peaks"]) > 50 and body["duration"] > 1
    etag = peaks.headers["etag"]
    assert app_client.get(item["peaks_url"], headers={**annotator.headers, "If-None-Match": etag}).status_code == 304


def test_an_image_has_no_peaks(app_client: TestClient, annotator: Person, photos):
    item = _by_name(_lease(app_client, annotator, photos))["big.jpg"]
    response = app_client.get(f"/api/v1/items/{item['id']}/peaks", headers=annotator.headers)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_who_may_fetch(app_client: TestClient, factory: Factory, org, photos):
    ids = factory.task_ids(photos)
    url = f"/api/v1/items/{ids[0]}/display"
    assert app_client.get(url).status_code == 401
    stranger = factory.person(factory.org(), "owner")
    assert app_client.get(url, headers=stranger.headers).status_code == 404  # another tenant: as if absent
    idle = factory.person(org, "annotator")
    assert app_client.get(url, headers=idle.headers).status_code == 404  # an annotator without the lease
    manager = factory.person(org, "manager")
    assert app_client.get(url, headers=manager.headers).status_code == 200
    with factory.db.read() as s:
        audited = s.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.object_id == str(ids[0]))
        )
    assert audited and audited >= 1


def test_text_items_have_no_display(app_client: TestClient, factory: Factory, org, annotator: Person):
    project = factory.project(org, "text_classes")
    factory.texts(project, 1)
    (task,) = _lease(app_client, annotator, project)
    assert "display_url" not in task["item"]
    response = app_client.get(f"/api/v1/items/{task['item']['id']}/display", headers=annotator.headers)
    assert response.status_code == 404


def test_a_derivative_of_an_older_recipe_is_derived_again(app_client, factory: Factory, annotator: Person, photos):
    item = _by_name(_lease(app_client, annotator, photos))["big.jpg"]
    media.derive_items(factory.db, factory.blobs, [item["id"]])
    with factory.db.write() as s:
        s.execute(sa.update(Derivative).values(version=0, width=1, height=1))
        s.commit()
    response = app_client.get(item["display_url"], headers=annotator.headers)
    assert response.headers["x-kolam-original-width"] == "1920"


def test_an_import_is_derived_by_the_server_own_job_consumer(settings, db, factory: Factory, org, tmp_path: Path):
    folder = tmp_path / "roots" / "photos"
    folder.mkdir(parents=True)
    shutil.copy(DATA / "photo_china.jpg", folder / "china.jpg")
    Image.open(DATA / "photo_china.jpg").resize((1600, 1068)).save(folder / "big.jpg", quality=90)
    project = factory.project(org, "image_classes")
    manager = factory.person(org, "manager")
    served = settings.model_copy(update={"import_roots": [tmp_path / "roots"]})
    with TestClient(create_app(served, db=db, migrate=False)) as client:
        response = client.post(
            f"/api/v1/projects/{project.id}/imports/from-path", json={"path": str(folder)}, headers=manager.headers
        )
        assert response.status_code == 201, response.text
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with db.read() as s:
                sizes = sorted((w, h) for w, h in s.execute(sa.select(Derivative.width, Derivative.height)))
            if len(sizes) == 2:
                break
            time.sleep(0.1)
    assert sizes == [(640, 427), (1600, 1068)]
