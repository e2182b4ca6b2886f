"""The box detector learns a project's corrections, through the services with the real detector on real photos:
people name the ``person`` boxes "cameraman" and delete the false ``car`` and ``dog`` boxes; ``train_boxes``
learns the name and the score under which cars are no longer offered; the next pre-label run applies both.

Photographs are scikit-image's bundled camera (CC0) and chelsea (CC0), at several sizes and mirrored so each is
a distinct item; the detector finds the cameraman (0.86–0.89) and a false car (0.36–0.40) on nearly every one.
"""

from __future__ import annotations

import io
import uuid
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

pytest.importorskip("onnxruntime")
pytest.importorskip("skimage")

from PIL import Image, ImageOps

from kolam.labels.answers import validate_answer
from kolam.labels.schema import parse_schema
from kolam.learning.box_corrections import BoxCorrections
from kolam.services import model_versions, prelabel_run, resolve, training
from kolam.services.assignment import lease_tasks
from kolam.services.box_training import crops, learnt_corrections, train_boxes
from kolam.services.submissions import Submission, submit
from kolam.store.db import Database
from kolam.store.tables import Consensus, Item, Organization, Prediction, Project
from kolam.store.tables_learning import ModelVersion
from tests.factories import Factory

SKIMAGE = Path(str(files("skimage") / "data"))
SCHEMA = {"labels": [{"name": "cameraman"}, {"name": "cat"}]}


def _photos(folder: Path, name: str, variants: list[tuple[float, bool]]) -> None:
    folder.mkdir(exist_ok=True)
    image = Image.open(SKIMAGE / name).convert("RGB")
    for scale, mirrored in variants:
        variant = image.resize((int(image.width * scale), int(image.height * scale)))
        buffer = io.BytesIO()
        (ImageOps.mirror(variant) if mirrored else variant).save(buffer, format="PNG")
        (folder / f"{Path(name).stem}-{scale}-{int(mirrored)}.png").write_bytes(buffer.getvalue())


def _correct(value: dict[str, Any], label: str = "cameraman") -> dict[str, Any]:
    """What the annotator does: keeps the named boxes, names the largest unnamed one (``label``) when none is
    named (nudged two pixels, as a person redraws it), and deletes the other unnamed boxes."""
    named = [b for b in value["boxes"] if b["label"] is not None]
    if named:
        return {"boxes": named}
    unnamed = sorted(value["boxes"], key=lambda b: -b["w"] * b["h"])[:1]
    return {"boxes": [{**b, "x": b["x"] + 2, "w": b["w"] - 2, "label": label} for b in unnamed]}


def _settle(db: Database, factory: Factory, project: Project, answer: Any) -> int:
    with db.read() as s:
        org = s.get(Organization, project.org_id)
    assert org is not None
    person = factory.person(org)
    with db.write() as s:
        leased = lease_tasks(s, person.actor, project.id, count=100)
    for task in leased:
        with db.write() as s:
            submit(s, person.actor, project.id, Submission(task.task_id, str(uuid.uuid4()), answer(task)))
    resolve.resolve_project(db, project.id)
    with db.read() as s:
        return int(s.scalar(sa.select(sa.func.count()).where(Consensus.project_id == project.id)) or 0)


def _predictions(db: Database, project: Project) -> dict[str, Prediction]:
    """The model's prediction per item, by file name."""
    with db.read() as s:
        rows = s.execute(
            sa.select(Item.meta, Prediction)
            .join(Prediction, Prediction.task_id == Item.id)
            .where(Item.project_id == project.id, Prediction.model_id.is_not(None))
        ).all()
    return {meta["file_name"]: prediction for meta, prediction in rows}


