"""Teaching a box project's COCO detector what its people corrected: the labels they give each COCO class's
boxes and the scores below which they delete them (``kolam.learning.box_corrections``).

The detector is run again on the settled items instead of reading its stored predictions: those lost each box's
COCO class and score (a prediction's value is an answer, pre-filled in the workspace, and ``Box`` forbids extra
keys), and once corrections are in use they are already corrected: dropped boxes are gone, so learning from them
would only ever raise a threshold. The detector is deterministic: this is what people were shown, before
corrections.

A COCO class people name in several ways (persons who are astronauts or cameramen) no rule can name: when two
labels have five settled boxes each, a softmax head learns the labels from the image features (EfficientNet-
Lite0) of people's boxes, and names those classes' proposals if, out of fold, it beats the most common label.

The result is a new model version (backend ``builtin:nanodet-m``, as ``prelabel_run`` makes it) with the
corrections in its training record and the head, if any, as its artifact; promoted, it makes the next pre-label
run predict every item again. A version that learnt the same rules as the active one (and no head) is kept as
rejected: re-predicting everything would change nothing. Gold items are never learnt from, as for class heads.
"""

from __future__ import annotations

import copy
import io
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray

from kolam.errors import KolamError
from kolam.labels.schema import ImageBoxesSchema
from kolam.learning import one_blas_thread
from kolam.learning.box_corrections import BoxCorrections, BoxDicts, learn_corrections, match
from kolam.learning.crossfit import out_of_fold
from kolam.learning.heads import SoftmaxHead
from kolam.models import builtin
from kolam.models.coco import project_mapping
from kolam.services.learning_settings import stored_learning
from kolam.services.model_versions import active_version, add_version, load_arrays, promote, save_arrays
from kolam.services.projects import current_schema
from kolam.services.training import COMPONENTS, FOLDS, HEAD_C, TrainSummary
from kolam.services.training_data import SETTLED
from kolam.store.blobs import BlobStore
from kolam.store.db import Database
from kolam.store.tables import Consensus, GoldAnswer, Item, Project
from kolam.store.tables_learning import ModelVersion

log = logging.getLogger(__name__)

MIN_ITEMS = 10
"""Settled items needed before learning: each rule also needs five boxes of evidence, rarely met with fewer."""
MAX_ITEMS = 2_000
"""The most recently settled items learnt from: the detector takes about 0.1 s an image on two cores, so a
training run stays under four minutes; 2,000 items hold enough boxes for every common COCO class."""
HEAD_MIN_BOXES = 5
"""A crop head needs two labels with at least this many settled boxes each (and as many to be judged on)."""
MAX_CROPS = 3_000
"""People's boxes embedded for the crop head: about 0.03 s a crop on two cores."""


def train_boxes(db: Database, blobs: BlobStore, project_id: int) -> TrainSummary:
    """Learn the project's corrections to the detector's boxes; store them as a new version and promote it."""
    read = _read(db, project_id)
    if isinstance(read, TrainSummary):
        return read
    schema, org_id, settled, total, gold_n = read
    if total < MIN_ITEMS:
        return TrainSummary(
            project_id, "skipped", f"{total} settled items; learning from corrections needs {MIN_ITEMS}",
            items=total, gold=gold_n,
        )  # fmt: skip
    detector = builtin.detector()
    seen: list[tuple[str, BoxDicts, BoxDicts]] = []
    for blob_key, value in settled:
        try:
            found = detector.detect([_content(blobs, blob_key)])[0]
        except (OSError, KolamError):
            continue  # an unreadable image teaches nothing
        seen.append((blob_key, found, value.get("boxes") or []))
    learnt = learn_corrections((found, boxes) for _, found, boxes in seen)
    head = _fit_crop_head(blobs, seen, learnt) if learnt.split else None
    return _record(db, blobs, project_id, org_id, schema, learnt, head, total, gold_n)


def _read(
    db: Database, project_id: int
) -> tuple[ImageBoxesSchema, int, list[tuple[str, dict[str, Any]]], int, int] | TrainSummary:
    """The schema, the org, (blob key, settled value) of the most recently settled non-gold items (at most
    ``MAX_ITEMS``), how many non-gold items are settled in all, and how many gold items there are."""
    with db.read() as session:
        project = session.get(Project, project_id)
        if project is None:
            return TrainSummary(project_id, "skipped", "no such project")
        schema = current_schema(session, project)
        if not isinstance(schema, ImageBoxesSchema):
            return TrainSummary(project_id, "skipped", f"{project.kind} projects have no box detector")
        backend = stored_learning(project.learning).backend
        if backend != "builtin":
            return TrainSummary(project_id, "skipped", f"the project's model backend is {backend}")
        org_id = project.org_id
        gold = sa.select(GoldAnswer.task_id).where(GoldAnswer.project_id == project_id)
        settled = (Consensus.project_id == project_id, Consensus.status.in_(SETTLED), Consensus.task_id.not_in(gold))
        total = session.scalar(sa.select(sa.func.count()).select_from(Consensus).where(*settled))
        rows = session.execute(
            sa.select(Item.blob_key, Consensus.value)
            .join(Item, Item.id == Consensus.task_id)
            .where(*settled, Item.blob_key.is_not(None))
            .order_by(Consensus.updated_at.desc(), Consensus.task_id.desc())
            .limit(MAX_ITEMS)
        ).all()
        gold_n = session.scalar(sa.select(sa.func.count()).select_from(gold.subquery()))
    return schema, org_id, [(row.blob_key, row.value) for row in rows], int(total or 0), int(gold_n or 0)


