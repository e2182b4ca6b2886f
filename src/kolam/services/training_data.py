"""What a project's head learns from: its settled answers and gold as rows of the packaged encoder's embeddings.

Shared by single-label training (``services.training``), multi-label training and the pseudo-label pool
(``services.training_semi``). Gold is read apart from the settled answers: it is never trained on, it is the
held-out set a new version is compared on, and (with enough of it) what calibrates the head.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray

from kolam.labels.schema import ImageClassesSchema, TextClassesSchema
from kolam.services.embeddings import load_embeddings
from kolam.services.projects import current_schema
from kolam.store.db import Database
from kolam.store.tables import Annotation, Consensus, GoldAnswer, Project

__all__ = ["SETTLED", "TrainingData", "read_training_data"]

SETTLED = ("agreed", "aggregated", "reviewed")
"""Consensus statuses that people settled; ``auto`` (the model alone) is never trained on."""


@dataclass(frozen=True)
class TrainingData:
    names: list[str]
    ids: NDArray[np.int64]
    x: NDArray[np.float32]
    y: NDArray[Any]
    weight: NDArray[np.float64]
    gold_x: NDArray[np.float32]
    gold_y: NDArray[Any]
    unlabelled: NDArray[np.float32]
    last_answer_id: int
    multi: bool = False
    """``y``/``gold_y``: class indices (n,) for single-label projects; 0/1 rows (n, k) for multi-label ones."""

    @property
    def n(self) -> int:
        return int(self.y.shape[0])


def _label(value: dict[str, Any], index: dict[str, int]) -> int | None:
    labels = value.get("labels") or []
    return index.get(labels[0]) if len(labels) == 1 else None


def _label_set(value: dict[str, Any], index: dict[str, int]) -> NDArray[np.float64] | None:
    """A multi-label answer as a 0/1 row; an answer naming no known class (unclear) teaches nothing."""
    row = np.zeros(len(index))
    for name in value.get("labels") or []:
        if name in index:
            row[index[name]] = 1.0
    return row if row.any() else None


def read_training_data(db: Database, project_id: int, encoder: str) -> TrainingData | str:
    with db.read() as session:
        project = session.get(Project, project_id)
        if project is None:
            return "no such project"
        schema = current_schema(session, project)
        if not isinstance(schema, ImageClassesSchema | TextClassesSchema):
            return f"{project.kind} projects have no trained head"
        multi = schema.multi_label
        names = schema.label_names()
        index = {name: i for i, name in enumerate(names)}
        settled = session.execute(
            sa.select(Consensus.task_id, Consensus.value, Consensus.confidence).where(
                Consensus.project_id == project_id, Consensus.status.in_(SETTLED)
            )
        ).all()
        gold = session.execute(
            sa.select(GoldAnswer.task_id, GoldAnswer.value).where(GoldAnswer.project_id == project_id)
        ).all()
        last_answer = session.scalar(sa.select(sa.func.max(Annotation.id)).where(Annotation.project_id == project_id))
        ids, matrix = load_embeddings(session, project_id, encoder)
    row_of = {int(item_id): i for i, item_id in enumerate(ids)}
    gold_ids = {g.task_id for g in gold}
    read_label: Any = _label_set if multi else _label
    train = [
        (row_of[c.task_id], label, c.confidence)
        for c in settled
        if c.task_id in row_of and c.task_id not in gold_ids and (label := read_label(c.value, index)) is not None
    ]
    held = [
        (row_of[g.task_id], label)
        for g in gold
        if g.task_id in row_of and (label := read_label(g.value, index)) is not None
    ]
    rows = np.array([t[0] for t in train], dtype=np.int64)
    gold_rows = np.array([g[0] for g in held], dtype=np.int64)
    used = np.zeros(len(ids), dtype=bool)
    used[rows] = True
    used[gold_rows] = True
    return TrainingData(
        names=names,
        ids=ids[rows],
        x=matrix[rows],
        y=_stack([t[1] for t in train], multi, len(names)),
        weight=np.clip(np.array([t[2] for t in train], dtype=np.float64), 0.05, 1.0),
        gold_x=matrix[gold_rows],
        gold_y=_stack([g[1] for g in held], multi, len(names)),
        unlabelled=matrix[~used],
        last_answer_id=int(last_answer or 0),
        multi=multi,
    )


def _stack(labels: list[Any], multi: bool, k: int) -> NDArray[Any]:
    if multi:
        return np.array(labels, dtype=np.float64).reshape(len(labels), k)
    return np.array(labels, dtype=np.int64)
