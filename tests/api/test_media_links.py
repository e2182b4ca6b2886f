"""Signed media links for a client's model server: the key, the signature, and GET /media/{id} with no login."""

from __future__ import annotations

import shutil
import stat
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from kolam.errors import Forbidden
from kolam.services import media_links
from kolam.settings import Settings
from kolam.store.db import Database
from kolam.store.tables import AuditEvent, Item, Organization, Project
from tests.factories import Factory

DATA = Path(__file__).resolve().parents[1] / "data"
NOW = 1_800_000_000.0


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# The key and the signature (no database).


def test_url_shape_and_verify_with_a_fixed_clock(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, public_url="https://kolam.example/")
    url = media_links.signed_media_url(settings, 42, ttl=600, now=NOW)
    assert url.startswith(f"https://kolam.example/api/v1/media/42?exp={int(NOW) + 600}&sig=")
    sig = _query(url)["sig"]
    assert len(sig) == 64 and int(sig, 16) >= 0
    assert media_links.verify(settings, 42, int(NOW) + 600, sig, now=NOW) == 600
    assert media_links.verify(settings, 42, int(NOW) + 600, sig, now=NOW + 599.5) == 0
    with pytest.raises(Forbidden, match="expired"):
        media_links.verify(settings, 42, int(NOW) + 600, sig, now=NOW + 600)
    with pytest.raises(Forbidden, match="wrong signature"):
        media_links.verify(settings, 43, int(NOW) + 600, sig, now=NOW)
    with pytest.raises(Forbidden, match="wrong signature"):
        media_links.verify(settings, 42, int(NOW) + 601, sig, now=NOW)
    with pytest.raises(Forbidden, match="wrong signature"):
        media_links.verify(settings, 42, int(NOW) + 600, "é" + sig[1:], now=NOW)


def test_the_key_is_made_once_private_and_kept_across_settings(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path / "data")
    url = media_links.signed_media_url(first, 7, now=NOW)
    key_file = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) == 64
    second = Settings(data_dir=tmp_path / "data")
    assert media_links.signed_media_url(second, 7, now=NOW) == url
    assert media_links.verify(second, 7, int(_query(url)["exp"]), _query(url)["sig"], now=NOW) == 3600
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["secret.key"]  # no temporary file left