def _record(
    db: Database, blobs: BlobStore, project_id: int, org_id: int, schema: ImageBoxesSchema, learnt: BoxCorrections,
    head: CropHeadFit | None, total: int, gold_n: int,
) -> TrainSummary:  # fmt: skip
    """Store the learnt corrections as a version; promote it unless the active one already does the same."""
    backend = f"builtin:{builtin.DETECTOR}"
    metrics: dict[str, Any] = {
        "proposals": sum(proposed for _, proposed in learnt.kept.values()),
        "kept": sum(kept for kept, _ in learnt.kept.values()),
        "relabelled": len(learnt.relabel),
        "rescored": len(learnt.min_score),
    }
    # items: every settled item, as the class heads count them (what ``should_retrain`` compares against)
    training: dict[str, Any] = {"packaged": builtin.DETECTOR, "items": total, "learnt_from": learnt.items,
                                "gold_held_out": gold_n, "corrections": learnt.to_json()}  # fmt: skip
    key = None
    if head is not None:
        metrics["crop_head"] = head.metrics
        if head.used:
            key = save_arrays(blobs, org_id, head.head.to_arrays())
            training["crop_head"] = {"labels": head.labels, "encoder": builtin.IMAGE_ENCODER, "c": HEAD_C}
    with db.write() as session:
        active = active_version(session, project_id)
        same = (
            key is None and active is not None and active.backend == backend and "crop_head" not in active.training
            and learnt_corrections(active).same_rules(learnt)
        )  # fmt: skip
        if same:
            reason = "learnt the same corrections as the active version; its proposals stand"
        else:
            reason = _describe(learnt, project_mapping(schema.label_names()), head)
        row = add_version(
            session, project_id, backend, classes=schema.label_names(), training=training, metrics=metrics,
            comparison={"promoted": not same, "reason": reason}, artifact_key=key,
        )  # fmt: skip
        if same:
            row.status = "rejected"
        else:
            promote(session, row)
        session.commit()
        version = row.version
    status = "rejected" if same else "active"
    return TrainSummary(project_id, status, reason, version=version, items=total, gold=gold_n, metrics=metrics)


def _describe(learnt: BoxCorrections, mapping: dict[str, str], head: CropHeadFit | None) -> str:
    """The rules in a line for the models page: ``person`` named "astronaut"; ``car`` offered from 0.41. A
    learnt label the synonyms already gave (``cat`` named "cat") changes nothing and goes unmentioned."""
    rules = [f'{coco} named "{label}"' for coco, label in learnt.relabel.items() if mapping.get(coco) != label]
    rules += [f"{coco} offered from score {score:.2f}" for coco, score in learnt.min_score.items()]
    if head is not None and head.used:
        rules.append(f"{', '.join(learnt.split)} named by their look ({', '.join(head.labels)})")
    if not rules:
        return f"learnt from {learnt.items} items: nothing to correct; the detector's proposals stand"
    return f"learnt from {learnt.items} items: " + "; ".join(rules)


def learnt_corrections(version: ModelVersion | None) -> BoxCorrections:
    """The box corrections a version learnt (none for the packaged detector as it comes, or another model).

    Stored corrections that do not read back are logged and ignored: the packaged proposals are still useful,
    and stopping every pre-label run over them would not be."""
    if version is None or (version.training or {}).get("corrections") is None:
        return BoxCorrections()
    try:
        return BoxCorrections.from_json(version.training["corrections"])
    except ValueError as err:
        log.warning("model version %s has unreadable box corrections (%s); proposing without them", version.id, err)
        return BoxCorrections()


def _content(blobs: BlobStore, blob_key: str) -> bytes:
    with blobs.open(blob_key) as handle:
        return handle.read()


