"""Item embeddings: computed once per item by the project's packaged encoder, then reused by every retrain and
by active learning's diversity sampling.

Computing is the slow part (~200 images/s, ~100 texts/s on two cores), so it runs in a job, reads content
outside any transaction and writes each batch in its own short one: annotators' submits never wait on it, and
a killed job resumes where it stopped (only items without a vector are computed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from kolam.errors import KolamError
from kolam.models.builtin import ENCODER_BY_KIND, Encoder, encoder
from kolam.store.blobs import BlobStore
from kolam.store.db import Database
from kolam.store.tables import Item, Project, Task
from kolam.store.tables_learning import Embedding
from kolam.store.upsert import insert_missing

BATCH = 64
_embeddings = cast(sa.Table, Embedding.__table__)


@dataclass
class EmbedReport:
    encoder: str | None
    computed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def encoder_name(kind: str) -> str | None:
    """The encoder a project of this kind embeds its items with, or None (boxes, transcription)."""
    return ENCODER_BY_KIND.get(kind)


def ensure_embeddings(db: Database, blobs: BlobStore, project_id: int, *, batch: int = BATCH) -> EmbedReport:
    """Embed every item of the project that has no vector yet; unreadable items are counted, not fatal."""
    with db.read() as session:
        kind = session.scalar(sa.select(Project.kind).where(Project.id == project_id))
        name = encoder_name(kind or "")
        report = EmbedReport(name)
        if name is None:
            return report
        missing = session.execute(
            sa.select(Item.id, Item.org_id, Item.text, Item.blob_key)
            .join(Task, Task.item_id == Item.id)
            .outerjoin(Embedding, Embedding.item_id == Item.id)
            .where(Item.project_id == project_id, Task.state != "staged", Embedding.item_id.is_(None))
            .order_by(Item.id)
        ).all()
    if not missing:
        return report
    model = encoder(name)
    for start in range(0, len(missing), batch):
        rows = missing[start : start + batch]
        ids, contents = [], []
        for row in rows:
            try:
                contents.append(_content(blobs, name, row.text, row.blob_key))
                ids.append(row.id)
            except (OSError, ValueError, KolamError) as err:
                report.failed += 1
                if len(report.errors) < 20:
                    report.errors.append(f"item {row.id}: {err}")
        if not ids:
            continue
        try:
            vectors = np.asarray(model.embed(contents), dtype=np.float32)
        except (ValueError, KolamError):  # one bad input spoils the batch: keep the good ones
            ids, vectors = _one_by_one(model, ids, contents, report)
            if not ids:
                continue
        _save(db, project_id, name, ids, vectors)
        report.computed += len(ids)
    return report


def _content(blobs: BlobStore, name: str, text: str | None, blob_key: str | None) -> bytes | str:
    if name == ENCODER_BY_KIND["text_classes"]:
        if text is None:
            raise ValueError("a text item without text")
        return text
    if blob_key is None:
        raise ValueError("no stored content (remote URLs are not fetched)")
    with blobs.open(blob_key) as handle:
        return handle.read()


def _one_by_one(
    model: Encoder, ids: list[int], contents: list[bytes | str], report: EmbedReport
) -> tuple[list[int], NDArray[np.float32]]:
    kept: list[int] = []
    rows: list[NDArray[np.float32]] = []
    for item_id, content in zip(ids, contents, strict=True):
        try:
            rows.append(np.asarray(model.embed([content]), dtype=np.float32)[0])
            kept.append(item_id)
        except (ValueError, KolamError) as err:
            report.failed += 1
            if len(report.errors) < 20:
                report.errors.append(f"item {item_id}: {err}")
    return kept, (np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32))


def _save(db: Database, project_id: int, name: str, ids: Sequence[int], vectors: NDArray[np.float32]) -> None:
    half = np.asarray(vectors, dtype=np.float16)
    with db.write() as session:
        insert_missing(
            session,
            _embeddings,
            [
                {"item_id": item_id, "project_id": project_id, "encoder": name, "dim": half.shape[1],
                 "vector": half[i].tobytes()}
                for i, item_id in enumerate(ids)
            ],
        )  # fmt: skip
        session.commit()


def load_embeddings(
    session: Session, project_id: int, name: str, item_ids: Sequence[int] | None = None
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """(item ids, float32 matrix) of the project's vectors from ``name``, in item-id order."""
    query = sa.select(Embedding.item_id, Embedding.dim, Embedding.vector).where(
        Embedding.project_id == project_id, Embedding.encoder == name
    )
    if item_ids is not None:
        query = query.where(Embedding.item_id.in_(list(item_ids)))
    rows = session.execute(query.order_by(Embedding.item_id)).all()
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    ids = np.fromiter((r.item_id for r in rows), dtype=np.int64, count=len(rows))
    matrix = np.frombuffer(b"".join(r.vector for r in rows), dtype=np.float16).reshape(len(rows), rows[0].dim)
    return ids, matrix.astype(np.float32)