def _race(path: Path, threads: int) -> list[bytes]:
    barrier = threading.Barrier(threads)
    keys: list[bytes] = []

    def make() -> None:
        barrier.wait()
        keys.append(media_links.load_or_create_key(path))

    started = [threading.Thread(target=make) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return keys


def test_racing_threads_end_up_with_one_key(tmp_path: Path) -> None:
    for attempt in range(10):
        path = tmp_path / str(attempt) / "secret.key"
        keys = _race(path, 8)
        assert len(keys) == 8 and len(set(keys)) == 1
        assert keys[0] == path.read_text().strip().encode()
        assert [p.name for p in path.parent.iterdir()] == ["secret.key"]


def test_kolam_secret_key_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from_file = media_links.signed_media_url(Settings(data_dir=tmp_path / "a"), 7, now=NOW)
    monkeypatch.setenv("KOLAM_SECRET_KEY", "k" * 40)
    with_env = Settings(data_dir=tmp_path / "b")
    assert media_links.signing_key(with_env) == b"k" * 40
    from_env = media_links.signed_media_url(with_env, 7, now=NOW)
    assert _query(from_env)["sig"] != _query(from_file)["sig"]
    assert not (tmp_path / "b").exists()  # no key file was made
    assert "k" * 40 not in repr(with_env)
    # The file's text works as KOLAM_SECRET_KEY: copying it keeps links that were already handed out valid.
    monkeypatch.setenv("KOLAM_SECRET_KEY", (tmp_path / "a" / "secret.key").read_text().strip())
    moved = Settings(data_dir=tmp_path / "c")
    assert media_links.verify(moved, 7, int(_query(from_file)["exp"]), _query(from_file)["sig"], now=NOW) == 3600
    monkeypatch.setenv("KOLAM_SECRET_KEY", "too short")
    with pytest.raises(ValueError, match="at least 32"):
        Settings(data_dir=tmp_path / "d")


# The route, on SQLite and PostgreSQL.


@pytest.fixture
def org(factory: Factory) -> Organization:
    return factory.org()


def _import(factory: Factory, org: Organization, kind: str, source: Path, folder: Path) -> Project:
    folder.mkdir()
    shutil.copy(source, folder / source.name)
    project = factory.project(org, kind)
    factory.files(project, folder)
    return project


@pytest.fixture
def media(factory: Factory, org: Organization, db: Database, tmp_path: Path) -> dict[str, int]:
    """Item ids of a stored photo and a stored speech clip, by file name."""
    photos = _import(factory, org, "image_classes", DATA / "photo_china.jpg", tmp_path / "photos")
    speech = _import(factory, org, "transcription", DATA / "speech_en_hello_world.wav", tmp_path / "speech")
    with db.read() as s:
        rows = s.execute(sa.select(Item.meta, Item.id).where(Item.project_id.in_([photos.id, speech.id]))).all()
    return {meta["file_name"]: item_id for meta, item_id in rows}


def test_a_signed_link_serves_the_original_bytes_without_login(
    app_client: TestClient, settings: Settings, media: dict[str, int]
) -> None:
    cases = {"photo_china.jpg": "image/jpeg", "speech_en_hello_world.wav": ("audio/wav", "audio/x-wav")}
    for name, mime in cases.items():
        url = media_links.signed_media_url(settings, media[name], ttl=300)
        assert url.startswith(f"{settings.effective_public_url}/api/v1/media/{media[name]}?")
        response = app_client.get(_path(url))  # no token, no cookie
        assert response.status_code == 200, response.text
        assert response.content == (DATA / name).read_bytes()
        assert response.headers["content-type"] in ((mime,) if isinstance(mime, str) else mime)
        directive, max_age = response.headers["cache-control"].split(", ")
        assert directive == "private" and 290 <= int(max_age.removeprefix("max-age=")) <= 300
        assert response.headers["x-content-type-options"] == "nosniff"


def test_the_read_is_in_the_audit_trail(
    app_client: TestClient, settings: Settings, db: Database, org: Organization, media: dict[str, int]
) -> None:
    item_id = media["photo_china.jpg"]
    url = media_links.signed_media_url(settings, item_id)
    assert app_client.get(_path(url), headers={"User-Agent": "model-server/1.0"}).status_code == 200
    with db.read() as s:
        events = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "media.signed_read")).all()
    assert len(events) == 1
    event = events[0]
    assert (event.org_id, event.user_id, event.object_type, event.object_id) == (
        org.id,
        None,
        "item",
        str(item_id),
    )
    assert (event.via, event.user_agent) == ("signed_link", "model-server/1.0")
    assert event.details["exp"] == int(_query(url)["exp"])


def test_altered_links_are_refused(
    app_client: TestClient, settings: Settings, db: Database, media: dict[str, int]
) -> None:
    url = media_links.signed_media_url(settings, media["photo_china.jpg"])
    q = _query(url)
    other_sig = "0" if q["sig"][0] != "0" else "1"
    altered = {
        "item id": f"/api/v1/media/{media['speech_en_hello_world.wav']}?exp={q['exp']}&sig={q['sig']}",
        "exp": f"/api/v1/media/{media['photo_china.jpg']}?exp={int(q['exp']) + 86400}&sig={q['sig']}",
        "sig": f"/api/v1/media/{media['photo_china.jpg']}?exp={q['exp']}&sig={other_sig}{q['sig'][1:]}",
        "no sig": f"/api/v1/media/{media['photo_china.jpg']}?exp={q['exp']}",
        "nothing": f"/api/v1/media/{media['photo_china.jpg']}",
    }
    for what, path in altered.items():
        response = app_client.get(path)
        assert response.status_code == 403, what
        assert response.json()["error"]["code"] == "bad_signature", what
    with db.read() as s:
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "media.signed_read"))
            == 0
        )


def test_an_expired_link_says_so(app_client: TestClient, settings: Settings, media: dict[str, int]) -> None:
    item_id = media["photo_china.jpg"]
    url = media_links.signed_media_url(settings, item_id, ttl=60, now=time.time() - 120)
    response = app_client.get(_path(url))
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "link_expired" and "expired" in error["message"]


def test_items_without_a_stored_file_are_not_found(
    app_client: TestClient, settings: Settings, factory: Factory, org: Organization
) -> None:
    texts = factory.project(org, "text_classes")
    factory.texts(texts, 1)
    urls = factory.project(org, "image_classes")
    factory.image_urls(urls, 1)
    (text_id,), (url_only_id,) = factory.task_ids(texts), factory.task_ids(urls)
    for what, item_id in {"unknown": 10**9, "text": text_id, "url only": url_only_id}.items():
        response = app_client.get(_path(media_links.signed_media_url(settings, item_id)))
        assert response.status_code == 404, what
        assert response.json()["error"]["field"] == "item_id", what
