"""Pre-labelling, whatever the project's model: the entry point of the pre-label job (``prelabel``), and the
models without a trained head: packaged box and speech models, and the client's own model server.

- Box projects: NanoDet-m (COCO) proposes boxes; COCO classes that match a project label are named, the rest
  come as unlabelled boxes for the annotator to name. Once the project's corrections were learnt
  (``box_training``), the active version's training holds them: learnt labels replace the synonyms, and a
  class's boxes under the score where people deleted most of them are no longer offered; a class people name
  in several ways is named by a head on its boxes' image features, when one was learnt.
- Transcription projects: Whisper base writes a draft with segment times, in the item's language (its
  ``meta.language`` when it is one of the project's languages, else the project's first).
- External backend (any kind): the Label Studio-compatible server at ``learning.external_url`` predicts; it
  is asked to retrain (``START_TRAINING`` with the settled answers) when enough new answers are settled.

Each packaged model gets one model version row per project (backend ``builtin:<name>``) so every prediction
names the version that made it. Only items without a prediction from the current version are predicted, in
batches, each written in its own short transaction: a re-run continues where a killed one stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa

from kolam.errors import KolamError
from kolam.labels.schema import ImageBoxesSchema, LabelSchemaDef, TranscriptionSchema
from kolam.learning.box_corrections import BoxCorrections, name_boxes, offered
from kolam.models import builtin
from kolam.models.base import ItemPrediction, ModelItem
from kolam.services import media_links
from kolam.services.box_training import CropNamer, crop_namer, learnt_corrections
from kolam.services.embeddings import encoder_name
from kolam.services.learning_settings import LearningSettings, stored_learning
from kolam.services.model_versions import active_version, add_version, promote
from kolam.services.prelabel import PrelabelSummary, prelabel_project
from kolam.services.projects import current_schema
from kolam.settings import Settings
from kolam.store.blobs import BlobStore
from kolam.store.db import Database
from kolam.store.tables import Consensus, Item, Prediction, Project, Task
from kolam.store.tables_learning import ModelVersion
from kolam.store.types import utcnow
from kolam.store.upsert import insert_missing

BATCH = 16
_predictions = cast(sa.Table, Prediction.__table__)


def _version(db: Database, project_id: int, backend: str, version_name: str | None = None) -> ModelVersion:
    """The project's active version for this backend, made (and activated) on first use."""
    with db.write() as session:
        row = active_version(session, project_id)
        if row is None or row.backend != backend:
            row = add_version(session, project_id, backend, classes=[], training={"packaged": version_name or backend})
            promote(session, row)
        session.commit()
        session.expunge(row)
        return row


def _unpredicted(db: Database, project_id: int, model_id: int, limit: int | None = None) -> list[Any]:
    with db.read() as session:
        predicted = sa.select(Prediction.task_id).where(
            Prediction.project_id == project_id, Prediction.model_id == model_id
        )
        query = (
            sa.select(Item.id, Item.media, Item.text, Item.blob_key, Item.mime_type, Item.meta)
            .join(Task, Task.item_id == Item.id)
            .where(Item.project_id == project_id, Task.state != "staged", Item.id.not_in(predicted))
            .order_by(Task.priority.desc(), Item.id)
        )
        return list(session.execute(query.limit(limit) if limit else query).all())


def _write(db: Database, project_id: int, version: ModelVersion, label: str, predictions: list[ItemPrediction]) -> None:
    now = utcnow()
    with db.write() as session:
        ids = [p.item_id for p in predictions]
        session.execute(
            _predictions.delete().where(_predictions.c.task_id.in_(ids), _predictions.c.model_id.is_not(None))
        )
        insert_missing(
            session, _predictions,
            [{"project_id": project_id, "task_id": p.item_id, "model_version": label[:100], "model_id": version.id,
              "value": p.value, "confidence": p.confidence, "distribution": p.distribution, "created_at": now}
             for p in predictions],
        )  # fmt: skip
        session.commit()


