"""JSON Lines export: one item with all its answers per line."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

import orjson

CHUNK_BYTES = 64 * 1024


@runtime_checkable
class WritesJsonLines(Protocol):
    """Records that can give their JSON Lines themselves (the database writes them), the same bytes ``write``
    would make of them."""

    def jsonl_chunks(self) -> Iterator[bytes]: ...


class JsonlExport:
    name = "jsonl"
    media_type = "application/x-ndjson"
    extension = ".jsonl"
    description = "One JSON object per item with its answers, predictions and consensus."

    def write(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        if isinstance(records, WritesJsonLines):
            yield from records.jsonl_chunks()
            return
        buffer: list[bytes] = []
        size = 0
        for record in records:
            line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS)
            buffer.append(line)
            size += len(line)
            if size >= CHUNK_BYTES:
                yield b"".join(buffer)
                buffer, size = [], 0
        if buffer:
            yield b"".join(buffer)
