"""Multi-label truth inference: one binary (present / absent) problem per class, solved by any method.

An answer to a multi-label task ("tags that apply") names zero or more classes, so it says something about
every class: the ones named are present and the others absent, in that worker's view. Treating each class as
its own yes/no crowd lets a worker be careful on one tag and careless on another, and reuses every
single-label method (Dawid–Skene per class learns each worker's miss and false-alarm rates for that tag).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from kolam.quality.truth import DawidSkene
from kolam.quality.truth_base import UNKNOWN, BoolArray, FloatArray, TruthInference, make_answers

__all__ = ["MultiLabel", "label_indicator"]

LabelSets = Sequence[Iterable[int]] | ArrayLike
"""Per answer: the classes it names (an iterable of ints), or a boolean (answers × classes) indicator."""

MultiGold = Mapping[int, Iterable[int]] | None
"""Task → the full set of classes present on it (an empty set means "none of them")."""


def label_indicator(label_sets: LabelSets, n_classes: int) -> BoolArray:
    """A boolean (answers × classes) matrix from per-answer label sets; a 2-D boolean array passes through."""
    if isinstance(label_sets, np.ndarray) and label_sets.ndim == 2:
        if label_sets.shape[1] != n_classes or label_sets.dtype != np.bool_:
            raise ValueError(f"an indicator must be boolean with {n_classes} columns, got {label_sets.shape}")
        return label_sets
    if not isinstance(label_sets, Sequence):
        raise ValueError("label_sets must be a sequence of label sets or a boolean indicator matrix")
    sets = [np.asarray(list(named), dtype=np.int64) for named in label_sets if isinstance(named, Iterable)]
    if len(sets) != len(label_sets):
        raise ValueError("each answer's labels must be an iterable of class indices (use [] for none)")
    lengths = np.fromiter((named.size for named in sets), dtype=np.int64, count=len(sets))
    flat = np.concatenate(sets) if sets else np.zeros(0, dtype=np.int64)
    if flat.size and (flat.min() < 0 or flat.max() >= n_classes):
        raise ValueError(f"labels must be in [0, {n_classes})")
    indicator = np.zeros((len(sets), n_classes), dtype=np.bool_)
    indicator[np.repeat(np.arange(len(sets)), lengths), flat] = True
    return indicator


def _gold_presence(gold: MultiGold, n_tasks: int, n_classes: int) -> np.ndarray:
    """Gold as an integer (tasks × classes) array: 1 present, 0 absent, ``UNKNOWN`` where no gold."""
    result = np.full((n_tasks, n_classes), UNKNOWN, dtype=np.int64)
    for task, present in (gold or {}).items():
        if not 0 <= int(task) < n_tasks:
            raise ValueError(f"gold task indices must be in [0, {n_tasks})")
        named = np.asarray(list(present), dtype=np.int64)
        if named.size and (named.min() < 0 or named.max() >= n_classes):
            raise ValueError(f"gold labels must be in [0, {n_classes})")
        result[int(task)] = 0
        result[int(task), named] = 1
    return result


class MultiLabel:
    """Run a single-label method once per class on the binary crowd "did this answer name class c?".

    Fitted: ``probas_`` (tasks × classes, posterior that each class is present), ``labels_`` (boolean, the
    classes with posterior ≥ ``threshold``), ``label_sets_`` (the same as a list of sorted tuples), and
    ``models_`` (the fitted binary model per class, for per-worker skill on each tag).
    """

    probas_: FloatArray
    labels_: BoolArray
    label_sets_: list[tuple[int, ...]]
    models_: list[TruthInference]

    def __init__(self, method: Callable[[], TruthInference] = DawidSkene, threshold: float = 0.5) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        self.method = method
        self.threshold = threshold

    def fit(
        self,
        tasks: ArrayLike,
        workers: ArrayLike,
        label_sets: LabelSets,
        n_classes: int,
        *,
        n_tasks: int | None = None,
        n_workers: int | None = None,
        gold: MultiGold = None,
    ) -> MultiLabel:
        """Estimate which classes are present on each task; ``gold`` maps a task to its full set of classes."""
        indicator = label_indicator(label_sets, n_classes)
        gold_tasks = max((int(task) for task in gold or {}), default=-1) + 1
        answers = make_answers(tasks, workers, np.zeros(indicator.shape[0], dtype=np.int64), 1, n_tasks, n_workers)
        total_tasks = max(answers.n_tasks, gold_tasks) if n_tasks is None else answers.n_tasks
        presence = _gold_presence(gold, total_tasks, n_classes)
        self.models_ = []
        self.probas_ = np.zeros((total_tasks, n_classes))
        for label in range(n_classes):
            model = self.method().fit(
                answers.tasks,
                answers.workers,
                indicator[:, label].astype(np.int64),
                2,
                n_tasks=total_tasks,
                n_workers=answers.n_workers,
                gold=presence[:, label],
            )
            self.models_.append(model)
            self.probas_[:, label] = model.probas_[:, 1]
        self.labels_ = self.probas_ >= self.threshold
        self.label_sets_ = [tuple(int(label) for label in np.flatnonzero(row)) for row in self.labels_]
        return self

    def fit_predict(
        self,
        tasks: ArrayLike,
        workers: ArrayLike,
        label_sets: LabelSets,
        n_classes: int,
        *,
        n_tasks: int | None = None,
        n_workers: int | None = None,
        gold: MultiGold = None,
    ) -> list[tuple[int, ...]]:
        fitted = self.fit(tasks, workers, label_sets, n_classes, n_tasks=n_tasks, n_workers=n_workers, gold=gold)
        return fitted.label_sets_

    def fit_predict_proba(
        self,
        tasks: ArrayLike,
        workers: ArrayLike,
        label_sets: LabelSets,
        n_classes: int,
        *,
        n_tasks: int | None = None,
        n_workers: int | None = None,
        gold: MultiGold = None,
    ) -> FloatArray:
        fitted = self.fit(tasks, workers, label_sets, n_classes, n_tasks=n_tasks, n_workers=n_workers, gold=gold)
        return fitted.probas_
