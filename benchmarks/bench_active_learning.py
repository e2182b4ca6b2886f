"""Active learning against random labelling on Fashion-MNIST: human labels needed to reach 98 % of the test
accuracy of the same head trained on all 60,000 labels.

The model is what Kolam trains for an image project: frozen EfficientNet-Lite0 embeddings
(``benchmarks/fashion_embeddings.py``) and ``kolam.learning.heads.SoftmaxHead`` (standardise, PCA to 256
whitened components fitted once on the unlabelled pool, multinomial logistic regression). Each round the head is
retrained (warm start) on every label so far, scored on the 10,000 test images, and picks the next batch:

- random: a uniform sample of the pool (sizes grow ×1.25 a step; labels-to-target interpolated in log size);
- margin: the batch of smallest top-two margin (``sampling.margin``);
- hybrid: k-center greedy among the 10·batch most uncertain (``sampling.hybrid``);
- cluster-margin: k-means (batch clusters) among the 10·batch most uncertain, the item nearest each centre —
  diverse like k-center, but representative rather than outlying (after Citovsky et al., 2021).

Model-driven strategies start from a k-means cold start (``sampling.cold_start``) of one batch.

``--semi-supervised`` scores, each round, the head refitted with agreeing pseudo-labels from the unlabelled
pool (``kolam.learning.semi_supervised``: label spreading over a 10-NN graph of the pool agrees with the head);
the batch is picked from the head trained on human labels alone (or, with ``--pick-from-refit``, from the
refitted one). Random is then run both ways, the semi-supervised one from ``--random-start`` labels (each such
round refits on ~40k rows).

    python benchmarks/bench_active_learning.py        # ~5–10 minutes once embeddings are cached
    python benchmarks/bench_active_learning.py --semi-supervised --strategies "cluster-margin (×10)"
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import loadavg, machine, record, say
from fashion_embeddings import embeddings, embeddings_prefix, labels

from kolam.learning.heads import SoftmaxHead
from kolam.learning.sampling import cluster_margin, cold_start, hybrid, margin
from kolam.learning.semi_supervised import GRAPH_DIMENSIONS, neighbour_graph, refit_with_pseudo_labels

K = 10
PLOTS = Path(__file__).resolve().parent / "plots"
Picker = Callable[[np.ndarray, np.ndarray, np.ndarray, int, np.random.Generator], np.ndarray]


def pick_margin(p: np.ndarray, z: np.ndarray, labelled: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    del z, rng
    score = margin(p)
    score[labelled] = -1.0
    return np.argsort(-score, kind="stable")[:k]


def pick_hybrid(factor: int) -> Picker:
    def pick(p: np.ndarray, z: np.ndarray, labelled: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        del rng
        return hybrid(p, z, k, already=labelled, candidates_factor=factor)

    return pick


def pick_cluster_margin(factor: int) -> Picker:
    def pick(p: np.ndarray, z: np.ndarray, labelled: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        features = z[:, :GRAPH_DIMENSIONS]  # the leading whitened components carry the clusters
        return cluster_margin(p, features, k, already=labelled, candidates_factor=factor, seed=int(rng.integers(2**31)))

    return pick


STRATEGIES: dict[str, Picker] = {
    "margin": pick_margin,
    "hybrid (margin ×10 + k-center)": pick_hybrid(10),
    "hybrid (margin ×3 + k-center)": pick_hybrid(3),
    "cluster-margin (×10)": pick_cluster_margin(10),
}


class SemiSupervised:
    """Refits a head with agreeing pseudo-labels, as the service does: the k-NN graph of the pool is built once."""

    def __init__(
        self, z_pool: np.ndarray, y_pool: np.ndarray, share: float, weight: float, pick_from_refit: bool
    ) -> None:
        self.neighbours = neighbour_graph(z_pool)
        self.z_pool, self.y_pool, self.share, self.weight = z_pool, y_pool, share, weight
        self.pick_from_refit = pick_from_refit

    def refit(self, head: SoftmaxHead, labelled: np.ndarray) -> SoftmaxHead:
        return refit_with_pseudo_labels(
            head, self.z_pool, self.neighbours, labelled, self.y_pool[labelled], K,
            pseudo_weight=self.weight, share=self.share,
        ).head  # fmt: skip


def fresh(base: SoftmaxHead) -> SoftmaxHead:
    """An unfitted head sharing ``base``'s projection (fitted once on the pool), not its weights."""
    head = SoftmaxHead(n_components=base.n_components, c=base.c)
    head.mean_, head.scale_, head.components_ = base.mean_, base.scale_, base.components_
    return head


def accuracy(head: SoftmaxHead, x: np.ndarray, y: np.ndarray) -> float:
    return float((head.predict(x) == y).mean())


