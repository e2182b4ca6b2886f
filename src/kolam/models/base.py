"""The shape every model takes: embed, fit, predict; and the one error for a missing optional dependency.

A *model* turns items into predictions in the project's own answer format, so that an annotator can start
from one and a reviewer can compare it with people's answers. Built-in pre-labellers (a packaged encoder plus
a head trained on the project's answers) and external model servers both follow :class:`Model`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from kolam.errors import KolamError

EXTRA_HINT = "pip install 'kolam[ml]'"


class NeedsExtra(KolamError):
    """A model feature was asked for but its optional dependencies are not installed."""

    code = "needs_ml_extra"
    status = 501


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` or say which feature needs it and how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise NeedsExtra(f"{feature} needs the ml extra ({EXTRA_HINT}); {module} is not installed") from err


@dataclass(frozen=True)
class ModelItem:
    """What a model sees of an item: its id, media, and content (text inline, or the blob's bytes)."""

    item_id: int
    media: str
    text: str | None = None
    data: bytes | None = None
    mime_type: str | None = None
    language: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ItemPrediction:
    """One model answer for one item, in the project's answer format.

    ``distribution`` maps each class to its probability (class projects); ``confidence`` is the calibrated
    probability that ``value`` is right, or ``None`` when the model cannot say.
    """

    item_id: int
    value: dict[str, Any]
    confidence: float | None = None
    distribution: dict[str, float] | None = None


@dataclass(frozen=True)
class ModelCard:
    """Where a packaged model came from, under which licence, and the checksum its weights must match."""

    name: str
    source: str
    licence: str
    sha256: str
    size_bytes: int


@runtime_checkable
class Model(Protocol):
    """Embed items into vectors, learn from settled answers, predict in the project's answer format."""

    name: str

    def embed(self, items: list[ModelItem]) -> NDArray[np.float32]: ...

    def fit(self, items: list[ModelItem], answers: list[dict[str, Any]]) -> None: ...

    def predict(self, items: list[ModelItem]) -> list[ItemPrediction]: ...
