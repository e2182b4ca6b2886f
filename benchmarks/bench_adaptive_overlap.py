"""Adaptive overlap against fixed overlap on a simulated Fashion-MNIST crowd: human answers per item for accuracy.

The items are Fashion-MNIST's 10,000 test images with their real labels (`kolam.demo.datasets`). The crowd is
simulated: 100 annotators, 80 good (accuracy 0.85–0.97), 15 sloppy (0.60–0.80), 3 answering at random and 2
always giving one class. Errors are realistic rather than uniform: a class's error rate scales with how hard it
is (shirt hardest, then pullover, coat, T-shirt/top; trousers and bags easiest), and wrong answers go mostly to
look-alike classes (shirt ↔ T-shirt/top, pullover, coat; pullover ↔ coat; sandal ↔ sneaker ↔ ankle boot), with
each annotator's own habits on top. Items differ too: each image's error rates are multiplied by a Gamma(2, 0.5)
difficulty shared by everyone who sees it (``--item-difficulty 0`` turns that off), so answers are *not*
conditionally independent as Dawid–Skene assumes.

Every item gets its annotators in a fixed random order and each (item, annotator) answer is drawn once, so
every policy below sees the same answers and differs only in how many of them it asks for. Skills are
estimated, never given: adaptive overlap runs in rounds; each round Dawid–Skene is re-fitted on all answers so
far, each item's posterior is recomputed from its answers with the fitted confusion matrices and class prior
(`kolam.quality.overlap.posteriors`), and the items the policy says "more" for get their next annotator.
Fixed overlap k takes the first k answers of every item and aggregates them by majority vote or Dawid–Skene.

    python benchmarks/bench_adaptive_overlap.py             # ~1 minute
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import loadavg, machine, record, say

from kolam.demo.datasets import FASHION_MNIST_CLASSES, iter_fashion_mnist
from kolam.quality.overlap import OverlapPolicy, decide_many, posteriors
from kolam.quality.truth import DawidSkene, MajorityVote

K = len(FASHION_MNIST_CLASSES)
TOPS = (0, 2, 4, 6)  # T-shirt/top, pullover, coat, shirt: the classes people mix up
# how much more often than average a class is answered wrongly
HARDNESS = np.array([1.5, 0.2, 1.8, 0.8, 1.8, 0.5, 3.0, 0.5, 0.2, 0.4])
LOOK_ALIKES = {  # (a, b): weight of a wrong answer b for a (and a for b)
    (6, 0): 4.0,
    (6, 2): 3.0,
    (6, 4): 3.0,
    (2, 4): 4.0,
    (0, 2): 1.5,
    (0, 4): 0.5,
    (0, 3): 1.0,
    (3, 4): 1.0,
    (1, 3): 0.5,
    (5, 7): 2.0,
    (7, 9): 2.0,
    (5, 9): 1.0,
}


@dataclass(frozen=True)
class Crowd:
    truth: np.ndarray  # (n,) true class per item
    workers: np.ndarray  # (n, slots): who gives the item's j-th answer
    answers: np.ndarray  # (n, slots): what they answer
    n_workers: int


def fashion_labels() -> np.ndarray:
    """The 10,000 test labels: the reader yields (png, class name, item index), so map names back to classes."""
    return np.array([FASHION_MNIST_CLASSES.index(name) for _, name, _ in iter_fashion_mnist()], dtype=np.int64)


def annotator_confusions(rng: np.random.Generator, n_workers: int) -> tuple[np.ndarray, np.ndarray]:
    """Confusion matrices (workers × true × answered) and which workers are spammers (no item difficulty)."""
    similar = np.full((K, K), 0.05)
    for (a, b), weight in LOOK_ALIKES.items():
        similar[a, b] = similar[b, a] = weight
    np.fill_diagonal(similar, 0.0)
    hardness = HARDNESS / HARDNESS.mean()
    kinds = np.array(["good"] * 80 + ["sloppy"] * 15 + ["random"] * 3 + ["constant"] * 2)
    kinds = rng.permutation(np.resize(kinds, n_workers))
    matrices = np.empty((n_workers, K, K))
    for w, kind in enumerate(kinds):
        if kind == "random":
            matrices[w] = 1.0 / K
            continue
        if kind == "constant":
            matrices[w] = 0.0
            matrices[w, :, rng.integers(K)] = 1.0
            continue
        accuracy = rng.uniform(0.85, 0.97) if kind == "good" else rng.uniform(0.60, 0.80)
        errors = np.minimum((1 - accuracy) * hardness * rng.lognormal(0.0, 0.25, K), 0.85)
        habits = similar * rng.gamma(2.0, 0.5, (K, K))  # each person's own look-alikes
        wrong = habits / habits.sum(axis=1, keepdims=True) * errors[:, None]
        matrices[w] = wrong + np.diag(1 - errors)
    return matrices, np.isin(kinds, ["random", "constant"])


def simulate(truth: np.ndarray, n_workers: int, slots: int, item_difficulty: float, seed: int) -> Crowd:
    rng = np.random.default_rng(seed)
    matrices, spammer = annotator_confusions(rng, n_workers)
    n = truth.size
    workers = np.argsort(rng.random((n, n_workers)), axis=1)[:, :slots]
    difficulty = rng.gamma(item_difficulty, 1 / item_difficulty, n) if item_difficulty > 0 else np.ones(n)
    true = np.broadcast_to(truth[:, None], workers.shape)
    base_error = 1 - matrices[workers, true, true]
    error = np.where(spammer[workers], base_error, np.minimum(base_error * difficulty[:, None], 0.9))
    wrong_rows = matrices[workers, true].copy()
    np.put_along_axis(wrong_rows, true[..., None], 0.0, axis=2)
    totals = wrong_rows.sum(axis=2, keepdims=True)
    wrong_rows = np.divide(wrong_rows, totals, out=np.full_like(wrong_rows, 1.0 / K), where=totals > 0)
    draw = (rng.random(workers.shape)[..., None] > wrong_rows.cumsum(axis=2)).sum(axis=2).clip(0, K - 1)
    answers = np.where(rng.random(workers.shape) < error, draw, true)
    return Crowd(truth, workers, answers, n_workers)


def flat(crowd: Crowd, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first counts[i] answers of every item i as (tasks, workers, labels)."""
    taken = np.arange(crowd.workers.shape[1])[None, :] < counts[:, None]
    tasks = np.broadcast_to(np.arange(crowd.truth.size)[:, None], taken.shape)[taken]
    return tasks, crowd.workers[taken], crowd.answers[taken]