def crops(data: bytes, boxes: BoxDicts) -> list[bytes]:
    """Each box cut from the upright image (boxes are in upright pixels, as the detector and people draw them),
    as PNG bytes for the image encoder; a box reaching past the edge is cut at it."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as image:
        upright = ImageOps.exif_transpose(image).convert("RGB")
    out = []
    for box in boxes:
        x0 = min(max(0, int(box["x"])), upright.width - 1)
        y0 = min(max(0, int(box["y"])), upright.height - 1)
        x1 = min(max(x0 + 1, math.ceil(box["x"] + box["w"])), upright.width)
        y1 = min(max(y0 + 1, math.ceil(box["y"] + box["h"])), upright.height)
        buffer = io.BytesIO()
        upright.crop((x0, y0, x1, y1)).save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


@dataclass(frozen=True)
class CropHeadFit:
    """A crop head fitted on people's boxes, and whether it named the split classes' boxes better out of fold
    than the best single label could (``used``); ``metrics`` says by how much."""

    head: SoftmaxHead
    labels: list[str]
    used: bool
    metrics: dict[str, Any]


def _fit_crop_head(
    blobs: BlobStore, seen: Sequence[tuple[str, BoxDicts, BoxDicts]], learnt: BoxCorrections
) -> CropHeadFit | None:
    """Fit a softmax head on the image features of people's labelled boxes, when two labels have five each.

    It is judged out of fold on the boxes people kept from a split class's proposals, against the most common
    label there (the best a relabelling rule could do); only a head that beats it names proposals."""
    images: list[bytes] = []
    names: list[str] = []
    judged: list[bool] = []
    for blob_key, found, settled in seen:
        labelled = [(j, b) for j, b in enumerate(settled) if b.get("label")]
        if not labelled or len(images) >= MAX_CROPS:
            continue
        proposed = np.array([[b["x"], b["y"], b["w"], b["h"]] for b in found]).reshape(-1, 4)
        people = np.array([[b["x"], b["y"], b["w"], b["h"]] for b in settled]).reshape(-1, 4)
        from_split = {j for i, j in match(proposed, people) if found[i]["coco"] in learnt.split}
        try:
            images += crops(_content(blobs, blob_key), [b for _, b in labelled])
        except OSError:
            continue
        names += [str(b["label"]) for _, b in labelled]
        judged += [j in from_split for j, _ in labelled]
    counts = {name: names.count(name) for name in dict.fromkeys(names)}
    if sum(n >= HEAD_MIN_BOXES for n in counts.values()) < 2 or sum(judged) < HEAD_MIN_BOXES:
        return None
    labels = sorted(counts)
    y = np.array([labels.index(name) for name in names], dtype=np.int64)
    x = builtin.encoder(builtin.IMAGE_ENCODER).embed(images)
    with one_blas_thread():
        base = SoftmaxHead(n_components=_components(len(images)), c=HEAD_C).fit_projection(x)

        def fit_predict(train: NDArray[np.int64], test: NDArray[np.int64]) -> NDArray[np.float64]:
            return copy.deepcopy(base).fit(x[train], y[train], len(labels), keep_projection=True).predict_proba(x[test])

        predicted = out_of_fold(fit_predict, y, folds=FOLDS).argmax(axis=1)
        head = base.fit(x, y, len(labels), keep_projection=True)
    mask = np.array(judged)
    accuracy = float((predicted[mask] == y[mask]).mean())
    baseline = float(np.bincount(y[mask], minlength=len(labels)).max() / mask.sum())
    metrics = {"boxes": len(images), "judged_on": int(mask.sum()), "accuracy": accuracy, "best_single_label": baseline}
    return CropHeadFit(head, labels, accuracy > baseline, metrics)


def _components(boxes: int) -> int:
    """Whitened PCA directions of the crop head: at most half the boxes, as for the class heads, since whitening
    a direction the boxes barely span blows its noise up (ten crops of astronauts and a cameraman, 18 apart
    against 2 within: told apart 3 times in 10 out of fold with ten directions, 10 in 10 with five)."""
    return max(1, min(COMPONENTS, boxes // 2))


@dataclass(frozen=True)
class CropNamer:
    """Names the proposals of the split COCO classes by their look, with the crop head a version learnt."""

    head: SoftmaxHead
    labels: list[str]
    classes: frozenset[str]
    embed: Callable[[Sequence[bytes]], NDArray[np.float32]]

    def rename(self, data: bytes, found: BoxDicts, boxes: list[dict[str, Any]], project_labels: Sequence[str]) -> None:
        """Set the label of each of ``boxes`` (named from ``found``, in the same order) whose COCO class is split."""
        chosen = [i for i, box in enumerate(found) if box["coco"] in self.classes]
        if not chosen:
            return
        with one_blas_thread():
            predicted = self.head.predict(self.embed(crops(data, [found[i] for i in chosen])))
        for i, k in zip(chosen, predicted.tolist(), strict=True):
            if self.labels[k] in project_labels:
                boxes[i]["label"] = self.labels[k]


def crop_namer(blobs: BlobStore, version: ModelVersion | None, corrections: BoxCorrections) -> CropNamer | None:
    """The version's crop head, if it learnt one; loads the image encoder only then."""
    stored = (version.training or {}).get("crop_head") if version is not None else None
    if version is None or stored is None or version.artifact_key is None or not corrections.split:
        return None
    try:
        head = SoftmaxHead.from_arrays(load_arrays(blobs, version.artifact_key))
    except (OSError, ValueError) as err:
        log.warning("model version %s has an unreadable crop head (%s); proposing without it", version.id, err)
        return None
    encoder = builtin.encoder(builtin.IMAGE_ENCODER)
    return CropNamer(head, list(stored["labels"]), frozenset(corrections.split), encoder.embed)
