"""Adaptive overlap: ask for another answer only while an item's consensus is still unsure.

Instead of a fixed k answers per item, the item's posterior over classes is recomputed after each answer from
its answers and the answering annotators' estimated confusion matrices (``DawidSkene.errors_``, prior
``DawidSkene.priors_``); this is Dawid–Skene's E-step for one item, in log space:

    log p(z = c | answers) = log π_c + Σ_i log e_i[c, l_i] − log Σ_c' exp(same for c'),

where e_i is the confusion matrix (row = true class, column = answered class) of whoever gave answer i. The
item is done once its top class reaches the policy's target; otherwise it gets one more annotator, up to
``max_answers``; an item still unsure there goes to review. An annotator with no estimate yet counts as a
one-coin annotator at the crowd's accuracy (``default_confusion``, ``population_accuracy``,
``confusions_for``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kolam.quality.truth_base import FloatArray, IntArray, index_array

__all__ = [
    "DECISIONS",
    "DEFAULT_ACCURACY",
    "Decision",
    "OverlapPolicy",
    "confusions_for",
    "decide",
    "decide_many",
    "default_confusion",
    "item_posterior",
    "population_accuracy",
    "posteriors",
]

Decision = Literal["done", "more", "review"]
DECISIONS: tuple[Decision, ...] = get_args(Decision)

DEFAULT_ACCURACY = 0.7
"""A newcomer's accuracy when the crowd has no estimates at all: better than chance, not yet trusted."""

_ROW_TOLERANCE = 1e-6


@dataclass(frozen=True)
class OverlapPolicy:
    """When an item has enough answers: after ``min_answers``, as soon as its top class reaches ``target``.

    ``min_answers == max_answers`` is fixed overlap with review of the unsure items.
    """

    min_answers: int = 1
    max_answers: int = 5
    target: float = 0.95

    def __post_init__(self) -> None:
        if not 1 <= self.min_answers <= self.max_answers <= 50:
            raise ValueError(
                f"need 1 <= min_answers <= max_answers <= 50, got min_answers={self.min_answers}, "
                f"max_answers={self.max_answers}"
            )
        if not 0.5 <= self.target < 1:
            raise ValueError(f"target must be in [0.5, 1), got {self.target}")


def default_confusion(k: int, accuracy: float) -> FloatArray:
    """One-coin confusion matrix: right with probability ``accuracy``, any wrong class alike otherwise."""
    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must be in [0, 1], got {accuracy}")
    matrix: FloatArray = np.full((k, k), (1.0 - accuracy) / (k - 1))
    np.fill_diagonal(matrix, accuracy)
    return matrix


def population_accuracy(skills: ArrayLike, n_answers: ArrayLike) -> float:
    """The mean accuracy of the annotators who have answered (e.g. ``DawidSkene.skills_``), for a newcomer.

    Unweighted over annotators, since a newcomer is a random annotator, not a random answer; estimates of
    annotators with few answers are shrunk towards chance by Dawid–Skene's priors, which keeps this cautious.
    ``DEFAULT_ACCURACY`` when nobody has answered.
    """
    skill = np.asarray(skills, dtype=np.float64)
    counts = np.asarray(n_answers)
    if skill.shape != counts.shape or skill.ndim != 1:
        raise ValueError("skills and n_answers must be one-dimensional and of the same length")
    known = skill[(counts > 0) & np.isfinite(skill)]
    return float(known.mean()) if known.size else DEFAULT_ACCURACY


def confusions_for(workers: ArrayLike, known: ArrayLike, default: ArrayLike) -> FloatArray:
    """Each answer's confusion matrix, (m, k, k): ``known[w]`` for annotator ``w``, or ``default`` when ``w``
    has no estimate (negative, or not below ``len(known)``: someone who joined since the last fit)."""
    index = np.asarray(workers)
    if index.ndim != 1 or (index.size and not np.issubdtype(index.dtype, np.integer)):
        raise ValueError("workers must be a one-dimensional array of integer indices")
    default_matrix = np.asarray(default, dtype=np.float64)
    k = default_matrix.shape[0] if default_matrix.ndim == 2 else -1
    if default_matrix.shape != (k, k):
        raise ValueError(f"default must be a square (k, k) matrix, got shape {default_matrix.shape}")
    matrices = np.asarray(known, dtype=np.float64).reshape(-1, k, k)
    has = (index >= 0) & (index < matrices.shape[0])
    result: FloatArray = np.broadcast_to(default_matrix, (index.size, k, k)).copy()
    result[has] = matrices[index[has]]
    return result


def item_posterior(labels: ArrayLike, confusions: ArrayLike, prior: ArrayLike) -> FloatArray:
    """labels: (m,) class index per answer; confusions: (m, k, k) the answering annotators' confusion
    matrices (row = true class, col = answered class, rows sum to 1); prior: (k,) class prior.

    Returns the (k,) posterior. Computed in log space, so hundreds of answers cannot underflow; no answers give
    the (normalised) prior; answers that every class rules out (only possible with exact zeros in the
    confusions) give the uniform posterior, the most unsure one.
    """
    answers = np.asarray(labels)
    posterior: FloatArray = posteriors(np.zeros(answers.shape, dtype=np.int64), answers, confusions, prior, 1)[0]
    return posterior