def fixed(crowd: Crowd, k: int, method: str) -> dict[str, Any]:
    tasks, workers, labels = flat(crowd, np.full(crowd.truth.size, k))
    model = MajorityVote() if method == "MV" else DawidSkene()
    consensus = model.fit_predict(tasks, workers, labels, K, n_tasks=crowd.truth.size, n_workers=crowd.n_workers)
    right = consensus == crowd.truth
    return {"policy": f"fixed {k}", "method": method, "answers_per_item": float(k), "accuracy": right.mean()}


def adaptive(crowd: Crowd, policy: OverlapPolicy, pseudo_count: float = 1.0, reopen: bool = True) -> dict[str, Any]:
    """Rounds of: re-fit Dawid–Skene on all answers so far, recompute posteriors, one more answer where "more".

    With ``reopen`` decisions are re-made for every item each round, so an item done earlier gets more answers
    when the re-fitted skills lower its posterior (counted in ``reopened``); without, done is final.
    """
    n = crowd.truth.size
    counts = np.full(n, policy.min_answers)
    was_done = closed = np.zeros(n, dtype=bool)
    reopened = rounds = 0
    t0 = time.perf_counter()
    while True:
        rounds += 1
        tasks, workers, labels = flat(crowd, counts)
        model = DawidSkene(pseudo_count=pseudo_count)
        model.fit(tasks, workers, labels, K, n_tasks=n, n_workers=crowd.n_workers)
        posterior = posteriors(tasks, labels, model.errors_[workers], model.priors_, n)
        decisions = decide_many(posterior, counts, policy)
        if not reopen:
            decisions[closed] = "done"
            closed = decisions == "done"
        more = decisions == "more"
        reopened += int((was_done & more).sum())
        was_done = decisions == "done"
        if not more.any():
            break
        counts[more] += 1
    consensus = posterior.argmax(axis=1)
    right = consensus == crowd.truth
    review = decisions == "review"
    done = decisions == "done"
    tops = np.isin(crowd.truth, TOPS)
    return {
        "policy": f"adaptive t={policy.target} max={policy.max_answers}"
        + (f" min={policy.min_answers}" if policy.min_answers > 1 else "")
        + ("" if reopen else ", done is final"),
        "method": "DS",
        "answers_per_item": counts.mean(),
        "answers_tops": counts[tops].mean(),
        "answers_others": counts[~tops].mean(),
        "accuracy": right.mean(),
        "review_share": review.mean(),
        "accuracy_reviewed": (right | review).mean(),
        "accuracy_done": right[done].mean() if done.any() else float("nan"),
        "rounds": rounds,
        "reopened": reopened,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def row(r: dict[str, Any]) -> str:
    def pct(key: str) -> str:
        return f"{100 * r[key]:.2f} %" if key in r else "—"

    split = f" ({r['answers_tops']:.2f} / {r['answers_others']:.2f})" if "answers_tops" in r else ""
    return (
        f"| {r['policy']} | {r['method']} | {r['answers_per_item']:.2f}{split} | {pct('accuracy')} "
        f"| {pct('review_share')} | {pct('accuracy_reviewed')} | {pct('accuracy_done')} | {r.get('reopened', '—')} |"
    )


def cheapest(rows: list[dict[str, Any]], key: str, goal: float) -> str:
    hits = [r for r in rows if r.get(key, 0) >= goal]
    if not hits:
        return f"not reached (best {100 * max(r.get(key, 0) for r in rows):.2f} %)"
    best = min(hits, key=lambda r: r["answers_per_item"])
    return f"{best['answers_per_item']:.2f} answers/item ({best['policy']}, {best['method']}, {100 * best[key]:.2f} %)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotators", type=int, default=100)
    parser.add_argument("--targets", default="0.9,0.95,0.98,0.99,0.995")
    parser.add_argument("--maxes", default="5,7", help="max answers per item for the adaptive runs")
    parser.add_argument("--fixed", type=int, default=7, help="fixed overlap 1..N")
    parser.add_argument("--goal", type=float, default=0.98, help="dataset accuracy to reach")
    parser.add_argument("--item-difficulty", type=float, default=2.0, help="Gamma shape of item difficulty; 0: none")
    parser.add_argument("--pseudo-count", type=float, default=1.0, help="Dawid–Skene's prior in the adaptive runs")
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args()
    started, load_before = time.perf_counter(), loadavg()
    maxes = [int(m) for m in args.maxes.split(",")]
    truth = fashion_labels()
    crowd = simulate(truth, args.annotators, max(*maxes, args.fixed), args.item_difficulty, args.seed)
    first = crowd.answers[:, 0] == truth
    tops = first[np.isin(truth, TOPS)].mean()
    say(f"{truth.size} items, one answer right {100 * first.mean():.1f} % (tops {100 * tops:.1f} %)")
    results = [fixed(crowd, k, method) for method in ("MV", "DS") for k in range(1, args.fixed + 1)]
    for max_answers in maxes:
        for target in (float(t) for t in args.targets.split(",")):
            policy = OverlapPolicy(min_answers=1, max_answers=max_answers, target=target)
            results.append(adaptive(crowd, policy, args.pseudo_count))
            last = results[-1]
            say(last["policy"], f"{last['rounds']} rounds, {last['reopened']} reopened, {last['seconds']} s")
    results.append(
        adaptive(crowd, OverlapPolicy(min_answers=2, max_answers=max(maxes), target=0.98), args.pseudo_count)
    )
    for target in (0.95, 0.98, 0.99):
        policy = OverlapPolicy(min_answers=1, max_answers=max(maxes), target=target)
        results.append(adaptive(crowd, policy, args.pseudo_count, reopen=False))
    print(
        "| policy | aggregation | human answers/item (tops / others) | accuracy | to review "
        "| accuracy, review settled | accuracy of done items | reopened |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(row(r))
    fixed3 = next(r for r in results if r["policy"] == "fixed 3" and r["method"] == "DS")
    verdict = {
        "goal": args.goal,
        "adaptive": cheapest([r for r in results if "review_share" in r], "accuracy", args.goal),
        "adaptive_with_review": cheapest([r for r in results if "review_share" in r], "accuracy_reviewed", args.goal),
        "fixed": cheapest([r for r in results if "review_share" not in r], "accuracy", args.goal),
        "fixed_3_ds_accuracy": round(float(fixed3["accuracy"]), 4),
    }
    print()
    for key, value in verdict.items():
        print(f"{key}: {value}")
    seconds = round(time.perf_counter() - started, 1)
    print(f"\n{seconds} s, loadavg {load_before} → {loadavg()}")
    rec = {
        "items": int(truth.size),
        "annotators": args.annotators,
        "item_difficulty": args.item_difficulty,
        "pseudo_count": args.pseudo_count,
        "seed": args.seed,
        "results": [
            {k: (round(float(v), 4) if isinstance(v, float | np.floating) else v) for k, v in r.items()}
            for r in results
        ],
        "verdict": verdict,
        "seconds": seconds,
        "loadavg_before": load_before,
        "machine": machine(),
    }
    record("adaptive_overlap", rec, quiet=True)


if __name__ == "__main__":
    main()
