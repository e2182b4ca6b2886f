"""JSON Lines: one object per line, streamed line by line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import orjson

from kolam.formats.records import FormatError, SourceRecord


def read_jsonl(stream: BinaryIO, name: str) -> Iterator[SourceRecord]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        location = f"{name} line {number}"
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as err:
            raise FormatError(f"not valid JSON ({err})", location=location) from None
        if not isinstance(value, dict):
            raise FormatError(f"each line must be a JSON object, got {type(value).__name__}", location=location)
        yield SourceRecord(value, location)
