"""The built-in pre-labellers by project kind, loaded once per process (loading a model costs seconds).

Class projects get an *encoder* (image: EfficientNet-Lite0; text: multilingual-e5-small) whose vectors feed a
head trained on the project's own answers; box projects get the COCO detector; transcription projects get
Whisper drafts. Everything here needs the ``kolam[ml]`` extra; importing this module does not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

IMAGE_ENCODER = "efficientnet-lite0"
TEXT_ENCODER = "multilingual-e5-small"
DETECTOR = "nanodet-m"
TRANSCRIBER = "whisper-base"

TEXT_TOKENS = 128
"""Texts are embedded from their first 128 tokens: what decides a moderation label is nearly always there, and
the full 512 costs about three times as long on a CPU."""

ENCODER_BY_KIND = {"image_classes": IMAGE_ENCODER, "text_classes": TEXT_ENCODER}
"""Project kinds whose built-in model is an encoder plus a trained head."""


@dataclass(frozen=True)
class Encoder:
    """A loaded encoder: its name (stored beside each vector) and how to embed a batch of item contents."""

    name: str
    embed: Callable[[Sequence[Any]], NDArray[np.float32]]


@lru_cache(maxsize=4)
def encoder(name: str) -> Encoder:
    """The named encoder, loaded on first use; raises ``NeedsExtra`` without the ml extra."""
    if name == IMAGE_ENCODER:
        from kolam.models.image_encoder import ImageEncoder

        image = ImageEncoder()
        return Encoder(name, image.embed)
    if name == TEXT_ENCODER:
        from kolam.models.text_encoder import TextEncoder

        text = TextEncoder(max_tokens=TEXT_TOKENS)
        return Encoder(name, lambda texts: text.embed(list(texts), kind="passage"))
    raise ValueError(f"no built-in encoder named {name!r}")


@lru_cache(maxsize=1)
def detector() -> Any:
    """The COCO box detector (``kolam.models.detector.Detector``)."""
    from kolam.models.detector import Detector

    return Detector()


@lru_cache(maxsize=2)
def transcriber(cache_dir: Path) -> Any:
    """Whisper drafts (``kolam.models.speech.Transcriber``); its weights are joined once into ``cache_dir``."""
    from kolam.models.speech import Transcriber

    return Transcriber(cache_dir)
