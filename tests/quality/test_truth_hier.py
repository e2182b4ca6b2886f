"""Hierarchical (empirical-Bayes, variational) Dawid–Skene on simulated crowds with known truth, and the
registry of methods. The tiny cases, invariants and shared edge cases run for every method in test_truth.py."""

from __future__ import annotations

import numpy as np
import pytest

from kolam.quality.methods import DEFAULT_METHOD, METHODS, make_method
from kolam.quality.truth import DawidSkene, MajorityVote, TruthInference
from kolam.quality.truth_hier import HierarchicalDawidSkene, digamma, log_gamma
from tests.quality.crowds import Crowd, accuracy
from tests.quality.test_truth import honest, lazy, simulate, swapper


def _fit(method: TruthInference, crowd: Crowd, **kwargs: object) -> TruthInference:
    return method.fit(crowd.tasks, crowd.workers, crowd.labels, crowd.n_classes, n_tasks=crowd.truth.size, **kwargs)


def test_log_gamma_and_digamma_match_known_values() -> None:
    x = np.array([0.5, 1.0, 2.0, 3.5, 10.0, 1e-3, 1e4])
    expected_log_gamma = [np.log(np.sqrt(np.pi)), 0.0, 0.0, np.log(3.3233509704478426), np.log(362880.0)]
    np.testing.assert_allclose(log_gamma(x)[:5], expected_log_gamma, atol=1e-10)
    np.testing.assert_allclose(log_gamma(x)[5:], [6.907178885383854, 82099.71749644238], rtol=1e-10)
    euler = 0.5772156649015329
    expected_digamma = [-euler - 2 * np.log(2), -euler, 1 - euler, 1.1031566406452432, 2.251752589066721]
    np.testing.assert_allclose(digamma(x)[:5], expected_digamma, atol=1e-10)
    # the defining recurrences, far from where the series is evaluated
    np.testing.assert_allclose(log_gamma(x + 1) - log_gamma(x), np.log(x), atol=1e-9)
    np.testing.assert_allclose(digamma(x + 1) - digamma(x), 1 / x, rtol=1e-9)


def test_recovers_confusion_matrices_of_busy_workers(rng: np.random.Generator) -> None:
    """With thousands of answers each, the population prior is a drop in the ocean: rows are the workers' own."""
    k = 3
    confusions = [honest(0.8, k), honest(0.7, k), honest(0.9, k), honest(0.75, k), swapper(0.85, k), lazy(k)]
    crowd = simulate(rng, confusions, n_tasks=4000)
    fitted = HierarchicalDawidSkene().fit(crowd.tasks, crowd.workers, crowd.labels, k)
    np.testing.assert_allclose(fitted.errors_, np.stack(confusions), atol=0.04)
    np.testing.assert_allclose(fitted.errors_.sum(axis=2), 1.0)
    assert accuracy(fitted.labels_, crowd.truth) > 0.97


def test_sparse_workers_borrow_the_crowds_confusion(rng: np.random.Generator) -> None:
    """Everyone mistakes class 1 for class 0 30 % of the time; a worker with a few answers on class 1 cannot
    show it, so plain Dawid–Skene gives them mostly its diagonal prior, while the hierarchical model gives them
    the crowd's row. The pooled row is (2500 answers · truth + 300 workers · (1, 3, 1)) / 4000 ≈ (.26, .63, .11)."""
    k = 3
    shared = honest(0.9, k)
    shared[1] = [0.3, 0.65, 0.05]
    crowd = simulate(rng, [shared] * 300, n_tasks=1500, per_task=5)
    fitted = _fit(HierarchicalDawidSkene(), crowd)
    assert isinstance(fitted, HierarchicalDawidSkene)
    np.testing.assert_allclose(fitted.population_[1], [0.26, 0.63, 0.11], atol=0.05)
    plain = _fit(DawidSkene(), crowd)
    assert isinstance(plain, DawidSkene)
    assert fitted.errors_[:, 1, 0].mean() > plain.errors_[:, 1, 0].mean() + 0.03
    assert np.all((fitted.strength_ >= 1.0) & (fitted.strength_ <= 2 * k - 1))


