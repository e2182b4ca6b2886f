"""JSON Lines export: one item with all its answers per line."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

CHUNK_BYTES = 64 * 1024


class JsonlExport:
    name = "jsonl"
    media_type = "application/x-ndjson"
    extension = ".jsonl"
    description = "One JSON object per item with its answers, predictions and consensus."

    def write(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
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