def active_curve(
    pick: Picker,
    base: SoftmaxHead,
    data: dict[str, np.ndarray],
    batch: int,
    budget: int,
    goal: float,
    seed: int,
    semi: SemiSupervised | None = None,
) -> list[tuple[int, float]]:
    """Cold start, then rounds of retrain → score → pick, until ``budget`` labels or the goal is passed twice."""
    rng = np.random.default_rng(seed)
    z = data["z_pool"]
    labelled = cold_start(z, batch, seed=seed)
    head = fresh(base)
    curve: list[tuple[int, float]] = []
    passed = 0
    while True:
        head.fit(data["x_pool"][labelled], data["y_pool"][labelled], K, keep_projection=True, warm_start=True)
        p = head.predict_proba(data["x_pool"])
        scored = head if semi is None else semi.refit(head, labelled)
        if semi is not None and semi.pick_from_refit:
            p = scored.predict_proba(data["x_pool"])
        curve.append((labelled.size, accuracy(scored, data["x_test"], data["y_test"])))
        passed += curve[-1][1] >= goal
        if passed >= 2 or labelled.size + batch > budget:
            return curve
        labelled = np.concatenate([labelled, pick(p, z, labelled, batch, rng)])


def random_curve(
    base: SoftmaxHead,
    data: dict[str, np.ndarray],
    start: int,
    goal: float,
    seed: int,
    semi: SemiSupervised | None = None,
) -> list[tuple[int, float]]:
    order = np.random.default_rng(seed).permutation(data["y_pool"].size)
    head = fresh(base)
    curve: list[tuple[int, float]] = []
    size = start
    while True:
        taken = order[:size]
        head.fit(data["x_pool"][taken], data["y_pool"][taken], K, keep_projection=True, warm_start=True)
        scored = head if semi is None else semi.refit(head, taken)
        curve.append((size, accuracy(scored, data["x_test"], data["y_test"])))
        if curve[-1][1] >= goal or size == order.size:
            return curve
        size = min(order.size, int(size * 1.25))


def labels_to_goal(curve: list[tuple[int, float]], goal: float, interpolate: bool) -> float:
    """The first label count whose accuracy reaches the goal (log-linear between the bracketing points for the
    geometric random schedule); nan when never reached."""
    for i, (n, acc) in enumerate(curve):
        if acc >= goal:
            if not interpolate or i == 0:
                return float(n)
            n0, a0 = curve[i - 1]
            share = (goal - a0) / (acc - a0)
            return float(math.exp(math.log(n0) + share * (math.log(n) - math.log(n0))))
    return math.nan


