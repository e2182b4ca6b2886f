"""A JSON file holding an array of objects, streamed element by element (ijson) so size does not matter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import ijson

from kolam.formats.records import FormatError, SourceRecord


def _plain(value: Any) -> Any:
    """ijson yields Decimal for non-integers; the rest of Kolam expects JSON's float."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if type(value).__name__ == "Decimal":
        return float(value)
    return value


def read_json_array(stream: BinaryIO, name: str) -> Iterator[SourceRecord]:
    index = -1
    try:
        head = stream.peek(64) if hasattr(stream, "peek") else b""
        if head and not head.lstrip().lstrip(b"\xef\xbb\xbf").startswith(b"["):
            raise FormatError("the top level must be an array of objects ([{...}, ...])", location=name)
        for index, value in enumerate(ijson.items(stream, "item", use_float=True)):
            location = f"{name} element {index}"
            if not isinstance(value, dict):
                raise FormatError(f"each element must be an object, got {type(value).__name__}", location=location)
            yield SourceRecord(_plain(value), location)
    except ijson.JSONError as err:
        raise FormatError(f"not valid JSON after element {index} ({err})", location=name) from None
    if index == -1:
        return
