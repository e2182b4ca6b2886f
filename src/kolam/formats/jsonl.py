"""JSON Lines: one object per line, streamed line by line."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import BinaryIO

import orjson

from kolam.formats.records import FormatError, SourceRecord

BOM = b"\xef\xbb\xbf"


def _why_not_json(line: bytes, err: orjson.JSONDecodeError) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not valid UTF-8 text ({bad.reason} at byte {bad.start + 1} of the line)"
    return f"not valid JSON ({err})"


def read_jsonl(stream: BinaryIO, name: str) -> Iterator[SourceRecord]:
    loads, record = orjson.loads, SourceRecord
    prefix = f"{name} line "
    lines = iter(stream)
    first = next(lines, b"")
    if first.startswith(BOM):  # editors on Windows write one; orjson refuses it
        first = first[len(BOM) :]
    for number, line in enumerate(chain((first,), lines), start=1):
        try:
            value = loads(line)
        except orjson.JSONDecodeError as err:
            if not line.strip():  # blank lines are allowed (orjson refuses them), so only look when it fails
                continue
            raise FormatError(_why_not_json(line, err), location=f"{prefix}{number}") from None
        if type(value) is not dict:
            raise FormatError(
                f"each line must be a JSON object, got {type(value).__name__}", location=f"{prefix}{number}"
            )
        yield record(value, f"{prefix}{number}")
