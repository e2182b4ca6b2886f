"""Seeded randomness for every quality test: the algorithms are deterministic, the simulated crowds too."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261128)
