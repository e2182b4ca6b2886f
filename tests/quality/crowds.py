"""Simulated crowds shared by the truth-inference tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Crowd:
    tasks: np.ndarray
    workers: np.ndarray
    labels: np.ndarray
    truth: np.ndarray
    n_classes: int


def accuracy(predicted: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> float:
    hits = predicted == truth
    return float(hits[mask].mean() if mask is not None else hits.mean())
