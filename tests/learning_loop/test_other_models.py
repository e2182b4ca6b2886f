"""Pre-labelling with the packaged box detector and speech model, and with a client's own model server in
Label Studio's protocol, through the job's entry point (``prelabel_run.prelabel``), on real data."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

pytest.importorskip("onnxruntime")

from kolam.demo.datasets import iter_speech_clips
from kolam.labels.answers import validate_answer
from kolam.labels.schema import parse_schema
from kolam.services import prelabel_run, resolve
from kolam.services.assignment import lease_tasks
from kolam.services.submissions import Submission, submit
from kolam.store.db import Database
from kolam.store.tables import Item, Prediction, Project
from kolam.store.tables_learning import ModelVersion
from tests.factories import Factory

BACKEND = Path(__file__).parents[1] / "models" / "ls_backend_example.py"
TOKEN = "loop-token"


def _predictions(db: Database, project: Project) -> dict[int, Prediction]:
    with db.read() as s:
        rows = s.scalars(
            sa.select(Prediction).where(Prediction.project_id == project.id, Prediction.model_id.is_not(None))
        ).all()
        return {p.task_id: p for p in rows}


def _run(db: Database, factory: Factory, project: Project, tmp_path: Path) -> prelabel_run.PrelabelSummary:
    return prelabel_run.prelabel(db, factory.blobs, project.id, settings=factory.settings)


def test_the_detector_proposes_boxes_named_by_the_project_labels(factory: Factory, db: Database, tmp_path: Path):
    skimage_data = pytest.importorskip("skimage.data")
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("astronaut", "chelsea"):
        buffer = io.BytesIO()
        Image.fromarray(getattr(skimage_data, name)()).save(buffer, format="PNG")
        (folder / f"{name}.png").write_bytes(buffer.getvalue())
    org = factory.org()
    schema = {"labels": [{"name": "People"}, {"name": "Cat"}]}
    project = factory.project(org, "image_boxes", schema=schema)
    factory.files(project, folder)
    summary = _run(db, factory, project, tmp_path)
    assert summary.model == "nanodet-m" and summary.predicted == 2
    predictions = _predictions(db, project)
    parsed = parse_schema("image_boxes", schema)
    labels = set()
    for p in predictions.values():
        validate_answer(parsed, p.value)
        labels |= {b["label"] for b in p.value["boxes"]}
    assert {"People", "Cat"} <= labels
    with db.read() as s:
        version = s.scalar(sa.select(ModelVersion).where(ModelVersion.project_id == project.id))
    assert version is not None and version.backend == "builtin:nanodet-m" and version.status == "active"
    # a second run predicts nothing new: every item already has this version's proposal
    assert _run(db, factory, project, tmp_path).predicted == 0


def test_whisper_writes_draft_transcripts_with_segment_times(factory: Factory, db: Database, tmp_path: Path):
    folder = tmp_path / "clips"
    folder.mkdir()
    references = {}
    for data, clip in iter_speech_clips():
        if clip.language == "en" and not clip.synthetic and len(references) < 2:
            (folder / Path(clip.file).name).write_bytes(data)
            references[Path(clip.file).name] = clip.reference
    org = factory.org()
    schema = {"languages": ["en"]}
    project = factory.project(org, "transcription", schema=schema)
    factory.files(project, folder)
    summary = _run(db, factory, project, tmp_path)
    assert summary.model == "whisper-base" and summary.predicted == 2
    parsed = parse_schema("transcription", schema)
    with db.read() as s:
        names = {i.id: i.meta.get("file_name") for i in s.scalars(sa.select(Item).where(Item.project_id == project.id))}
    for task_id, p in _predictions(db, project).items():
        validate_answer(parsed, p.value)
        text = " ".join(seg["text"] for seg in p.value["segments"]).lower()
        first_word = references[names[task_id]].split()[0].lower().strip(".,!?")
        assert first_word in text


@pytest.fixture
def backend() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, str(BACKEND), "--port", str(port)], env={**os.environ, "BACKEND_TOKEN": TOKEN}
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", headers={"Authorization": f"Token {TOKEN}"}).status_code == 200:
                    break
            except httpx.ConnectError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "example backend did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_model_server_is_retrained_on_settled_answers_and_then_prelabels(
    factory: Factory, db: Database, tmp_path: Path, backend: str
):
    org = factory.org()
    schema = {"classes": [{"name": "spam"}, {"name": "ham"}], "multi_label": False}
    learning = {"backend": "external", "external_url": backend, "external_token": TOKEN}
    project = factory.project(org, "text_classes", schema=schema, learning=learning)
    factory.texts(project, 3, prefix="claim your free prize now")
    factory.texts(project, 3, prefix="see you at the lunch meeting")
    person = factory.person(org)
    with db.write() as s:
        leased = lease_tasks(s, person.actor, project.id, count=6)
    for task in leased:
        label = "spam" if "prize" in task.item["text"] else "ham"
        with db.write() as s:
            submit(s, person.actor, project.id, Submission(task.task_id, str(uuid.uuid4()), {"labels": [label]}))
    resolve.resolve_project(db, project.id)
    first = _run(db, factory, project, tmp_path)  # an untrained server proposes nothing
    assert first.predicted == 0
    sent = prelabel_run.retrain_external(db, project.id, settings=factory.settings)
    assert sent["status"] == "sent" and sent["items"] == 6
    second = _run(db, factory, project, tmp_path)
    assert second.predicted == 6
    with db.read() as s:
        texts = dict(s.execute(sa.select(Item.id, Item.text).where(Item.project_id == project.id)).all())
    for task_id, p in _predictions(db, project).items():
        assert p.value["labels"] == ["spam" if "prize" in texts[task_id] else "ham"]
        assert p.model_version.startswith("nearest-")
