"""Shared plumbing for categorical truth inference: validated answer arrays, gold, the common interface.

Every method takes a crowd as three parallel integer arrays — answer ``i`` says worker ``workers[i]`` gave
label ``labels[i]`` to task ``tasks[i]`` — so a million answers cost three flat arrays, not a million objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
GoldLike = Mapping[int, int] | ArrayLike | None

UNKNOWN = -1
"""Marks a task without a gold answer in a gold array."""


@dataclass(frozen=True)
class Answers:
    """A validated crowd: parallel answer arrays, the index ranges, and gold (``UNKNOWN`` where none)."""

    tasks: IntArray
    workers: IntArray
    labels: IntArray
    n_tasks: int
    n_workers: int
    n_classes: int
    gold: IntArray

    @property
    def gold_mask(self) -> BoolArray:
        mask: BoolArray = self.gold != UNKNOWN
        return mask

    @property
    def answered(self) -> BoolArray:
        """Tasks with at least one answer or a gold label: the ones that carry evidence about class priors."""
        counts = np.bincount(self.tasks, minlength=self.n_tasks)
        return (counts > 0) | self.gold_mask


def index_array(values: ArrayLike, name: str, bound: int | None = None) -> IntArray:
    """A one-dimensional array of integer indices (codes of tasks, workers, classes), each in ``[0, bound)``."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integer indices, got dtype {array.dtype}")
    if bound is not None and (array.min() < 0 or array.max() >= bound):
        raise ValueError(f"{name} must be in [0, {bound})")
    if array.min() < 0:
        raise ValueError(f"{name} must hold non-negative indices")
    return array.astype(np.int64, copy=False)


def _size(given: int | None, index: IntArray, name: str, at_least: int = 0) -> int:
    needed = max(int(index.max()) + 1 if index.size else 0, at_least)
    if given is None:
        return needed
    if given < needed:
        raise ValueError(f"{name}={given} but indices up to {needed - 1} occur")
    return given


def _gold_keys(gold: GoldLike) -> int:
    """How many tasks gold implies, so gold on an unanswered task still widens n_tasks."""
    if gold is None:
        return 0
    if isinstance(gold, Mapping):
        return max((int(key) for key in gold), default=-1) + 1
    return int(np.asarray(gold).shape[0]) if np.ndim(gold) == 1 else 0


def _gold_array(gold: GoldLike, n_tasks: int, n_classes: int) -> IntArray:
    result = np.full(n_tasks, UNKNOWN, dtype=np.int64)
    if gold is None:
        return result
    if isinstance(gold, Mapping):
        if gold:
            keys = np.fromiter((int(key) for key in gold), dtype=np.int64, count=len(gold))
            values = np.fromiter((int(value) for value in gold.values()), dtype=np.int64, count=len(gold))
            if keys.min() < 0 or keys.max() >= n_tasks:
                raise ValueError(f"gold task indices must be in [0, {n_tasks})")
            result[keys] = values
    else:
        array = np.asarray(gold)
        if array.shape != (n_tasks,) or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"a gold array must be {n_tasks} integers (one per task, {UNKNOWN} for unknown)")
        result = array.astype(np.int64)
    known = result[result != UNKNOWN]
    if known.size and (known.min() < 0 or known.max() >= n_classes):
        raise ValueError(f"gold labels must be in [0, {n_classes}) or {UNKNOWN} for unknown")
    return result


def make_answers(
    tasks: ArrayLike,
    workers: ArrayLike,
    labels: ArrayLike,
    n_classes: int,
    n_tasks: int | None = None,
    n_workers: int | None = None,
    gold: GoldLike = None,
) -> Answers:
    """Check and normalise a crowd; raise ``ValueError`` naming the argument at fault."""
    task_index = index_array(tasks, "tasks")
    worker_index = index_array(workers, "workers")
    label_index = index_array(labels, "labels")
    if not task_index.size == worker_index.size == label_index.size:
        raise ValueError("tasks, workers and labels must have the same length")
    if n_classes < 1:
        raise ValueError("n_classes must be at least 1")
    if label_index.size and label_index.max() >= n_classes:
        raise ValueError(f"labels must be in [0, {n_classes})")
    total_tasks = _size(n_tasks, task_index, "n_tasks", _gold_keys(gold) if n_tasks is None else 0)
    total_workers = _size(n_workers, worker_index, "n_workers")
    return Answers(
        tasks=task_index,
        workers=worker_index,
        labels=label_index,
        n_tasks=total_tasks,
        n_workers=total_workers,
        n_classes=n_classes,
        gold=_gold_array(gold, total_tasks, n_classes),
    )


def vote_counts(answers: Answers) -> FloatArray:
    """How many answers each task got per class, shape (n_tasks, n_classes)."""
    k = answers.n_classes
    flat = np.bincount(answers.tasks * k + answers.labels, minlength=answers.n_tasks * k)
    return flat.reshape(answers.n_tasks, k).astype(np.float64)


def clamp_gold(probas: FloatArray, answers: Answers) -> FloatArray:
    """Put all of a gold task's probability on its known label (in place), so gold anchors every estimate."""
    mask = answers.gold_mask
    if mask.any():
        probas[mask] = 0.0
        probas[mask, answers.gold[mask]] = 1.0
    return probas


