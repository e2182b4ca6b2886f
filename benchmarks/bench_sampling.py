"""Timing of the active-learning samplers at Fashion-MNIST pool size: n=60,000 points of d=1,280 (an
EfficientNet-Lite0 embedding's width), k=1,000 picks, on the machine's CPUs.

Two kinds of embedding: isotropic Gaussian noise (no structure at all: every new centre can move every point's
distance, the worst case for the exact greedy) and 10 Gaussian blobs (what real class-structured embeddings look
like). Prints seconds per sampler; nothing is written.

    python benchmarks/bench_sampling.py              # ~1 minute
    python benchmarks/bench_sampling.py --n 20000    # smaller
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

from kolam.learning.sampling import cold_start, hybrid, k_center_greedy, margin


def _embeddings(kind: str, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "gaussian":
        return rng.standard_normal((n, d), dtype=np.float32)
    centres = rng.standard_normal((10, d), dtype=np.float32) * 3
    labels = rng.integers(10, size=n)
    return centres[labels] + rng.standard_normal((n, d), dtype=np.float32)


def _time(name: str, run: Callable[[], np.ndarray]) -> None:
    start = time.perf_counter()
    picks = run()
    seconds = time.perf_counter() - start
    print(f"  {name:<34} {seconds:7.2f} s   ({picks.size} picks, {np.unique(picks).size} distinct)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60_000)
    parser.add_argument("--d", type=int, default=1_280)
    parser.add_argument("--k", type=int, default=1_000)
    parser.add_argument("--cold-start", action="store_true", help="also time cold_start (k-means++ and Lloyd)")
    args = parser.parse_args()
    rng = np.random.default_rng(20261128)
    print(f"n={args.n} d={args.d} k={args.k} cpus={os.cpu_count()}")
    for kind in ("gaussian", "blobs"):
        x = _embeddings(kind, args.n, args.d, rng)
        logits = rng.normal(size=(args.n, 10))
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        labelled = rng.choice(args.n, size=2_000, replace=False)
        print(f"{kind}:")
        _time("k_center_greedy", lambda x=x: k_center_greedy(x, args.k, seed=0))
        _time("k_center_greedy, 2,000 labelled", lambda x=x, a=labelled: k_center_greedy(x, args.k, already=a))
        _time("hybrid (10·k margin candidates)", lambda x=x, p=p, a=labelled: hybrid(p, x, args.k, already=a))
        _time("margin", lambda p=p: np.argsort(-margin(p))[: args.k])
        if args.cold_start:
            _time("cold_start", lambda x=x: cold_start(x, args.k, seed=0))


if __name__ == "__main__":
    main()
