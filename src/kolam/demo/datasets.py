"""Readers for the real demo datasets shipped in ``kolam/demo/data``.

The files live inside the package (found with :mod:`importlib.resources`, so this works from an
installed wheel) because demos must run with no network. Provenance, licences and checksums are
in each data folder's ``SOURCE.md`` and ``LICENSE``.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

import numpy as np
from PIL import Image

__all__ = [
    "FASHION_MNIST_CLASSES",
    "Photo",
    "SpeechClip",
    "iter_fashion_mnist",
    "iter_moderation_messages",
    "iter_photos",
    "iter_speech_clips",
]

#: Fashion-MNIST class names, in label-index order (label ``i`` is ``FASHION_MNIST_CLASSES[i]``).
FASHION_MNIST_CLASSES: tuple[str, ...] = (
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

_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049


def _data(*parts: str) -> Traversable:
    """Locate a shipped data file via the package, not the file system, so zipped installs work."""
    return files("kolam.demo").joinpath("data", *parts)


def _read_gz(resource: Traversable) -> bytes:
    with resource.open("rb") as raw, gzip.GzipFile(fileobj=raw) as gz:
        return gz.read()


def _idx_header(buf: bytes, magic: int, ndims: int) -> tuple[int, ...]:
    """Check an IDX header (big-endian magic then dims) so a corrupt file fails loudly, not oddly."""
    header = np.frombuffer(buf, dtype=">u4", count=1 + ndims)
    if int(header[0]) != magic:
        raise ValueError(f"bad IDX magic {int(header[0])}, expected {magic}")
    return tuple(int(d) for d in header[1:])


def iter_fashion_mnist(limit: int | None = None) -> Iterator[tuple[bytes, str, int]]:
    """Yield ``(png_bytes, class_name, index)`` for the Fashion-MNIST test set, in file order.

    The raw pixels (7.8 MB) are decoded once; each PNG is encoded only when it is yielded, so a
    consumer that stores images one by one never holds all 10,000 PNGs in memory. ``limit`` caps
    the number of images (``None`` means all 10,000).
    """
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0")
    image_buf = _read_gz(_data("fashion_mnist", "t10k-images-idx3-ubyte.gz"))
    label_buf = _read_gz(_data("fashion_mnist", "t10k-labels-idx1-ubyte.gz"))
    count, rows, cols = _idx_header(image_buf, _IDX_IMAGES_MAGIC, 3)
    (n_labels,) = _idx_header(label_buf, _IDX_LABELS_MAGIC, 1)
    if n_labels != count:
        raise ValueError(f"{count} images but {n_labels} labels")
    images = np.frombuffer(image_buf, dtype=np.uint8, offset=16).reshape(count, rows, cols)
    labels = np.frombuffer(label_buf, dtype=np.uint8, offset=8)
    n = count if limit is None else min(limit, count)
    for index in range(n):
        out = io.BytesIO()
        # A 2-D uint8 array always becomes mode "L"; passing mode= is deprecated in some Pillows.
        Image.fromarray(images[index]).save(out, format="PNG")
        yield out.getvalue(), FASHION_MNIST_CLASSES[int(labels[index])], index


def iter_moderation_messages(limit: int | None = None) -> Iterator[dict[str, str]]:
    """Yield the shipped spam/ham messages as ``{"id", "text", "label", "source"}`` dicts.

    Read line by line from the gzip'd JSONL, so memory stays flat. ``label`` is ``"spam"`` or
    ``"ham"``. ``limit`` caps the number of messages (``None`` means all of them).
    """
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0")
    if limit == 0:
        return
    resource = _data("moderation", "messages.jsonl.gz")
    with (
        resource.open("rb") as raw,
        gzip.GzipFile(fileobj=raw) as gz,
        io.TextIOWrapper(gz, encoding="utf-8") as lines,
    ):
        yielded = 0
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            yield {key: str(record[key]) for key in ("id", "text", "label", "source")}
            yielded += 1
            if limit is not None and yielded >= limit:
                return


@dataclass(frozen=True, slots=True)
class SpeechClip:
    """One shipped clip and what ``speech/clips.json`` says of it; ``file`` is relative to ``speech/``."""

    id: str
    file: str
    language: str
    reference: str
    duration: float
    synthetic: bool
    voice: str
    source: str
    licence: str


@dataclass(frozen=True, slots=True)
class Photo:
    """One shipped photograph and what ``photos/photos.json`` says of it (size in original pixels)."""

    id: str
    file: str
    title: str
    width: int
    height: int
    author: str
    licence: str
    source: str
    modified: bool


def _manifest(folder: str, name: str, key: str) -> list[dict[str, Any]]:
    with _data(folder, name).open("rb") as raw:
        entries: list[dict[str, Any]] = json.load(raw)[key]
    return entries


def _limited(limit: int | None) -> int | None:
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0")
    return limit


def iter_speech_clips(limit: int | None = None) -> Iterator[tuple[bytes, SpeechClip]]:
    """Yield ``(flac_bytes, clip)`` for the shipped Tamil, Hindi and English clips, languages taking turns.

    Most clips are synthetic speech (``clip.synthetic``; see ``speech/SOURCE.md``): the demo needs real
    scripts and real reference texts more than it needs real voices, and no freely licensed recorded
    Tamil was found. ``limit`` caps the number of clips (``None`` means all of them).
    """
    entries = _manifest("speech", "clips.json", "clips")[: _limited(limit)]
    for entry in entries:
        clip = SpeechClip(**entry)
        yield _data("speech", *clip.file.split("/")).read_bytes(), clip


def iter_photos(limit: int | None = None) -> Iterator[tuple[bytes, Photo]]:
    """Yield ``(jpeg_bytes, photo)`` for the shipped photographs, in manifest order (``limit`` caps them)."""
    entries = _manifest("photos", "photos.json", "photos")[: _limited(limit)]
    for entry in entries:
        photo = Photo(**entry)
        yield _data("photos", photo.file).read_bytes(), photo
