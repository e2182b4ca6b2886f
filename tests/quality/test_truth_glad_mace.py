"""GLAD and MACE on simulated crowds with known truth, their own edge cases, and at a million labels.

The tiny hand-made cases, invariants and shared edge cases run for every method in test_truth.py."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest

from kolam.quality.truth import MajorityVote, TruthInference
from kolam.quality.truth_glad import GLAD
from kolam.quality.truth_mace import MACE
from tests.quality.crowds import Crowd, accuracy

METHODS: list[type[GLAD] | type[MACE]] = [GLAD, MACE]


def assign(rng: np.random.Generator, n_tasks: int, n_workers: int, per_task: int) -> tuple[np.ndarray, np.ndarray]:
    """Each task gets ``per_task`` distinct workers drawn at random."""
    workers = np.argsort(rng.random((n_tasks, n_workers)), axis=1)[:, :per_task].ravel()
    return np.repeat(np.arange(n_tasks), per_task), workers


def wrong_answer(rng: np.random.Generator, true: np.ndarray, k: int) -> np.ndarray:
    """Any class but the true one, alike."""
    shifted: np.ndarray = (true + rng.integers(1, k, size=true.size)) % k
    return shifted


def glad_crowd(
    rng: np.random.Generator, abilities: np.ndarray, difficulties: np.ndarray, k: int, per_task: int
) -> Crowd:
    """GLAD's own model: right with probability σ(α_w β_t), otherwise any other class alike."""
    truth = rng.integers(0, k, size=difficulties.size)
    tasks, workers = assign(rng, difficulties.size, abilities.size, per_task)
    right = rng.random(tasks.size) < 1 / (1 + np.exp(-abilities[workers] * difficulties[tasks]))
    labels = np.where(right, truth[tasks], wrong_answer(rng, truth[tasks], k))
    return Crowd(tasks, workers, labels, truth, k)


def spam_crowd(
    rng: np.random.Generator, n_tasks: int, accuracies: list[float], n_spammers: int, k: int, per_task: int
) -> Crowd:
    """A few honest workers (given accuracies) among uniform random spammers; workers 0.. are the honest ones."""
    truth = rng.integers(0, k, size=n_tasks)
    n_good = len(accuracies)
    tasks, workers = assign(rng, n_tasks, n_good + n_spammers, per_task)
    accuracy = np.concatenate([accuracies, np.zeros(n_spammers)])[workers]
    honest = np.where(rng.random(tasks.size) < accuracy, truth[tasks], wrong_answer(rng, truth[tasks], k))
    labels = np.where(workers < n_good, honest, rng.integers(0, k, size=tasks.size))
    return Crowd(tasks, workers, labels, truth, k)


def ranks(values: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(values)).astype(np.float64)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


# --- simulated crowds: what the models promise ------------------------------------------------------------


def test_glad_recovers_the_ranking_of_abilities_and_finds_the_hard_items(rng: np.random.Generator) -> None:
    abilities = np.linspace(0.2, 3.0, 15)
    difficulties = np.where(rng.random(3000) < 0.3, 0.25, 2.0)
    crowd = glad_crowd(rng, abilities, difficulties, k=3, per_task=7)
    fitted = GLAD().fit(crowd.tasks, crowd.workers, crowd.labels, crowd.n_classes)
    assert spearman(fitted.abilities_, abilities) > 0.9
    hardness = 1 / fitted.difficulties_
    hard = difficulties < 1
    assert hardness[hard].mean() > 1.5 * hardness[~hard].mean()
    assert accuracy(fitted.labels_, crowd.truth) >= accuracy(MajorityVote().fit_predict(*_args(crowd)), crowd.truth)


def _args(crowd: Crowd) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    return crowd.tasks, crowd.workers, crowd.labels, crowd.n_classes


@pytest.mark.parametrize(("method", "gain"), [(GLAD, 0.15), (MACE, 0.15)], ids=["GLAD", "MACE"])
def test_beats_majority_vote_when_a_few_good_workers_face_uniform_spammers(
    rng: np.random.Generator, method: type[TruthInference], gain: float
) -> None:
    crowd = spam_crowd(rng, n_tasks=3000, accuracies=[0.9, 0.85, 0.9], n_spammers=12, k=4, per_task=5)
    majority = accuracy(MajorityVote().fit_predict(*_args(crowd)), crowd.truth)
    assert accuracy(method().fit_predict(*_args(crowd)), crowd.truth) >= majority + gain


def test_mace_tells_honest_workers_from_spammers_and_learns_a_lazy_spammers_habit(rng: np.random.Generator) -> None:
    crowd = spam_crowd(rng, n_tasks=2000, accuracies=[0.9, 0.8, 0.95, 0.85], n_spammers=8, k=4, per_task=5)
    lazy = crowd.workers == 11
    labels = np.where(lazy, 2, crowd.labels)
    fitted = MACE().fit(crowd.tasks, crowd.workers, labels, crowd.n_classes)
    assert fitted.competence_[:4].min() > 0.7
    assert fitted.competence_[4:].max() < 0.3
    assert fitted.spam_strategy_[11].argmax() == 2 and fitted.spam_strategy_[11, 2] > 0.9
    np.testing.assert_allclose(fitted.spam_strategy_.sum(axis=1), 1.0)