def _read_content(blobs: BlobStore, blob_key: str | None) -> bytes | None:
    if blob_key is None:
        return None
    with blobs.open(blob_key) as handle:
        return handle.read()


def _run(
    db: Database, blobs: BlobStore, project_id: int, version: ModelVersion, label: str,
    predict: Callable[[list[ModelItem]], list[ItemPrediction]], summary: PrelabelSummary,
) -> PrelabelSummary:  # fmt: skip
    rows = _unpredicted(db, project_id, version.id)
    for start in range(0, len(rows), BATCH):
        items = []
        for row in rows[start : start + BATCH]:
            try:
                data = None if row.media == "text" else _read_content(blobs, row.blob_key)
            except OSError:
                data = None
            if row.media != "text" and data is None:
                continue
            items.append(ModelItem(row.id, row.media, text=row.text, data=data, mime_type=row.mime_type,
                                   language=(row.meta or {}).get("language"), meta=row.meta or {}))  # fmt: skip
        try:
            predictions = predict(items)
        except KolamError as err:
            summary.reason = f"stopped after {summary.predicted} items: {err.message}"
            return summary
        if predictions:
            _write(db, project_id, version, label, predictions)
            summary.predicted += len(predictions)
    return summary


def _boxes(
    schema: ImageBoxesSchema, corrections: BoxCorrections | None = None, namer: CropNamer | None = None
) -> Callable[[list[ModelItem]], list[ItemPrediction]]:
    from kolam.models.coco import project_mapping

    detector = builtin.detector()
    labels = schema.label_names()
    mapping = project_mapping(labels)
    learnt = corrections or BoxCorrections()

    def predict(items: list[ModelItem]) -> list[ItemPrediction]:
        out = []
        for item in items:
            assert item.data is not None
            try:
                found = detector.detect([item.data])[0]
            except KolamError:
                continue  # an unreadable image gets no proposal; the annotator draws from scratch
            shown = offered(learnt, found)[: schema.max_boxes]
            score = min((float(b["score"]) for b in shown), default=None)
            boxes = name_boxes(learnt, shown, mapping, labels)
            if namer is not None:
                namer.rename(item.data, shown, boxes, labels)
            out.append(ItemPrediction(item.item_id, {"boxes": boxes}, confidence=score))
        return out

    return predict


def _drafts(schema: TranscriptionSchema, models_dir: Path) -> Callable[[list[ModelItem]], list[ItemPrediction]]:
    transcriber = builtin.transcriber(models_dir / "whisper-base")

    def predict(items: list[ModelItem]) -> list[ItemPrediction]:
        out = []
        for item in items:
            assert item.data is not None
            language = item.language if item.language in schema.languages else schema.languages[0]
            try:
                draft = transcriber.transcribe(item.data, language)
            except KolamError:
                continue
            out.append(ItemPrediction(item.item_id, draft.answer(), confidence=None))
        return out

    return predict


def prelabel_packaged(
    db: Database, blobs: BlobStore, project_id: int, schema: LabelSchemaDef, models_dir: Path
) -> PrelabelSummary:
    """Boxes from the COCO detector or draft transcripts from Whisper for every item without one."""
    if isinstance(schema, ImageBoxesSchema):
        name = builtin.DETECTOR
        builtin.detector()  # without the ml extra this fails before a version row is made
        version = _version(db, project_id, f"builtin:{name}", name)
        corrections = learnt_corrections(version)
        predict = _boxes(schema, corrections, crop_namer(blobs, version, corrections))
    elif isinstance(schema, TranscriptionSchema):
        name, predict = builtin.TRANSCRIBER, _drafts(schema, models_dir)
        version = _version(db, project_id, f"builtin:{name}", name)
    else:
        return PrelabelSummary(project_id, None, reason="class projects use the trained head")
    return _run(db, blobs, project_id, version, name, predict, PrelabelSummary(project_id, name))


