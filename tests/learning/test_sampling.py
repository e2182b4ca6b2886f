"""Active-learning samplers on tiny hand-made cases whose answers can be checked by eye."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import ArrayLike, NDArray

from kolam.learning.sampling import (
    cluster_margin,
    cold_start,
    entropy,
    hybrid,
    k_center_greedy,
    least_confidence,
    margin,
    priorities,
)

Score = Callable[[ArrayLike], NDArray[np.float64]]

UNCERTAINTY_CASES = [
    # (probabilities, margin, entropy, least confidence)
    pytest.param([[0.5, 0.5]], 1.0, 1.0, 1.0, id="two-way-tie"),
    pytest.param([[1.0, 0.0, 0.0]], 0.0, 0.0, 0.0, id="one-hot"),
    pytest.param([[1 / 3, 1 / 3, 1 / 3]], 1.0, 1.0, 1.0, id="uniform-three"),
    pytest.param([[0.8, 0.2]], 0.4, 0.7219280948873623, 0.4, id="eighty-twenty"),
    pytest.param([[0.5, 0.3, 0.2]], 0.8, 0.9372305632161294, 0.75, id="five-three-two"),
]


@pytest.mark.parametrize(("p", "expected_margin", "expected_entropy", "expected_lc"), UNCERTAINTY_CASES)
def test_uncertainty_scores(p: list[list[float]], expected_margin: float, expected_entropy: float, expected_lc: float):
    assert margin(p) == pytest.approx([expected_margin])
    assert entropy(p) == pytest.approx([expected_entropy])
    assert least_confidence(p) == pytest.approx([expected_lc])


@pytest.mark.parametrize("score", [margin, entropy, least_confidence], ids=lambda f: f.__name__)
def test_scores_rank_unsure_above_sure(score: Score):
    p = np.array([[0.9, 0.1], [0.6, 0.4], [0.99, 0.01]])
    assert list(np.argsort(-score(p))) == [1, 0, 2]


@pytest.mark.parametrize("score", [margin, entropy, least_confidence], ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("bad", "message"),
    [
        pytest.param([0.5, 0.5], "shape", id="one-dimensional"),
        pytest.param([[1.0]], "k >= 2", id="one-class"),
        pytest.param([[0.5, np.nan]], "finite", id="nan"),
        pytest.param([[1.5, -0.5]], r"\[0, 1\]", id="out-of-range"),
        pytest.param([[0.5, 0.4]], "sum to 1", id="row-sum"),
    ],
)
def test_scores_reject_bad_probabilities(score: Score, bad: list[list[float]], message: str):
    with pytest.raises(ValueError, match=f"probabilities.*{message}|{message}"):
        score(bad)


def test_priorities_are_rank_buckets():
    assert priorities([0.1, 0.9, 0.5]).tolist() == [0, 1000, 500]
    assert priorities([0.1, 0.9, 0.5], levels=10, base=100).tolist() == [100, 110, 105]


def test_priorities_ties_share_their_average_rank():
    assert priorities([0.2, 0.2, 0.9]).tolist() == [250, 250, 1000]
    assert priorities([0.3, 0.3]).tolist() == [500, 500]


def test_priorities_edge_sizes():
    assert priorities([]).tolist() == []
    assert priorities([0.4]).tolist() == [1000]


def test_priorities_ignore_the_scale_of_scores():
    scores = np.array([0.01, 0.02, 0.5, 0.03])
    assert priorities(scores).tolist() == priorities(scores * 100 + 7).tolist()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"scores": [[0.1]]}, "scores must be one-dimensional", id="2d"),
        pytest.param({"scores": [np.nan]}, "scores must be finite", id="nan"),
        pytest.param({"scores": [0.1], "levels": 0}, "levels", id="levels"),
        pytest.param({"scores": [0.1], "base": 2**31 - 10}, "32-bit", id="overflow"),
    ],
)
def test_priorities_validation(kwargs: dict[str, object], message: str):
    with pytest.raises(ValueError, match=message):
        priorities(**kwargs)  # type: ignore[arg-type]


LINE = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [10.0, 0.0], [5.0, 0.0]])


def test_k_center_greedy_takes_the_farthest_point_each_time():
    # labelled: the point at 0; farthest is 10, then 5 (distance 5 from both), then 2 (distance 2 from 0)
    assert k_center_greedy(LINE, 3, already=[0]).tolist() == [3, 4, 2]


def test_k_center_greedy_never_returns_labelled_points():
    picks = k_center_greedy(LINE, 3, already=[3, 4])
    assert not set(picks.tolist()) & {3, 4}
    assert sorted(picks.tolist()) == [0, 1, 2]
    assert picks[0] == 0  # distance 5 from the point at 5, the farthest from {5, 10}


def test_k_center_greedy_without_labels_starts_at_random_then_goes_far(rng: np.random.Generator):
    x = rng.normal(size=(200, 3))
    first = k_center_greedy(x, 5, seed=7)
    again = k_center_greedy(x, 5, seed=7)
    assert first.tolist() == again.tolist()
    assert len(set(first.tolist())) == 5
    distances = np.linalg.norm(x - x[first[0]], axis=1)
    assert first[1] == int(np.argmax(distances))


def test_k_center_greedy_handles_duplicates_and_all_points():
    x = np.zeros((4, 2))
    assert sorted(k_center_greedy(x, 4, seed=0).tolist()) == [0, 1, 2, 3]
    assert k_center_greedy(LINE, 0).tolist() == []


def test_k_center_greedy_covers_within_twice_the_radius(rng: np.random.Generator):
    x = rng.normal(size=(300, 4))
    picks = k_center_greedy(x, 10, seed=1)
    radius = np.linalg.norm(x[:, None] - x[picks][None], axis=2).min(axis=1).max()
    # the greedy's covering radius is the distance of the next point it would pick, which is ≤ every pairwise
    # distance among the picks (each was the farthest when taken)
    pairwise = np.linalg.norm(x[picks][:, None] - x[picks][None], axis=2)
    assert radius <= pairwise[~np.eye(10, dtype=bool)].min() + 1e-6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"embeddings": [1.0, 2.0], "k": 1}, "embeddings must be a non-empty", id="1d"),
        pytest.param({"embeddings": [[np.inf, 0.0]], "k": 1}, "embeddings must be finite", id="inf"),
        pytest.param({"embeddings": LINE, "k": -1}, "k must be non-negative", id="negative-k"),
        pytest.param({"embeddings": LINE, "k": 4, "already": [0, 1]}, "k must be at most the 3", id="too-many"),
        pytest.param({"embeddings": LINE, "k": 1, "already": [5]}, r"already must hold indices in \[0, 5\)", id="oob"),
        pytest.param({"embeddings": LINE, "k": 1, "already": [0.5]}, "already must be", id="float-index"),
    ],
)
def test_k_center_greedy_validation(kwargs: dict[str, object], message: str):
    with pytest.raises(ValueError, match=message):
        k_center_greedy(**kwargs)  # type: ignore[arg-type]


def _blobs(rng: np.random.Generator, per_blob: int = 40) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    centres = np.array([[0, 0], [20, 0], [0, 20], [20, 20], [10, 40]], dtype=float)
    labels = np.repeat(np.arange(5), per_blob)
    return centres[labels] + rng.normal(scale=0.5, size=(labels.size, 2)), labels


def test_cold_start_picks_one_point_per_blob(rng: np.random.Generator):
    x, labels = _blobs(rng)
    for seed in range(5):
        picks = cold_start(x, 5, seed=seed)
        assert len(set(picks.tolist())) == 5
        assert sorted(labels[picks].tolist()) == [0, 1, 2, 3, 4], f"seed {seed}"


def test_cold_start_is_deterministic_and_distinct(rng: np.random.Generator):
    x = rng.normal(size=(500, 8))
    picks = cold_start(x, 40, seed=3)
    assert picks.tolist() == cold_start(x, 40, seed=3).tolist()
    assert len(set(picks.tolist())) == 40


def test_cold_start_fills_empty_clusters_with_distinct_points():
    x = np.array([[0.0, 0.0]] * 6 + [[1.0, 1.0]] * 2)  # only two distinct points, yet four picks
    picks = cold_start(x, 4, seed=0)
    assert len(set(picks.tolist())) == 4
    assert cold_start(x, 0, seed=0).tolist() == []


def test_cold_start_validation():
    with pytest.raises(ValueError, match="k must be at most the 5"):
        cold_start(LINE, 6, seed=0)


def test_hybrid_prefers_uncertain_then_diverse():
    # items 0-2 are unsure and near each other, item 3 is unsure and far away, 4-5 are sure
    x = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [10.0, 10.0], [5.0, 5.0], [20.0, 0.0]])
    p = np.array([[0.5, 0.5], [0.52, 0.48], [0.51, 0.49], [0.55, 0.45], [0.99, 0.01], [0.98, 0.02]])
    assert hybrid(p, x, 2, candidates_factor=2).tolist() == [0, 3]
    assert hybrid(p, x, 2, candidates_factor=1).tolist() == [0, 2]  # plain margin: the two most unsure


def test_hybrid_respects_and_avoids_labelled_items():
    x = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [10.0, 10.0], [5.0, 5.0], [20.0, 0.0]])
    p = np.array([[0.5, 0.5], [0.52, 0.48], [0.51, 0.49], [0.55, 0.45], [0.99, 0.01], [0.98, 0.02]])
    # candidates 2, 1, 3 (the unsure ones left); 1 and 2 sit on the labelled 0, so 3 is the one to label
    assert hybrid(p, x, 1, already=[0], candidates_factor=3).tolist() == [3]
    assert 0 not in hybrid(p, x, 5, already=[0]).tolist()


def test_hybrid_validation():
    x = np.zeros((3, 2))
    p = np.full((3, 2), 0.5)
    with pytest.raises(ValueError, match="same rows"):
        hybrid(p[:2], x, 1)
    with pytest.raises(ValueError, match="candidates_factor"):
        hybrid(p, x, 1, candidates_factor=0)
    with pytest.raises(ValueError, match="k must be at most"):
        hybrid(p, x, 3, already=[1])


def test_cluster_margin_takes_one_unsure_item_per_clump():
    # two clumps of unsure items (0-2 near the origin, 3-4 far away) and sure items elsewhere
    x = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [10.0, 10.0], [10.1, 10.0], [20.0, 0.0], [30.0, 5.0]])
    p = np.array([[0.5, 0.5], [0.52, 0.48], [0.51, 0.49], [0.53, 0.47], [0.54, 0.46], [0.99, 0.01], [0.98, 0.02]])
    picks = cluster_margin(p, x, 2, candidates_factor=2, seed=0)
    # candidates are the four least sure (0, 2, 1, 3); one from each clump, never a sure item
    assert sorted(picks.tolist()) in ([0, 3], [1, 3], [2, 3])
    margin_only = cluster_margin(p, x, 2, candidates_factor=1, seed=0)
    assert sorted(margin_only.tolist()) == [0, 2]  # factor 1 is plain margin: the two least sure


def test_cluster_margin_skips_labelled_items_and_is_seeded():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    p = rng.dirichlet(np.ones(3), size=300)
    labelled = np.arange(0, 300, 3)
    picks = cluster_margin(p, x, 20, already=labelled, seed=5)
    assert picks.size == 20 and len(set(picks.tolist())) == 20
    assert not np.isin(picks, labelled).any()
    assert picks.tolist() == cluster_margin(p, x, 20, already=labelled, seed=5).tolist()
    with pytest.raises(ValueError, match="same rows"):
        cluster_margin(p[:5], x, 1)
    with pytest.raises(ValueError, match="candidates_factor"):
        cluster_margin(p, x, 1, candidates_factor=0)