def test_glad_gives_an_adversary_a_negative_ability_and_undoes_them(rng: np.random.Generator) -> None:
    abilities = np.array([1.5, 1.5, 1.5, -2.0])
    crowd = glad_crowd(rng, abilities, np.full(1000, 1.5), k=2, per_task=4)
    fitted = GLAD().fit(*_args(crowd))
    assert fitted.abilities_[3] < 0 < fitted.abilities_[:3].min()
    assert accuracy(fitted.labels_, crowd.truth) > 0.9


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
def test_gold_improves_accuracy_on_a_hard_crowd(rng: np.random.Generator, method: type[TruthInference]) -> None:
    crowd = spam_crowd(rng, n_tasks=600, accuracies=[0.8, 0.75], n_spammers=10, k=3, per_task=3)
    gold_tasks = rng.choice(600, size=150, replace=False)
    gold = {int(task): int(crowd.truth[task]) for task in gold_tasks}
    rest = np.setdiff1d(np.arange(600), gold_tasks)
    without = method().fit_predict(*_args(crowd))
    with_gold = method().fit_predict(*_args(crowd), gold=gold)
    np.testing.assert_array_equal(with_gold[gold_tasks], crowd.truth[gold_tasks])
    assert accuracy(with_gold[rest], crowd.truth[rest]) >= accuracy(without[rest], crowd.truth[rest])


@pytest.mark.parametrize("with_gold", [False, True], ids=["no-gold", "gold"])
def test_mace_loss_never_increases(rng: np.random.Generator, with_gold: bool) -> None:
    crowd = spam_crowd(rng, n_tasks=500, accuracies=[0.8, 0.7], n_spammers=6, k=3, per_task=3)
    gold = {0: int(crowd.truth[0]), 7: int(crowd.truth[7])} if with_gold else None
    fitted = MACE(tol=0.0, n_iter=40).fit(*_args(crowd), gold=gold)
    assert np.all(np.diff(fitted.loss_history_) <= 1e-12)


def test_glad_loss_falls_and_settles(rng: np.random.Generator) -> None:
    """Fisher-scoring M-steps need not be monotone step by step, but the objective must fall and converge."""
    crowd = glad_crowd(rng, np.linspace(0.3, 2.5, 10), rng.uniform(0.3, 2.0, 800), k=3, per_task=5)
    fitted = GLAD().fit(*_args(crowd))
    assert fitted.loss_history_[-1] < fitted.loss_history_[0]
    assert fitted.n_iter_ < fitted.n_iter


# --- edge cases -------------------------------------------------------------------------------------------


def test_fitted_shapes_and_a_worker_without_answers() -> None:
    glad = GLAD().fit([0, 0, 1], [0, 1, 0], [1, 1, 0], 2, n_tasks=3, n_workers=3)
    assert glad.abilities_.shape == (3,) and glad.difficulties_.shape == (3,)
    assert glad.abilities_[2] == pytest.approx(glad.ability_mean)
    assert glad.difficulties_[2] == pytest.approx(1.0)
    mace = MACE().fit([0, 0, 1], [0, 1, 0], [1, 1, 0], 2, n_tasks=3, n_workers=3)
    assert mace.competence_.shape == (3,) and mace.spam_strategy_.shape == (3, 2)
    assert mace.competence_[2] == pytest.approx(0.5)


def test_mace_without_pseudo_counts_stays_finite() -> None:
    """θ reaches exactly 1 and unused strategy entries exactly 0; the posteriors must still be numbers."""
    bare = MACE(truthful_pseudo_count=0.0, spam_pseudo_count=0.0, strategy_pseudo_count=0.0, class_pseudo_count=0.0)
    fitted = bare.fit([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2], [2, 2, 2, 1, 1, 0], 3)
    assert np.isfinite(fitted.probas_).all()
    np.testing.assert_array_equal(fitted.labels_, [2, 1])


BAD_INPUTS: list[tuple[str, Callable[[], object]]] = [
    ("glad-zero-iterations", lambda: GLAD(n_iter=0)),
    ("glad-zero-m-steps", lambda: GLAD(m_steps=0)),
    ("glad-zero-variance", lambda: GLAD(ability_var=0.0)),
    ("glad-negative-pseudo-count", lambda: GLAD(class_pseudo_count=-1.0)),
    ("mace-zero-iterations", lambda: MACE(n_iter=0)),
    ("mace-negative-pseudo-count", lambda: MACE(spam_pseudo_count=-1.0)),
    ("label-out-of-range", lambda: MACE().fit([0], [0], [2], 2)),
    ("lengths-differ", lambda: GLAD().fit([0, 1], [0], [0, 1], 2)),
]


@pytest.mark.parametrize("call", [c for _, c in BAD_INPUTS], ids=[name for name, _ in BAD_INPUTS])
def test_bad_input_is_refused(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


# --- timing (printed, not asserted: run with -s to see it) ------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
def test_timing_on_a_million_labels(rng: np.random.Generator, method: type[GLAD] | type[MACE]) -> None:
    """The issue's benchmark shape: 200,000 tasks x 5 answers, 2,000 workers, 5 classes."""
    k, n_tasks, per_task, n_workers = 5, 200_000, 5, 2_000
    truth = rng.integers(0, k, size=n_tasks)
    tasks = np.repeat(np.arange(n_tasks), per_task)
    workers = rng.integers(0, n_workers, size=tasks.size)
    right = rng.random(tasks.size) < rng.uniform(0.5, 0.95, size=n_workers)[workers]
    labels = np.where(right, truth[tasks], wrong_answer(rng, truth[tasks], k))
    started = time.perf_counter()
    fitted = method().fit(tasks, workers, labels, k, n_workers=n_workers)
    seconds = time.perf_counter() - started
    print(
        f"\n{method.__name__} on {tasks.size:,} labels: {seconds:.2f} s, {fitted.n_iter_} iterations, "
        f"accuracy {accuracy(fitted.labels_, truth):.4f}"
    )