def plot(curves: dict[str, list[tuple[int, float]]], goal: float, full: float, path: Path) -> str:
    try:
        import matplotlib
        import matplotlib.ticker

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib not installed: no plot"
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, curve in curves.items():
        ax.plot([n for n, _ in curve], [a for _, a in curve], marker=".", label=name)
    ax.axhline(goal, color="grey", linestyle="--", label=f"98 % of full-data accuracy ({goal:.3f})")
    ax.axhline(full, color="black", linewidth=0.8, label=f"all pool labels ({full:.3f})")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("human labels")
    ax.set_ylabel("test accuracy")
    ax.set_title("Fashion-MNIST, EfficientNet-Lite0 embeddings + softmax head")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return str(path.relative_to(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=60_000, help="use the first N training images as the pool")
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--budget", type=int, default=8000, help="most labels an active strategy may use")
    parser.add_argument("--components", type=int, default=256)
    parser.add_argument("--c", type=float, default=0.05, help="inverse L2 strength of the head (sklearn's C)")
    parser.add_argument("--share", type=float, default=0.98, help="share of the full-data accuracy to reach")
    parser.add_argument("--strategies", default=",".join(STRATEGIES), help="comma-separated subset")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--seeds", default="", help="comma-separated seeds to run in turn (overrides --seed)")
    parser.add_argument("--semi-supervised", action="store_true", help="score heads refitted with pseudo-labels")
    parser.add_argument("--pseudo-share", type=float, default=1.0, help="share of agreeing items kept")
    parser.add_argument("--pseudo-weight", type=float, default=1.0, help="sample weight of a pseudo-label")
    parser.add_argument(
        "--random-start", type=int, default=2000, help="first size of semi-supervised random (0: skip it)"
    )
    parser.add_argument(
        "--pick-from-refit", action="store_true", help="pick batches from the pseudo-labelled head's margins"
    )
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (the machine is shared)")
    args = parser.parse_args()
    with threadpool_limits(args.threads):
        run(args)


def run(args: argparse.Namespace) -> None:
    started, load_before = time.perf_counter(), loadavg()
    seeds = [int(v) for v in str(args.seeds).split(",")] if args.seeds else [args.seed]
    data: dict[str, np.ndarray] = {
        "x_pool": embeddings_prefix("train", args.pool),
        "y_pool": labels("train")[: args.pool],
        "x_test": embeddings("t10k"),
        "y_test": labels("t10k"),
    }
    pca = SoftmaxHead(n_components=args.components, c=args.c, seed=args.seed).fit_projection(data["x_pool"])
    # projected once: the heads learn on z (their own projection is then the identity), far cheaper per round
    data["x_pool"], data["x_test"] = pca.transform(data["x_pool"]), pca.transform(data["x_test"])
    data["z_pool"] = data["x_pool"].astype(np.float32)
    base = SoftmaxHead(c=args.c).fit_projection(data["x_pool"])
    t0 = time.perf_counter()
    reference = fresh(base).fit(data["x_pool"], data["y_pool"], K, keep_projection=True)
    full = accuracy(reference, data["x_test"], data["y_test"])
    goal = args.share * full
    say(f"all {args.pool:,} labels: accuracy {full:.4f} ({time.perf_counter() - t0:.0f} s); goal {goal:.4f}")
    semi = None
    if args.semi_supervised:
        t0 = time.perf_counter()
        semi = SemiSupervised(
            data["z_pool"], data["y_pool"], args.pseudo_share, args.pseudo_weight, args.pick_from_refit
        )
        say(f"10-NN graph of the pool: {time.perf_counter() - t0:.0f} s")
    by_seed = {seed: seed_curves(args, base, data, goal, seed, semi) for seed in seeds}
    needed = {
        seed: {name: labels_to_goal(c, goal, name.startswith("random")) for name, c in curves.items()}
        for seed, curves in by_seed.items()
    }
    print(f"\npool {args.pool:,}; all its labels: {100 * full:.2f} %; goal (×{args.share}): {100 * goal:.2f} %\n")
    print(
        "| seed | strategy | labels to goal | fewer than random | fewer than random + pseudo-labels "
        "| accuracy at 1,000 / 2,000 / 4,000 labels |"
    )
    print("|---|---|---|---|---|---|")
    for seed, curves in by_seed.items():
        for name, curve in curves.items():
            print(f"| {seed} | {name} | " + " | ".join(_row(curve, needed[seed], name)) + " |")
    if len(seeds) > 1:
        names = list(by_seed[seeds[0]])
        print("\n| strategy | labels to goal, mean | fewer than random: per seed | of the means |")
        print("|---|---|---|---|")
        for name in names:
            mean = float(np.mean([needed[s][name] for s in seeds]))
            ratios = [needed[s]["random"] / needed[s][name] for s in seeds]
            of_means = float(np.mean([needed[s]["random"] for s in seeds])) / mean
            print(f"| {name} | {mean:,.0f} | " + " / ".join(f"{r:.2f}×" for r in ratios) + f" | {of_means:.2f}× |")
    png = "active_learning_semi_supervised.png" if semi else "active_learning.png"
    where = plot(by_seed[seeds[0]], goal, full, PLOTS / png)
    seconds = round(time.perf_counter() - started, 1)
    print(f"\nplot: {where}\n{seconds} s, loadavg {load_before} → {loadavg()}")
    rec: dict[str, Any] = {
        "pool": args.pool,
        "batch": args.batch,
        "components": args.components,
        "c": args.c,
        "seeds": seeds,
        "semi_supervised": bool(semi),
        "pick_from_refit": args.pick_from_refit,
        "pseudo_share": args.pseudo_share,
        "pseudo_weight": args.pseudo_weight,
        "full_accuracy": round(full, 4),
        "goal": round(goal, 4),
        "labels_to_goal": {
            str(seed): {k: (None if math.isnan(v) else round(v)) for k, v in per.items()}
            for seed, per in needed.items()
        },
        "curves": {
            str(seed): {k: [(n, round(a, 4)) for n, a in c] for k, c in curves.items()}
            for seed, curves in by_seed.items()
        },
        "seconds": seconds,
        "loadavg_before": load_before,
        "machine": machine(),
    }
    record("active_learning", rec, quiet=True)


def seed_curves(
    args: argparse.Namespace, base: SoftmaxHead, data: dict[str, np.ndarray], goal: float, seed: int,
    semi: SemiSupervised | None,
) -> dict[str, list[tuple[int, float]]]:  # fmt: skip
    curves = {"random": random_curve(base, data, args.batch, goal, seed)}
    say(f"seed {seed}: random", f"{curves['random'][-1]}")
    if semi is not None and args.random_start > 0:
        curves["random + pseudo-labels"] = random_curve(base, data, args.random_start, goal, seed, semi)
        say(f"seed {seed}: random + pseudo-labels", f"{curves['random + pseudo-labels'][-1]}")
    for name in filter(None, args.strategies.split(",")):
        t0 = time.perf_counter()
        label = name if semi is None else f"{name} + pseudo-labels"
        curves[label] = active_curve(STRATEGIES[name], base, data, args.batch, args.budget, goal, seed, semi)
        say(f"seed {seed}: {label}", f"{curves[label][-1]}, {time.perf_counter() - t0:.0f} s")
    return curves


def _row(curve: list[tuple[int, float]], needed: dict[str, float], name: str) -> list[str]:
    at = [next((a for n, a in curve if n >= m), math.nan) for m in (1000, 2000, 4000)]
    semi_ratio = needed.get("random + pseudo-labels", math.nan) / needed[name]
    return [
        f"{needed[name]:,.0f}",
        f"{needed['random'] / needed[name]:.2f}×",
        "—" if math.isnan(semi_ratio) else f"{semi_ratio:.2f}×",
        " / ".join("—" if math.isnan(a) else f"{100 * a:.2f} %" for a in at),
    ]


if __name__ == "__main__":
    main()
