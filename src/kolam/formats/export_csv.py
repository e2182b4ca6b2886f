"""CSV export: one row per answer (an item without answers still gets one row), as spreadsheets expect."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

COLUMNS = (
    "item_id",
    "external_id",
    "data",
    "task_state",
    "annotation_id",
    "annotator",
    "schema_version",
    "version",
    "value",
    "created_at",
    "lead_time_ms",
    "time_spent_ms",
    "consensus",
    "consensus_confidence",
    "consensus_method",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHUNK_BYTES = 64 * 1024
ANSWER_KEYS = ("id", "annotator", "schema_version", "version", "value", "created_at", "lead_time_ms", "time_spent_ms")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    kind = type(value)
    if kind is int:  # the commonest cell; a negative number is a number, never defused
        return str(value)
    if kind is str:
        text: str = value
    elif isinstance(value, dict | list):
        text = orjson.dumps(value).decode()
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
    else:
        text = str(value)
    # A cell a spreadsheet would run as a formula is defused (CSV injection).
    if text.startswith(FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class CsvExport:
    name = "csv"
    media_type = "text/csv; charset=utf-8"
    extension = ".csv"
    description = "One row per answer: item, annotator, answer as JSON, timings, and the item's consensus."

    def write(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for record in records:
            base = [
                _cell(record.get("item_id")),
                _cell(record.get("external_id")),
                _cell(record.get("data")),
                _cell((record.get("task") or {}).get("state")),
            ]
            consensus = record.get("consensus") or {}
            tail = [_cell(consensus.get("value")), _cell(consensus.get("confidence")), _cell(consensus.get("method"))]
            answers = record.get("annotations") or [{}]
            for ann in answers:
                writer.writerow(base + [_cell(ann.get(k)) for k in ANSWER_KEYS] + tail)
            if out.tell() >= CHUNK_BYTES:
                yield out.getvalue().encode()
                out.seek(0)
                out.truncate()
        if out.tell():
            yield out.getvalue().encode()
