"""Streams for reader tests: files as a reader gets them, and an endless one that proves a reader streams."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import BinaryIO

TAMIL = "வணக்கம் உலகம் — இது ஒரு சோதனை"
DEVANAGARI = "नमस्ते दुनिया, यह एक परीक्षण है"
BOM = b"\xef\xbb\xbf"


def stream(data: bytes) -> BinaryIO:
    """Bytes as ``open(path, "rb")`` gives them: buffered, with ``peek``."""
    return io.BufferedReader(io.BytesIO(data))


class Endless(io.RawIOBase):
    """A source with no end: ``head``, then ``body(i)`` for i = 0, 1, 2, … forever.

    A reader that loads the whole file before yielding would read until ``limit`` and fail; one that streams
    yields its first records after reading a few buffers. ``served`` is how many bytes it has given so far.
    """

    def __init__(self, head: bytes, body: Callable[[int], bytes], limit: int = 8 << 20) -> None:
        self.pending, self.body, self.limit = head, body, limit
        self.served = self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        if self.served >= self.limit:
            raise AssertionError(f"read {self.served} bytes of an endless source: the reader does not stream")
        parts, size = [self.pending], len(self.pending)
        while size < len(buffer):
            parts.append(self.body(self.count))
            size += len(parts[-1])
            self.count += 1
        self.pending = b"".join(parts)
        n = len(buffer)
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        self.served += n
        return n


def endless(head: bytes, body: Callable[[int], bytes]) -> tuple[BinaryIO, Endless]:
    raw = Endless(head, body)
    return io.BufferedReader(raw), raw
