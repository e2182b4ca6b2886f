"""Truth inference at scale, Kolam beside crowd-kit on the same simulated crowd.

The issue's shape: 1,000,000 labels (200,000 items × 5 answers, 2,000 annotators, 5 classes). Annotators have
known confusion matrices: most are honest at an accuracy drawn from 0.55–0.95, 10 % confuse two neighbouring
classes systematically, 5 % answer at random and 5 % always give one class. Each method is timed once per
process phase (fit + predict), with its accuracy against the simulated truth; Kolam's peak memory is the
tracemalloc peak of a second, untimed fit. crowd-kit (PyPI `crowd-kit`, a benchmark dependency only) gets
pandas frames, as its API asks; building them is not timed.

    pip install crowd-kit            # not in Kolam's dependencies
    python benchmarks/bench_quality.py                     # 1M labels
    python benchmarks/bench_quality.py --items 20000       # quicker
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import loadavg, machine, record, say

from kolam.quality.truth import DawidSkene, MajorityVote, OneCoinDawidSkene
from kolam.quality.truth_glad import GLAD
from kolam.quality.truth_mace import MACE


def simulate(items: int, per_item: int, workers: int, k: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.choice(k, size=items, p=np.linspace(1.5, 0.5, k) / np.linspace(1.5, 0.5, k).sum())
    confusions = np.empty((workers, k, k))
    kinds = rng.choice(4, size=workers, p=[0.80, 0.10, 0.05, 0.05])
    for w in range(workers):
        if kinds[w] == 0:  # honest
            acc = rng.uniform(0.55, 0.95)
            m = np.full((k, k), (1 - acc) / (k - 1))
            np.fill_diagonal(m, acc)
        elif kinds[w] == 1:  # swaps a class with its neighbour most of the time
            m = np.eye(k) * 0.9 + 0.1 / k
            a = rng.integers(k)
            b = (a + 1) % k
            m[[a, b]] = m[[b, a]]
        elif kinds[w] == 2:  # random
            m = np.full((k, k), 1.0 / k)
        else:  # lazy: always one class
            m = np.zeros((k, k))
            m[:, rng.integers(k)] = 1.0
        confusions[w] = m / m.sum(axis=1, keepdims=True)
    tasks = np.repeat(np.arange(items), per_item)
    who = np.concatenate([rng.choice(workers, size=per_item, replace=False) for _ in range(items)])
    cumulative = confusions[who, truth[tasks]].cumsum(axis=1)
    labels = (rng.random(tasks.size)[:, None] > cumulative).sum(axis=1).clip(0, k - 1)
    return {"tasks": tasks, "workers": who, "labels": labels, "truth": truth}


def run_kolam(method: Any, crowd: dict[str, np.ndarray], k: int) -> dict[str, Any]:
    """Timed without tracing (tracemalloc slows NumPy-heavy code), then once more under tracemalloc for memory."""
    args = (crowd["tasks"], crowd["workers"], crowd["labels"], k)
    t0 = time.perf_counter()
    fitted = method.fit(*args)
    seconds = time.perf_counter() - t0
    tracemalloc.start()
    method.fit(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    accuracy = float((fitted.labels_ == crowd["truth"]).mean())
    return {"seconds": round(seconds, 3), "accuracy": round(accuracy, 4), "peak_mib": round(peak / 2**20, 1)}


def run_crowdkit(name: str, crowd: dict[str, np.ndarray]) -> dict[str, Any]:
    import pandas as pd
    from crowdkit.aggregation import GLAD as CkGLAD
    from crowdkit.aggregation import MACE as CkMACE
    from crowdkit.aggregation import DawidSkene as CkDawidSkene
    from crowdkit.aggregation import MajorityVote as CkMajorityVote
    from crowdkit.aggregation import OneCoinDawidSkene as CkOneCoin

    methods = {
        "majority_vote": lambda: CkMajorityVote(),
        "dawid_skene": lambda: CkDawidSkene(n_iter=100),
        "one_coin_dawid_skene": lambda: CkOneCoin(n_iter=100),
        "glad": lambda: CkGLAD(n_iter=100),
        "mace": lambda: CkMACE(n_iter=100),
    }
    frame = pd.DataFrame({"task": crowd["tasks"], "worker": crowd["workers"], "label": crowd["labels"]})
    t0 = time.perf_counter()
    predicted = methods[name]().fit_predict(frame)
    seconds = time.perf_counter() - t0
    answers = predicted.reindex(np.arange(crowd["truth"].size)).to_numpy()
    accuracy = float((answers == crowd["truth"]).mean())
    return {"seconds": round(seconds, 3), "accuracy": round(accuracy, 4)}


KOLAM = {
    "majority_vote": MajorityVote,
    "dawid_skene": DawidSkene,
    "one_coin_dawid_skene": OneCoinDawidSkene,
    "glad": GLAD,
    "mace": MACE,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--per-item", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2_000)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--methods", default=",".join(KOLAM), help="comma-separated, from: " + ", ".join(KOLAM))
    parser.add_argument("--no-crowdkit", action="store_true", help="Kolam only")
    parser.add_argument("--crowdkit-skip", default="glad", help="crowd-kit methods too slow to run at this size")
    args = parser.parse_args()
    crowd = simulate(args.items, args.per_item, args.workers, args.classes, args.seed)
    shape = {"labels": int(crowd["tasks"].size), "items": args.items, "workers": args.workers, "classes": args.classes}
    say(f"simulated {shape}")
    skip = set(args.crowdkit_skip.split(",")) if args.crowdkit_skip else set()
    for name in args.methods.split(","):
        rec: dict[str, Any] = {"method": name, **shape, "machine": machine(), "loadavg_before": loadavg()}
        rec["kolam"] = run_kolam(KOLAM[name](), crowd, args.classes)
        say(name, "kolam", rec["kolam"])
        if not args.no_crowdkit and name not in skip:
            rec["crowdkit"] = run_crowdkit(name, crowd)
            rec["speedup"] = round(rec["crowdkit"]["seconds"] / max(rec["kolam"]["seconds"], 1e-9), 1)
            say(name, "crowd-kit", rec["crowdkit"], f"{rec['speedup']}×")
        record("quality_truth", rec, quiet=True)


if __name__ == "__main__":
    main()
