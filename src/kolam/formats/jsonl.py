"""JSON Lines: one object per line, streamed line by line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import orjson

from kolam.formats.records import FormatError, SourceRecord


def read_jsonl(stream: BinaryIO, name: str) -> Iterator[SourceRecord]:
    loads, record = orjson.loads, SourceRecord
    prefix = f"{name} line "
    for number, line in enumerate(stream, start=1):
        try:
            value = loads(line)
        except orjson.JSONDecodeError as err:
            if not line.strip():  # blank lines are allowed (orjson refuses them), so only look when it fails
                continue
            raise FormatError(f"not valid JSON ({err})", location=f"{prefix}{number}") from None
        if type(value) is not dict:
            raise FormatError(
                f"each line must be a JSON object, got {type(value).__name__}", location=f"{prefix}{number}"
            )
        yield record(value, f"{prefix}{number}")
