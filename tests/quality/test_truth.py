"""Categorical truth inference on tiny hand-made crowds and on simulated crowds with known truth."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kolam.quality.truth import UNKNOWN, DawidSkene, MajorityVote, OneCoinDawidSkene, TruthInference
from kolam.quality.truth_glad import GLAD
from kolam.quality.truth_hier import HierarchicalDawidSkene
from kolam.quality.truth_mace import MACE
from tests.quality.crowds import Crowd, accuracy

METHODS: list[type[TruthInference]] = [MajorityVote, DawidSkene, OneCoinDawidSkene, GLAD, MACE, HierarchicalDawidSkene]
EM_METHODS: list[type[DawidSkene]] = [DawidSkene, OneCoinDawidSkene]


# --- simulated crowds -------------------------------------------------------------------------------------


def honest(accuracy: float, k: int) -> np.ndarray:
    """Right with probability ``accuracy``, otherwise any other class alike."""
    matrix = np.full((k, k), (1 - accuracy) / (k - 1))
    np.fill_diagonal(matrix, accuracy)
    return matrix


def swapper(accuracy: float, k: int, a: int = 0, b: int = 1) -> np.ndarray:
    """Adversarial: systematically answers b for a and a for b (and is otherwise honest)."""
    matrix = honest(accuracy, k)
    matrix[[a, b]] = matrix[[b, a]]
    return matrix


def lazy(k: int, answer: int = 0) -> np.ndarray:
    """Always gives the same answer, whatever the task."""
    matrix = np.zeros((k, k))
    matrix[:, answer] = 1.0
    return matrix


def simulate(
    rng: np.random.Generator,
    confusions: list[np.ndarray],
    n_tasks: int,
    per_task: int | None = None,
    priors: np.ndarray | None = None,
) -> Crowd:
    """Each task gets ``per_task`` distinct workers (all by default), each answering from their confusion row."""
    matrices = np.stack(confusions)
    n_workers, k, _ = matrices.shape
    per_task = per_task or n_workers
    truth = rng.choice(k, size=n_tasks, p=priors)
    workers = np.argsort(rng.random((n_tasks, n_workers)), axis=1)[:, :per_task].ravel()
    tasks = np.repeat(np.arange(n_tasks), per_task)
    return Crowd(tasks, workers, _answer(rng, matrices, workers, truth[tasks]), truth, k)


def _answer(rng: np.random.Generator, matrices: np.ndarray, workers: np.ndarray, true: np.ndarray) -> np.ndarray:
    cumulative = matrices[workers, true].cumsum(axis=1)
    drawn: np.ndarray = (rng.random(workers.size)[:, None] > cumulative).sum(axis=1)
    answers: np.ndarray = np.minimum(drawn, matrices.shape[1] - 1)
    return answers


# --- tiny hand-made cases, every method -------------------------------------------------------------------

CASES = [
    pytest.param([0, 0, 0], [0, 1, 2], [2, 2, 2], 3, None, [2], id="unanimous"),
    pytest.param([0, 0, 0], [0, 1, 2], [1, 0, 1], 2, None, [1], id="two-against-one"),
    pytest.param([0, 0], [0, 1], [1, 0], 2, None, [0], id="tie-goes-to-lowest-class"),
    pytest.param([0, 0, 0], [0, 1, 2], [1, 1, 1], 2, {0: 0}, [0], id="gold-overrides-votes"),
    pytest.param(
        [0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2], [0, 0, 1, 1, 1, 0], 2, None, [0, 1], id="two-tasks-two-majorities"
    ),
    pytest.param([0, 1, 2], [0, 0, 0], [0, 0, 0], 1, None, [0, 0, 0], id="one-class"),
]


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
@pytest.mark.parametrize(("tasks", "workers", "labels", "n_classes", "gold", "expected"), CASES)
def test_tiny_cases(
    method: type[TruthInference],
    tasks: list[int],
    workers: list[int],
    labels: list[int],
    n_classes: int,
    gold: dict[int, int] | None,
    expected: list[int],
) -> None:
    fitted = method().fit(tasks, workers, labels, n_classes, gold=gold)
    np.testing.assert_array_equal(fitted.labels_, expected)
    np.testing.assert_allclose(fitted.probas_.sum(axis=1), 1.0)


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
def test_fit_predict_and_fit_predict_proba_match_fit(method: type[TruthInference]) -> None:
    args = ([0, 0, 1, 1], [0, 1, 0, 1], [1, 1, 0, 1], 2)
    fitted = method().fit(*args)
    np.testing.assert_array_equal(method().fit_predict(*args), fitted.labels_)
    np.testing.assert_array_equal(method().fit_predict_proba(*args), fitted.probas_)


# --- simulated crowds: what theory says must happen -------------------------------------------------------


def test_dawid_skene_recovers_confusion_matrices_including_adversarial_and_lazy(rng: np.random.Generator) -> None:
    k = 3
    confusions = [honest(0.8, k), honest(0.7, k), honest(0.9, k), honest(0.75, k), swapper(0.85, k), lazy(k)]
    crowd = simulate(rng, confusions, n_tasks=4000)
    fitted = DawidSkene().fit(crowd.tasks, crowd.workers, crowd.labels, k)
    np.testing.assert_allclose(fitted.errors_, np.stack(confusions), atol=0.04)
    np.testing.assert_allclose(fitted.priors_, np.full(k, 1 / k), atol=0.03)
    assert accuracy(fitted.labels_, crowd.truth) > 0.97


def test_one_coin_recovers_accuracies_and_spreads_errors_evenly(rng: np.random.Generator) -> None:
    k, accuracies = 4, [0.9, 0.6, 0.75, 0.5, 0.85]
    crowd = simulate(rng, [honest(a, k) for a in accuracies], n_tasks=3000)
    fitted = OneCoinDawidSkene().fit(crowd.tasks, crowd.workers, crowd.labels, k)
    diagonal = fitted.errors_[:, np.arange(k), np.arange(k)]
    np.testing.assert_allclose(diagonal, np.repeat(np.array(accuracies)[:, None], k, axis=1), atol=0.03)
    off = fitted.errors_[:, ~np.eye(k, dtype=bool)]
    np.testing.assert_allclose(off, np.repeat((1 - diagonal[:, :1]) / (k - 1), k * (k - 1), axis=1))


@pytest.mark.parametrize("method", EM_METHODS, ids=lambda m: m.__name__)
def test_em_beats_majority_vote_when_a_few_good_workers_face_many_poor_ones(
    rng: np.random.Generator, method: type[DawidSkene]
) -> None:
    """Weighted voting (log-odds of each worker's accuracy) is optimal; majority vote lets poor workers outvote."""
    confusions = [honest(0.55, 2)] * 5 + [honest(0.95, 2)] * 2
    crowd = simulate(rng, confusions, n_tasks=3000)
    majority = MajorityVote().fit_predict(crowd.tasks, crowd.workers, crowd.labels, 2)
    em = method().fit_predict(crowd.tasks, crowd.workers, crowd.labels, 2)
    assert accuracy(em, crowd.truth) > accuracy(majority, crowd.truth) + 0.05


def test_dawid_skene_undoes_an_adversarial_and_ignores_a_lazy_worker(rng: np.random.Generator) -> None:
    """Only a full confusion matrix can read a swapper's 1 as a 0; majority vote counts it against the truth."""
    k = 3
    confusions = [honest(0.75, k)] * 3 + [swapper(0.9, k), lazy(k)]
    crowd = simulate(rng, confusions, n_tasks=3000)
    majority = MajorityVote().fit_predict(crowd.tasks, crowd.workers, crowd.labels, k)
    full = DawidSkene().fit_predict(crowd.tasks, crowd.workers, crowd.labels, k)
    assert accuracy(full, crowd.truth) > accuracy(majority, crowd.truth) + 0.15
    assert accuracy(full, crowd.truth) > 0.9


@pytest.mark.parametrize(("method", "gain"), [(DawidSkene, 0.3), (OneCoinDawidSkene, 0.02)], ids=["DS", "OneCoinDS"])
def test_gold_improves_accuracy_on_a_hard_crowd(
    rng: np.random.Generator, method: type[DawidSkene], gain: float
) -> None:
    """Most workers swap classes 0 and 1: without gold the swapped world explains the answers as well as the
    true one (label switching), and majority vote starts EM in the wrong one; a fifth of tasks with gold
    shows which world is real.
    """
    k, n_tasks = 4, 2000
    crowd = simulate(rng, [swapper(0.8, k)] * 3 + [honest(0.7, k)] * 2, n_tasks=n_tasks)
    gold_tasks = rng.choice(n_tasks, size=n_tasks // 5, replace=False)
    gold = {int(t): int(crowd.truth[t]) for t in gold_tasks}
    others = np.ones(n_tasks, dtype=bool)
    others[gold_tasks] = False
    without = method().fit_predict(crowd.tasks, crowd.workers, crowd.labels, k)
    anchored = method().fit_predict(crowd.tasks, crowd.workers, crowd.labels, k, gold=gold)
    assert accuracy(anchored, crowd.truth, others) > accuracy(without, crowd.truth, others) + gain
    np.testing.assert_array_equal(anchored[gold_tasks], crowd.truth[gold_tasks])


@pytest.mark.parametrize("method", EM_METHODS, ids=lambda m: m.__name__)
def test_sparse_workers_do_not_explode(rng: np.random.Generator, method: type[DawidSkene]) -> None:
    """400 workers with ~10 answers each, 2 answers a task, 6 classes: 36 parameters a worker cannot be
    estimated, so the priors must hold EM near majority vote (with a weak diagonal prior it fell to ~0.17).
    """
    k = 6
    crowd = simulate(rng, [honest(a, k) for a in rng.uniform(0.3, 0.9, size=400)], n_tasks=2000, per_task=2)
    majority = MajorityVote().fit_predict(crowd.tasks, crowd.workers, crowd.labels, k)
    em = method().fit_predict(crowd.tasks, crowd.workers, crowd.labels, k)
    assert accuracy(em, crowd.truth) > accuracy(majority, crowd.truth) - 0.02


@pytest.mark.parametrize("method", EM_METHODS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("with_gold", [False, True], ids=["no-gold", "gold"])
def test_em_loss_never_increases(rng: np.random.Generator, method: type[DawidSkene], with_gold: bool) -> None:
    k = 3
    crowd = simulate(rng, [honest(a, k) for a in (0.5, 0.6, 0.9)] + [swapper(0.8, k)], n_tasks=500, per_task=2)
    gold = {t: int(crowd.truth[t]) for t in range(0, 500, 10)} if with_gold else None
    fitted = method(tol=0.0, n_iter=30).fit(crowd.tasks, crowd.workers, crowd.labels, k, gold=gold)
    assert fitted.n_iter_ == 30
    assert np.all(np.diff(fitted.loss_history_) <= 1e-12)


# --- invariants (hypothesis, derandomised so every run checks the same crowds) ----------------------------


def _random_crowd(seed: int) -> Crowd:
    generator = np.random.default_rng(seed)
    k = int(generator.integers(2, 5))
    matrices = [np.stack([generator.dirichlet(np.ones(k) + 4 * np.eye(k)[row]) for row in range(k)]) for _ in range(6)]
    return simulate(generator, matrices, n_tasks=int(generator.integers(5, 60)), per_task=3)


INVARIANT_SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
@INVARIANT_SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_permuting_label_ids_permutes_the_output(method: type[TruthInference], seed: int) -> None:
    crowd = _random_crowd(seed)
    k = crowd.n_classes
    permutation = np.random.default_rng(seed).permutation(k)
    gold = {0: int(crowd.truth[0])}
    original = method().fit(crowd.tasks, crowd.workers, crowd.labels, k, gold=gold)
    permuted_gold = {0: int(permutation[crowd.truth[0]])}
    renamed = method().fit(crowd.tasks, crowd.workers, permutation[crowd.labels], k, gold=permuted_gold)
    np.testing.assert_allclose(renamed.probas_[:, permutation], original.probas_, atol=1e-9)
    if isinstance(original, DawidSkene) and isinstance(renamed, DawidSkene):
        np.testing.assert_allclose(renamed.errors_[:, permutation][:, :, permutation], original.errors_, atol=1e-9)
    if isinstance(original, MACE) and isinstance(renamed, MACE):
        np.testing.assert_allclose(renamed.competence_, original.competence_, atol=1e-9)
        np.testing.assert_allclose(renamed.spam_strategy_[:, permutation], original.spam_strategy_, atol=1e-9)


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
@INVARIANT_SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_renumbering_workers_and_shuffling_answers_changes_nothing(method: type[TruthInference], seed: int) -> None:
    crowd = _random_crowd(seed)
    generator = np.random.default_rng(seed)
    n_workers = int(crowd.workers.max()) + 1
    renumber = generator.permutation(n_workers)
    shuffle = generator.permutation(crowd.tasks.size)
    original = method().fit(crowd.tasks, crowd.workers, crowd.labels, crowd.n_classes)
    moved = method().fit(crowd.tasks[shuffle], renumber[crowd.workers][shuffle], crowd.labels[shuffle], crowd.n_classes)
    np.testing.assert_array_equal(moved.labels_, original.labels_)
    np.testing.assert_allclose(moved.probas_, original.probas_, atol=1e-8)
    if isinstance(original, DawidSkene) and isinstance(moved, DawidSkene):
        np.testing.assert_allclose(moved.errors_[renumber], original.errors_, atol=1e-9)
    if isinstance(original, GLAD) and isinstance(moved, GLAD):
        np.testing.assert_allclose(moved.abilities_[renumber], original.abilities_, atol=1e-8)
        np.testing.assert_allclose(moved.difficulties_, original.difficulties_, atol=1e-8)


# --- edge cases -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
def test_one_worker_is_simply_believed(method: type[TruthInference]) -> None:
    labels = [0, 2, 1, 2, 0]
    fitted = method().fit([0, 1, 2, 3, 4], [0] * 5, labels, 3)
    np.testing.assert_array_equal(fitted.labels_, labels)


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
def test_one_task(method: type[TruthInference]) -> None:
    fitted = method().fit([0, 0, 0, 0], [0, 1, 2, 3], [1, 1, 1, 0], 2)
    np.testing.assert_array_equal(fitted.labels_, [1])
    assert fitted.probas_.shape == (1, 2)


def test_a_class_nobody_used_keeps_its_prior_rows() -> None:
    """Class 2 never answered: its confusion row stays near the Dirichlet prior (1, 1, 3)/5, its prior small."""
    fitted = DawidSkene().fit([0, 0, 1, 1], [0, 1, 0, 1], [0, 0, 1, 1], 3)
    np.testing.assert_allclose(fitted.errors_[:, 2], np.tile([1 / 5, 1 / 5, 3 / 5], (2, 1)), atol=0.03)
    assert fitted.priors_[2] < fitted.priors_[0]
    np.testing.assert_array_equal(fitted.labels_, [0, 1])


def test_unanswered_tasks_get_uniform_votes_or_the_class_prior() -> None:
    """Majority vote has nothing to count; EM falls back on the estimated class prior, tilted here to 1."""
    args = ([3, 3, 3], [0, 1, 2], [1, 1, 0], 2)
    np.testing.assert_allclose(MajorityVote().fit(*args).probas_[:3], 0.5)
    for method in EM_METHODS:
        fitted = method().fit(*args)
        np.testing.assert_allclose(fitted.probas_[:3], np.tile(fitted.priors_, (3, 1)))
        np.testing.assert_array_equal(fitted.labels_, [1, 1, 1, 1])


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
def test_no_answers_at_all(method: type[TruthInference]) -> None:
    fitted = method().fit([], [], [], 3, n_tasks=2, n_workers=1)
    assert fitted.probas_.shape == (2, 3)
    np.testing.assert_allclose(fitted.probas_, 1 / 3)


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
def test_gold_as_array_and_on_an_unanswered_task(method: type[TruthInference]) -> None:
    as_array = method().fit([0, 0], [0, 1], [1, 1], 2, gold=np.array([UNKNOWN, 0]))
    as_mapping = method().fit([0, 0], [0, 1], [1, 1], 2, gold={1: 0})
    np.testing.assert_array_equal(as_array.labels_, [1, 0])
    np.testing.assert_array_equal(as_mapping.probas_, as_array.probas_)


def test_majority_vote_skills_are_agreement_with_consensus() -> None:
    fitted = MajorityVote().fit([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2], [1, 1, 0, 0, 0, 0], 2, n_workers=4)
    np.testing.assert_allclose(fitted.skills_[:3], [1.0, 1.0, 0.5])
    assert np.isnan(fitted.skills_[3])


BAD_INPUTS: list[tuple[str, Callable[[], object]]] = [
    ("lengths-differ", lambda: MajorityVote().fit([0, 1], [0], [0, 1], 2)),
    ("label-out-of-range", lambda: MajorityVote().fit([0], [0], [2], 2)),
    ("negative-task", lambda: MajorityVote().fit([-1], [0], [0], 2)),
    ("float-indices", lambda: MajorityVote().fit([0.5], [0], [0], 2)),
    ("n-tasks-too-small", lambda: MajorityVote().fit([3], [0], [0], 2, n_tasks=2)),
    ("gold-label-out-of-range", lambda: MajorityVote().fit([0], [0], [0], 2, gold={0: 5})),
    ("gold-task-out-of-range", lambda: MajorityVote().fit([0], [0], [0], 2, n_tasks=1, gold={3: 0})),
    ("gold-array-too-short", lambda: MajorityVote().fit([0, 1], [0, 0], [0, 0], 2, gold=np.array([0]))),
    ("gold-array-too-long", lambda: MajorityVote().fit([0], [0], [0], 2, n_tasks=1, gold=np.array([0, 1]))),
    ("no-classes", lambda: MajorityVote().fit([], [], [], 0)),
    ("zero-iterations", lambda: DawidSkene(n_iter=0)),
    ("negative-pseudo-count", lambda: DawidSkene(pseudo_count=-1.0)),
]


@pytest.mark.parametrize("call", [c for _, c in BAD_INPUTS], ids=[name for name, _ in BAD_INPUTS])
def test_bad_input_is_refused(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


# --- timing (printed, not asserted: run with -s to see it) ------------------------------------------------


@pytest.mark.slow
def test_dawid_skene_timing_on_a_million_labels(rng: np.random.Generator) -> None:
    """The issue's benchmark shape: 200,000 tasks x 5 answers, 2,000 workers, 5 classes; goal <= 5 s."""
    k, n_tasks, per_task, n_workers = 5, 200_000, 5, 2_000
    accuracies = rng.uniform(0.5, 0.95, size=n_workers)
    matrices = np.repeat(((1 - accuracies) / (k - 1))[:, None, None], k, axis=1).repeat(k, axis=2)
    matrices[:, np.arange(k), np.arange(k)] = accuracies[:, None]
    truth = rng.integers(0, k, size=n_tasks)
    tasks = np.repeat(np.arange(n_tasks), per_task)
    workers = rng.integers(0, n_workers, size=tasks.size)
    labels = _answer(rng, matrices, workers, truth[tasks])
    started = time.perf_counter()
    fitted = DawidSkene().fit(tasks, workers, labels, k, n_workers=n_workers)
    seconds = time.perf_counter() - started
    print(
        f"\nDawidSkene on {tasks.size:,} labels: {seconds:.2f} s, {fitted.n_iter_} iterations, "
        f"accuracy {accuracy(fitted.labels_, truth):.4f}"
    )