def posteriors(
    tasks: ArrayLike, labels: ArrayLike, confusions_per_answer: ArrayLike, prior: ArrayLike, n_tasks: int
) -> FloatArray:
    """``item_posterior`` for many items at once: answer i gave ``labels[i]`` to item ``tasks[i]`` with
    confusion matrix ``confusions_per_answer[i]``. Returns (n_tasks, k); items without answers get the prior.

    ``prior`` is one (k,) class prior for every item, or (n_tasks, k), one per item — e.g. a calibrated model's
    prediction, so that one answer agreeing with a confident model can settle an item.
    """
    if n_tasks < 0:
        raise ValueError(f"n_tasks must be non-negative, got {n_tasks}")
    weights = np.asarray(prior, dtype=np.float64)
    with np.errstate(divide="ignore"):  # a class the prior rules out stays ruled out
        log_prior = np.log(_item_priors(weights, n_tasks) if weights.ndim == 2 else _prior(weights))
    k = log_prior.shape[-1]
    task_index = index_array(tasks, "tasks", n_tasks)
    label_index = index_array(labels, "labels", k)
    matrices = _confusions(confusions_per_answer, label_index.size, k)
    if task_index.size != label_index.size:
        raise ValueError(f"tasks and labels must have the same length, got {task_index.size} and {label_index.size}")
    # column l_i of e_i: p(answer l_i | true class c) for every c
    with np.errstate(divide="ignore"):
        log_likelihood = np.log(matrices[np.arange(label_index.size), :, label_index])
    log_joint = np.zeros((n_tasks, k))
    np.add.at(log_joint, task_index, log_likelihood)
    log_joint += log_prior
    return _normalise(log_joint)


def decide(posterior: ArrayLike, n_answers: int, policy: OverlapPolicy) -> Decision:
    """An item's next step: "more" below ``min_answers``; then "done" once the top class reaches the target;
    else "review" at ``max_answers`` (or past it) and "more" before."""
    probabilities = np.asarray(posterior, dtype=np.float64)
    if probabilities.ndim != 1 or probabilities.size == 0:
        raise ValueError(f"posterior must be a non-empty (k,) vector, got shape {probabilities.shape}")
    if n_answers < 0:
        raise ValueError(f"n_answers must be non-negative, got {n_answers}")
    if n_answers < policy.min_answers:
        return "more"
    if probabilities.max() >= policy.target:
        return "done"
    return "review" if n_answers >= policy.max_answers else "more"


def decide_many(posteriors: FloatArray, n_answers: IntArray, policy: OverlapPolicy) -> NDArray[np.str_]:
    """``decide`` per row: an array of the strings "done", "more", "review" (dtype ``<U6``), one per item, so
    ``result == "more"`` selects the items to send out again."""
    probabilities = np.asarray(posteriors, dtype=np.float64)
    counts = np.asarray(n_answers)
    if probabilities.ndim != 2 or probabilities.shape[1] == 0:
        raise ValueError(f"posteriors must be (n, k) with k >= 1, got shape {probabilities.shape}")
    if counts.shape != (probabilities.shape[0],):
        raise ValueError(f"n_answers must have shape ({probabilities.shape[0]},), got {counts.shape}")
    if counts.size and counts.min() < 0:
        raise ValueError("n_answers must be non-negative")
    sure = probabilities.max(axis=1) >= policy.target
    waiting = counts < policy.min_answers
    done = ~waiting & sure
    review = ~waiting & ~sure & (counts >= policy.max_answers)
    decisions: NDArray[np.str_] = np.select([done, review], ["done", "review"], "more").astype("<U6")
    return decisions


def _prior(prior: ArrayLike) -> FloatArray:
    weights = np.asarray(prior, dtype=np.float64)
    if weights.ndim != 1 or weights.size < 1:
        raise ValueError(f"prior must be a (k,) vector, got shape {weights.shape}")
    if not np.all(np.isfinite(weights)) or weights.min() < 0 or weights.sum() <= 0:
        raise ValueError("prior must be non-negative and not all zero")
    normalised: FloatArray = weights / weights.sum()
    return normalised


def _item_priors(weights: FloatArray, n_tasks: int) -> FloatArray:
    if weights.shape[0] != n_tasks or weights.shape[1] < 1:
        raise ValueError(f"a per-item prior must have shape ({n_tasks}, k), got {weights.shape}")
    if not np.all(np.isfinite(weights)) or (weights.size and weights.min() < 0):
        raise ValueError("prior must be non-negative and finite")
    totals = weights.sum(axis=1, keepdims=True)
    if np.any(totals <= 0):
        raise ValueError("every item's prior must have some positive mass")
    normalised: FloatArray = weights / totals
    return normalised


def _confusions(values: ArrayLike, m: int, k: int) -> FloatArray:
    matrices = np.asarray(values, dtype=np.float64)
    if matrices.size == 0 and m == 0:
        return np.zeros((0, k, k))
    if matrices.shape != (m, k, k):
        raise ValueError(
            f"confusions must have shape ({m}, {k}, {k}) (answers, classes, classes), got {matrices.shape}"
        )
    if not np.all(np.isfinite(matrices)) or matrices.min() < 0:
        raise ValueError("confusion matrices must hold finite non-negative probabilities")
    if not np.allclose(matrices.sum(axis=2), 1.0, rtol=0.0, atol=_ROW_TOLERANCE):
        raise ValueError("each confusion matrix row (true class) must sum to 1")
    return matrices


def _normalise(log_joint: FloatArray) -> FloatArray:
    """Row-wise softmax; a row that is −inf everywhere (no class possible) becomes uniform."""
    n, k = log_joint.shape
    top = log_joint.max(axis=1, keepdims=True) if k else np.zeros((n, 1))
    impossible = ~np.isfinite(top[:, 0])
    shifted = np.exp(log_joint - np.where(impossible[:, None], 0.0, top))
    shifted[impossible] = 1.0
    result: FloatArray = shifted / shifted.sum(axis=1, keepdims=True)
    return result