def test_people_s_corrections_rename_and_drop_the_detector_s_boxes(
    factory: Factory, db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    _photos(folder, "camera.png", [(s, m) for s in (1.0, 0.9, 0.8, 0.7, 0.6) for m in (False, True)])
    _photos(folder, "chelsea.png", [(1.0, False), (0.8, True)])
    project = factory.project(factory.org(), "image_boxes", schema=SCHEMA, learning={"min_train_items": 10})
    factory.files(project, folder)
    assert prelabel_run.prelabel(db, factory.blobs, project.id, settings=factory.settings).predicted == 12
    first = _predictions(db, project)
    # before: the cameraman comes unnamed (COCO's "person" is not a project label), beside a false car
    assert all(any(b["label"] is None for b in p.value["boxes"]) for n, p in first.items() if n.startswith("camera"))

    assert _settle(db, factory, project, lambda task: _correct(task.predictions[0]["value"])) == 12
    # the train job's own entry points: enough settled items (the packaged version counts as no training)
    assert training.should_retrain(db, project.id)
    summary = training.train_project(db, factory.blobs, project.id)
    assert summary.status == "active", summary
    assert not training.should_retrain(db, project.id)
    assert summary.items == 12
    with db.read() as s:
        version = s.scalar(
            sa.select(ModelVersion).where(ModelVersion.project_id == project.id, ModelVersion.status == "active")
        )
    assert version is not None and version.backend == "builtin:nanodet-m" and version.version == summary.version
    learnt = version.training["corrections"]
    assert learnt["relabel"] == {"person": "cameraman"}
    assert learnt["relabel_evidence"]["person"] == [10, 10]
    assert set(learnt["min_score"]) == {"car"} and 0.40 <= learnt["min_score"]["car"] < 0.86
    assert 'person named "cameraman"' in summary.reason

    # the next run predicts every item again with the corrections applied
    assert prelabel_run.prelabel(db, factory.blobs, project.id, settings=factory.settings).predicted == 12
    after = _predictions(db, project)
    parsed = parse_schema("image_boxes", SCHEMA)
    for name, prediction in after.items():
        assert prediction.model_id == version.id
        validate_answer(parsed, prediction.value)
        labels = [b["label"] for b in prediction.value["boxes"]]
        if name.startswith("camera"):
            assert labels and set(labels) == {"cameraman"}, (name, labels)  # named, and no car any more
        else:
            assert "cat" in labels  # two dogs deleted are too few to learn from: the dog stays on offer

    # the same answers teach the same rules: kept as rejected, and nothing is predicted again
    again = train_boxes(db, factory.blobs, project.id)
    assert again.status == "rejected" and "same corrections" in again.reason
    assert prelabel_run.prelabel(db, factory.blobs, project.id, settings=factory.settings).predicted == 0

    # a manager rolls back to the detector as it comes: the next run proposes unnamed persons again
    with db.read() as s:
        org = s.get(Organization, project.org_id)
    assert org is not None
    manager = factory.person(org, role="manager")
    with db.write() as s:
        model_versions.promote_by_hand(s, manager.actor, project.id, 1)
    assert prelabel_run.prelabel(db, factory.blobs, project.id, settings=factory.settings).predicted == 12
    rolled = _predictions(db, project)
    assert all(any(b["label"] is None for b in p.value["boxes"]) for n, p in rolled.items() if n.startswith("camera"))


def test_a_class_people_name_two_ways_is_named_by_a_head_on_the_crops(
    factory: Factory, db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    scales = [(s, False) for s in (1.0, 0.9, 0.8, 0.7, 0.6)]
    _photos(folder, "camera.png", scales)
    _photos(folder, "astronaut.png", scales)
    schema = {"labels": [{"name": "astronaut"}, {"name": "cameraman"}]}
    project = factory.project(factory.org(), "image_boxes", schema=schema)
    factory.files(project, folder)
    assert prelabel_run.prelabel(db, factory.blobs, project.id, settings=factory.settings).predicted == 10

    def answer(task: Any) -> dict[str, Any]:
        label = "astronaut" if task.item["meta"]["file_name"].startswith("astronaut") else "cameraman"
        return _correct(task.predictions[0]["value"], label)

    assert _settle(db, factory, project, answer) == 10
    summary = train_boxes(db, factory.blobs, project.id)
    assert summary.status == "active", summary
    # half the persons are astronauts: no rule can name them, the head on their crops can
    assert summary.metrics["crop_head"]["accuracy"] > summary.metrics["crop_head"]["best_single_label"] == 0.5
    with db.read() as s:
        version = s.scalar(sa.select(ModelVersion).where(ModelVersion.version == summary.version))
    assert version is not None and version.artifact_key is not None
    assert version.training["corrections"]["split"] == ["person"] and version.training["corrections"]["relabel"] == {}
    assert "person named by their look" in summary.reason

    assert prelabel_run.prelabel(db, factory.blobs, project.id, settings=factory.settings).predicted == 10
    for name, prediction in _predictions(db, project).items():
        labels = {b["label"] for b in prediction.value["boxes"]}
        assert labels == {"astronaut" if name.startswith("astronaut") else "cameraman"}, (name, labels)


def test_too_few_settled_items_teach_nothing(factory: Factory, db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _photos(folder, "chelsea.png", [(1.0, False), (0.9, False), (0.8, False)])
    project = factory.project(factory.org(), "image_boxes", schema=SCHEMA)
    factory.files(project, folder)
    cat = {"boxes": [{"x": 10, "y": 10, "w": 100, "h": 100, "label": "cat"}]}
    assert _settle(db, factory, project, lambda task: cat) == 3
    summary = train_boxes(db, factory.blobs, project.id)
    assert summary.status == "skipped" and summary.reason == "3 settled items; learning from corrections needs 10"
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).where(ModelVersion.project_id == project.id)) == 0


def test_a_class_project_has_no_box_detector_to_teach(factory: Factory, db: Database) -> None:
    project = factory.project(factory.org(), "image_classes")
    summary = train_boxes(db, factory.blobs, project.id)
    assert summary.status == "skipped" and summary.reason == "image_classes projects have no box detector"


def test_crops_are_cut_from_the_upright_image_and_at_its_edges() -> None:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 40 wide and 20 high, shown rotated: 20 wide and 40 high
    Image.new("RGB", (40, 20), "white").save(buffer, format="JPEG", exif=exif.tobytes())
    boxes = [{"x": 0, "y": 0, "w": 20, "h": 40}, {"x": 10, "y": 30, "w": 50, "h": 50}]
    sizes = [Image.open(io.BytesIO(crop)).size for crop in crops(buffer.getvalue(), boxes)]
    assert sizes == [(20, 40), (10, 10)]


def test_unreadable_stored_corrections_are_ignored() -> None:
    version = ModelVersion(id=1, training={"corrections": {"relabel": {"person": 3}}})
    assert learnt_corrections(version) == BoxCorrections()
    assert learnt_corrections(None) == BoxCorrections()
