"""Seeded randomness for every learning test: the algorithms are deterministic given a seed."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261128)