@pytest.mark.parametrize(
    ("name", "confusions", "per_task"),
    [
        pytest.param("few-good", [honest(0.9, 3)] * 3 + [honest(0.45, 3)] * 12, 7, id="a-few-good-among-many-poor"),
        pytest.param("spammers", [honest(0.85, 4)] * 6 + [np.full((4, 4), 0.25)] * 14, 5, id="70%-spammers"),
        pytest.param("adversary", [honest(0.75, 3)] * 3 + [swapper(0.9, 3), lazy(3)], 5, id="swapper-and-lazy"),
    ],
)
def test_beats_majority_vote_where_dawid_skene_must(
    rng: np.random.Generator, name: str, confusions: list[np.ndarray], per_task: int
) -> None:
    """Where weighting workers is the whole point, pooling must not wash the good ones out (an unbounded
    strength did: on the spammer crowd every worker was pulled onto the spammers' uniform row)."""
    crowd = simulate(rng, confusions, n_tasks=1500, per_task=per_task)
    majority = accuracy(_fit(MajorityVote(), crowd).labels_, crowd.truth)
    plain = accuracy(_fit(DawidSkene(), crowd).labels_, crowd.truth)
    hierarchical = accuracy(_fit(HierarchicalDawidSkene(), crowd).labels_, crowd.truth)
    assert hierarchical > majority + 0.05, name
    assert hierarchical > plain - 0.02, name


def test_many_sparse_poor_workers_do_not_lose_a_class(rng: np.random.Generator) -> None:
    """Five good workers among 400 poor ones with ~6 answers each: without the anchor on the pooled confusion,
    one shared matrix absorbed a class (its prior fell to 0.003) and accuracy dropped 0.09 below majority."""
    k = 4
    confusions = [honest(0.9, k)] * 5 + [honest(a, k) for a in rng.uniform(0.25, 0.6, size=400)]
    crowd = simulate(rng, confusions, n_tasks=600, per_task=4)
    fitted = _fit(HierarchicalDawidSkene(), crowd)
    majority = accuracy(_fit(MajorityVote(), crowd).labels_, crowd.truth)
    assert accuracy(fitted.labels_, crowd.truth) > majority - 0.03
    assert isinstance(fitted, HierarchicalDawidSkene)
    assert fitted.priors_.min() > 0.1


@pytest.mark.parametrize("variational", [True, False], ids=["variational", "map"])
def test_gold_anchors_a_label_switched_crowd(rng: np.random.Generator, variational: bool) -> None:
    k, n_tasks = 4, 2000
    crowd = simulate(rng, [swapper(0.8, k)] * 3 + [honest(0.7, k)] * 2, n_tasks=n_tasks)
    gold_tasks = rng.choice(n_tasks, size=n_tasks // 5, replace=False)
    gold = {int(t): int(crowd.truth[t]) for t in gold_tasks}
    others = np.ones(n_tasks, dtype=bool)
    others[gold_tasks] = False
    without = _fit(HierarchicalDawidSkene(variational=variational), crowd).labels_
    anchored = _fit(HierarchicalDawidSkene(variational=variational), crowd, gold=gold).labels_
    assert accuracy(anchored, crowd.truth, others) > accuracy(without, crowd.truth, others) + 0.3
    np.testing.assert_array_equal(anchored[gold_tasks], crowd.truth[gold_tasks])


def test_deterministic_and_refittable(rng: np.random.Generator) -> None:
    crowd = simulate(rng, [honest(a, 3) for a in rng.uniform(0.4, 0.9, size=60)], n_tasks=300, per_task=3)
    method = HierarchicalDawidSkene()
    first = _fit(method, crowd).probas_.copy()
    again = _fit(method, crowd).probas_
    fresh = _fit(HierarchicalDawidSkene(), crowd).probas_
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, fresh)


def test_loss_settles(rng: np.random.Generator) -> None:
    crowd = simulate(rng, [honest(a, 3) for a in rng.uniform(0.4, 0.9, size=40)], n_tasks=400, per_task=3)
    fitted = _fit(HierarchicalDawidSkene(n_iter=200, tol=1e-9), crowd)
    assert isinstance(fitted, HierarchicalDawidSkene)
    assert fitted.n_iter_ < 200
    assert np.all(np.isfinite(fitted.loss_history_))


@pytest.mark.parametrize(
    "kwargs", [{"min_strength": 0.0}, {"min_strength": 3.0, "max_strength": 2.0}, {"n_strengths": 0}, {"n_iter": 0}]
)
def test_bad_hyper_parameters_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        HierarchicalDawidSkene(**kwargs)  # type: ignore[arg-type]


def test_registry_makes_every_method_fresh_and_names_the_allowed_ones() -> None:
    assert {"majority", "dawid_skene", "one_coin", "glad", "mace"} <= set(METHODS)
    assert DEFAULT_METHOD in METHODS
    for name in METHODS:
        first, second = make_method(name), make_method(name, seed=7)
        assert isinstance(first, TruthInference)
        assert first is not second
    assert isinstance(make_method(DEFAULT_METHOD), HierarchicalDawidSkene)
    with pytest.raises(ValueError, match=r"dawid_skene.*majority"):
        make_method("best")
