"""The registry of categorical truth-inference methods: one name per method, and the default to use.

Callers pick a method by name (a project setting, a CLI flag) and get a fresh, unfitted instance, so no state
is shared between fits. ``DEFAULT_METHOD`` is the method with the best mean accuracy on the real crowds in
``benchmarks/bench_quality_real.py``; the figures and the reasons are in ``docs/quality-methods.md``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from kolam.quality.truth import DawidSkene, MajorityVote, OneCoinDawidSkene
from kolam.quality.truth_base import TruthInference
from kolam.quality.truth_glad import GLAD
from kolam.quality.truth_hier import HierarchicalDawidSkene
from kolam.quality.truth_mace import MACE

__all__ = ["DEFAULT_METHOD", "METHODS", "make_method"]

METHODS: dict[str, Callable[[], TruthInference]] = {
    "majority": MajorityVote,
    "dawid_skene": DawidSkene,
    "one_coin": OneCoinDawidSkene,
    "glad": GLAD,
    "mace": MACE,
    "hierarchical_ds": HierarchicalDawidSkene,
}

DEFAULT_METHOD: str = "hierarchical_ds"


def make_method(name: str, seed: int = 0) -> TruthInference:
    """A fresh instance of the method called ``name``; ``seed`` reaches methods that draw random numbers.

    Every method registered today is deterministic without one (no random initialisation, ties to the lowest
    class), so the seed only matters for a future method whose constructor takes ``seed``.
    """
    try:
        factory = METHODS[name]
    except KeyError:
        allowed = ", ".join(sorted(METHODS))
        raise ValueError(f"unknown truth-inference method {name!r}; choose one of: {allowed}") from None
    if "seed" in _parameters(factory):
        return factory(seed=seed)  # type: ignore[call-arg]
    return factory()


def _parameters(factory: Callable[..., TruthInference]) -> set[str]:
    try:
        return set(inspect.signature(factory).parameters)
    except (TypeError, ValueError):
        return set()