def logsumexp_rows(values: FloatArray) -> FloatArray:
    """log Σ_k exp(v_k) per row, shifted by the row maximum so no term overflows or underflows to zero."""
    top = values.max(axis=1, keepdims=True)
    total: FloatArray = top[:, 0] + np.log(np.exp(values - top).sum(axis=1))
    return total


def majority_probas(answers: Answers) -> FloatArray:
    """Each task's share of votes per class; uniform where nobody answered; one-hot on gold."""
    counts = vote_counts(answers)
    totals = counts.sum(axis=1, keepdims=True)
    probas = np.divide(counts, totals, out=np.full_like(counts, 1.0 / answers.n_classes), where=totals > 0)
    return clamp_gold(probas, answers)


def sums(index: IntArray, weights: FloatArray, n_keys: int) -> FloatArray:
    """Σ weights per key, always as floats: ``np.bincount`` returns integers when there are no weights to sum."""
    return np.bincount(index, weights, n_keys).astype(np.float64, copy=False)


def class_priors(probas: FloatArray, answers: Answers, pseudo_count: float) -> FloatArray:
    """π_k ∝ Σ_t q_t(k) + pseudo_count over tasks that carry evidence (answers or gold)."""
    k = answers.n_classes
    counts = probas[answers.answered].sum(axis=0) + pseudo_count
    total = counts.sum()
    return counts / total if total > 0 else np.full(k, 1.0 / k)


class TruthInference:
    """The interface every categorical method shares (crowd-kit's shape): hyper-parameters in the constructor,
    ``fit`` on a crowd, fitted state in ``labels_`` (consensus per task) and ``probas_`` (posterior per class).
    """

    labels_: IntArray
    probas_: FloatArray

    def fit(
        self,
        tasks: ArrayLike,
        workers: ArrayLike,
        labels: ArrayLike,
        n_classes: int,
        *,
        n_tasks: int | None = None,
        n_workers: int | None = None,
        gold: GoldLike = None,
    ) -> Self:
        """Estimate each task's true label; ``gold`` (task → label, or an array with -1 for unknown) anchors it."""
        self._fit(make_answers(tasks, workers, labels, n_classes, n_tasks, n_workers, gold))
        return self

    def fit_predict(
        self,
        tasks: ArrayLike,
        workers: ArrayLike,
        labels: ArrayLike,
        n_classes: int,
        *,
        n_tasks: int | None = None,
        n_workers: int | None = None,
        gold: GoldLike = None,
    ) -> IntArray:
        return self.fit(tasks, workers, labels, n_classes, n_tasks=n_tasks, n_workers=n_workers, gold=gold).labels_

    def fit_predict_proba(
        self,
        tasks: ArrayLike,
        workers: ArrayLike,
        labels: ArrayLike,
        n_classes: int,
        *,
        n_tasks: int | None = None,
        n_workers: int | None = None,
        gold: GoldLike = None,
    ) -> FloatArray:
        return self.fit(tasks, workers, labels, n_classes, n_tasks=n_tasks, n_workers=n_workers, gold=gold).probas_

    def _fit(self, answers: Answers) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Grouping:
    """Answers grouped by a key (a task, a worker's (worker, label) row): per-key sums in one pass each.

    Sums run over the answers in input order, one column at a time: a weighted ``np.bincount`` in general, and
    when the answers come key by key with the same number per key (``width``: a fixed overlap, grouped by
    task) a few contiguous gathers added row by row instead, which skips the scatter. Both add each key's
    terms in input order, so they agree bit for bit; neither sorts nor builds an (answers × columns) copy.
    """

    key: IntArray
    n_keys: int
    width: int = 0

    _MAX_WIDTH = 32  # beyond this many answers per key, a Python loop over them costs more than bincount saves

    @classmethod
    def by(cls, key: IntArray, n_keys: int) -> Grouping:
        key = key.astype(np.intp, copy=False)
        width = key.size // n_keys if n_keys else 0
        if not (0 < width <= cls._MAX_WIDTH and key.size == width * n_keys):
            return cls(key, n_keys)
        laid_out = bool((key.reshape(n_keys, width) == np.arange(n_keys)[:, None]).all())
        return cls(key, n_keys, width if laid_out else 0)

    def arrange(self, index: IntArray) -> IntArray:
        """A per-answer index (input order) in the layout ``sum_columns`` reads: once per fit, not per sum.

        With a ``width``, slot j (row j) holds each key's j-th answer, so every gather in ``sum_columns`` is a
        full, contiguous row of keys; otherwise the index as it is.
        """
        if not self.width:
            return index
        return np.ascontiguousarray(index.reshape(self.n_keys, self.width).T)

    def sum_columns(self, table: FloatArray, arranged: IntArray) -> FloatArray:
        """Per key and column c, Σ over the answers of ``table[c, index[answer]]``: shape (columns, n_keys).

        ``arranged`` is ``self.arrange(index)``; ``table`` is (columns, n), and a C-contiguous one makes each
        column's gather a contiguous read.
        """
        result = np.empty((table.shape[0], self.n_keys))
        if self.width:
            for column, values in enumerate(table):
                total = result[column]
                np.take(values, arranged[0], out=total)
                for slot in arranged[1:]:
                    total += np.take(values, slot)
            return result
        for column, values in enumerate(table):
            result[column] = np.bincount(self.key, np.take(values, arranged), self.n_keys)
        return result
