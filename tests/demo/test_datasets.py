"""The shipped demo datasets are complete, decodable and labelled as their SOURCE.md says."""

from __future__ import annotations

import io
from collections import Counter
from itertools import islice

import pytest
from PIL import Image

from kolam.demo.datasets import (
    FASHION_MNIST_CLASSES,
    iter_fashion_mnist,
    iter_moderation_messages,
)

MODERATION_COUNT = 2000


def test_fashion_mnist_classes_in_label_order() -> None:
    assert FASHION_MNIST_CLASSES == (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    )


def test_fashion_mnist_full_test_set_is_balanced() -> None:
    counts: Counter[str] = Counter()
    indices = []
    for png, name, index in iter_fashion_mnist():
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        counts[name] += 1
        indices.append(index)
    assert sum(counts.values()) == 10_000
    assert indices == list(range(10_000))
    assert counts == dict.fromkeys(FASHION_MNIST_CLASSES, 1000)


def test_fashion_mnist_first_image() -> None:
    png, name, index = next(iter_fashion_mnist(limit=1))
    assert (name, index) == ("Ankle boot", 0)
    with Image.open(io.BytesIO(png)) as img:
        assert img.format == "PNG"
        assert img.size == (28, 28)
        assert img.mode == "L"
        assert len(set(img.tobytes())) > 1  # a real picture, not a blank tile


def test_fashion_mnist_limit() -> None:
    assert [i for _, _, i in iter_fashion_mnist(limit=3)] == [0, 1, 2]
    assert list(iter_fashion_mnist(limit=0)) == []
    with pytest.raises(ValueError):
        next(iter_fashion_mnist(limit=-1))


def test_moderation_messages() -> None:
    messages = list(iter_moderation_messages())
    assert len(messages) == MODERATION_COUNT
    labels = Counter(m["label"] for m in messages)
    assert set(labels) == {"spam", "ham"}
    assert labels["spam"] > 0 and labels["ham"] > 0
    assert len({m["id"] for m in messages}) == len(messages)
    for m in messages:
        assert set(m) == {"id", "text", "label", "source"}
        assert m["text"].strip()
        assert m["source"].startswith("spamassassin-public-corpus/")


def test_moderation_limit() -> None:
    first = list(islice(iter_moderation_messages(), 5))
    assert list(iter_moderation_messages(limit=5)) == first
    assert list(iter_moderation_messages(limit=0)) == []