def prelabel_external(
    db: Database, blobs: BlobStore, project_id: int, schema: LabelSchemaDef, policy: LearningSettings,
    media_url: Callable[[ModelItem], str],
) -> PrelabelSummary:  # fmt: skip
    """Predictions from the client's model server for every item without one from its current version."""
    from kolam.models.external import ExternalModel

    assert policy.external_url is not None
    with ExternalModel(policy.external_url, schema=schema, media_url=media_url, token=policy.external_token,
                       project_id=project_id) as model:  # fmt: skip
        reported = model.setup() or "external"
        version = _version(db, project_id, f"external:{reported}"[:64], reported)
        summary = PrelabelSummary(project_id, reported)
        return _run(db, blobs, project_id, version, reported, model.predict, summary)


def current(db: Database, project_id: int) -> tuple[Project, LabelSchemaDef]:
    with db.read() as session:
        project = session.get(Project, project_id)
        assert project is not None
        schema = current_schema(session, project)
        session.expunge(project)
        return project, schema


def settled_answers(db: Database, project_id: int) -> list[tuple[int, dict[str, Any]]]:
    """(item id, settled value) of every item people settled: what a model server retrains on."""
    with db.read() as session:
        return [
            (row.task_id, row.value)
            for row in session.execute(
                sa.select(Consensus.task_id, Consensus.value).where(
                    Consensus.project_id == project_id, Consensus.status.in_(("agreed", "aggregated", "reviewed"))
                )
            )
        ]


def uses_external_model(db: Database, project_id: int) -> bool:
    project, _ = current(db, project_id)
    return stored_learning(project.learning).backend == "external"


def prelabel(db: Database, blobs: BlobStore, project_id: int, *, settings: Settings) -> PrelabelSummary:
    """Pre-label a project with whatever its learning policy names: the trained head (class projects), a
    packaged model (boxes, transcripts), or the client's model server."""
    project, schema = current(db, project_id)
    policy = stored_learning(project.learning)
    if policy.backend == "none":
        return PrelabelSummary(project_id, None, reason="the project has no model")
    if policy.backend == "external":
        return prelabel_external(db, blobs, project_id, schema, policy, _signed(settings))
    if encoder_name(project.kind) is not None:
        return prelabel_project(db, blobs, project_id)
    return prelabel_packaged(db, blobs, project_id, schema, settings.data_dir / "models")


def _signed(settings: Settings) -> Callable[[ModelItem], str]:
    """Media links a model server downloads with a plain GET: signed, valid for an hour."""
    return lambda item: media_links.signed_media_url(settings, item.item_id)


def retrain_external(db: Database, project_id: int, *, settings: Settings) -> dict[str, Any]:
    """Send the settled answers to the client's model server as a training request (``START_TRAINING``);
    the server trains on its side, and the next pre-label run picks up the version it then reports."""
    from kolam.models.external import ExternalModel

    project, schema = current(db, project_id)
    policy = stored_learning(project.learning)
    if policy.backend != "external" or policy.external_url is None:
        return {"project_id": project_id, "status": "skipped", "reason": "the project has no model server"}
    answers = settled_answers(db, project_id)
    with db.read() as session:
        rows = {
            r.id: r
            for r in session.execute(
                sa.select(Item.id, Item.media, Item.text, Item.mime_type, Item.meta).where(
                    Item.id.in_([item_id for item_id, _ in answers])
                )
            )
        }
    items = [
        ModelItem(i, rows[i].media, text=rows[i].text, mime_type=rows[i].mime_type, meta=rows[i].meta or {})
        for i, _ in answers
    ]

    with ExternalModel(policy.external_url, schema=schema, media_url=_signed(settings), token=policy.external_token,
                       project_id=project_id) as model:  # fmt: skip
        answer = model.train(items, [value for _, value in answers])
    with db.write() as session:
        version = active_version(session, project_id)
        if version is not None and version.backend.startswith("external:"):
            version.training = {**version.training, "items": len(answers), "sent_at": utcnow().isoformat()}
        session.commit()
    return {"project_id": project_id, "status": "sent", "items": len(answers), "server": answer}
