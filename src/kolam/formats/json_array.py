"""A JSON file holding an array of objects, streamed element by element (ijson) so size does not matter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import ijson

from kolam.formats.records import FormatError, SourceRecord

BOM = b"\xef\xbb\xbf"
WHITESPACE = b" \t\r\n"
# ijson re-scans a token that spans reads: the cost of a long string grows with (length² / read size), so
# read in large pieces (a 15 MB string: 27 s with ijson's 64 KiB default, under 2 s with 1 MiB).
READ_SIZE = 1 << 20


class _Rejoined:
    """The stream with the bytes read to look at the top level put back in front (ijson only calls ``read``)."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head, self.rest = head, rest

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.rest.read(size)
        if size < 0:
            out, self.head = self.head + self.rest.read(), b""
        else:
            out, self.head = self.head[:size], self.head[size:]
        return out


def _top_level(stream: BinaryIO, name: str) -> _Rejoined:
    """Skip a UTF-8 byte order mark and check that the first thing in the file opens an array.

    ijson's ``items(..., "item")`` alone would also match an object's ``"item"`` key, and would read a file
    holding one object as an empty array: a whole file silently imported as nothing.
    """
    head = stream.read(READ_SIZE)
    if head.startswith(BOM):
        head = head[len(BOM) :]
    while head and not head.lstrip(WHITESPACE):
        more = stream.read(READ_SIZE)
        if not more:
            break
        head += more
    start = head.lstrip(WHITESPACE)
    if not start:
        raise FormatError("the file is empty; expected an array of objects ([{...}, ...])", location=name)
    if not start.startswith(b"["):
        raise FormatError("the top level must be an array of objects ([{...}, ...])", location=name)
    return _Rejoined(head, stream)


def _reason(err: Exception) -> str:
    """ijson's message, on one line (yajl adds a picture of the text around the fault, sometimes as bytes)."""
    raw = err.args[0] if err.args else str(err)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else type(err).__name__


def read_json_array(stream: BinaryIO, name: str) -> Iterator[SourceRecord]:
    source = _top_level(stream, name)
    index = -1
    try:
        for index, value in enumerate(ijson.items(source, "item", use_float=True, buf_size=READ_SIZE)):
            location = f"{name} element {index}"
            if type(value) is not dict:
                raise FormatError(f"each element must be an object, got {type(value).__name__}", location=location)
            yield SourceRecord(value, location)
    except ijson.JSONError as err:
        where = f"after element {index}" if index >= 0 else "at element 0"
        raise FormatError(f"not valid JSON {where} ({_reason(err)})", location=name) from None
