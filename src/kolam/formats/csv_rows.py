"""CSV with a header row; rows are numbered as a spreadsheet shows them (the header is row 1)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from kolam.formats.records import FormatError, SourceRecord

csv.field_size_limit(16 * 1024 * 1024)

# Bytes that are not UTF-8 are decoded as these lone surrogates ("surrogateescape"), so that the row holding
# them can be named; the text decoder reads ahead, so its own error would name a row long before the fault.
UNDECODABLE = re.compile("[\udc80-\udcff]")


def _value(column: str, raw: str, location: str) -> Any:
    """`meta` holds JSON; everything else stays a string (the import decides what it means)."""
    if column == "meta" and raw.strip():
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            raise FormatError(f"column 'meta' is not valid JSON ({err})", location=location, field="meta") from None
    return raw


def _check_utf8(row: list[str], columns: list[str] | None, location: str) -> None:
    """Call only for rows that are not all ASCII (the caller checks that, cheaply)."""
    if not UNDECODABLE.search("".join(row)):
        return
    for i, cell in enumerate(row):
        if UNDECODABLE.search(cell):
            column = columns[i] if columns is not None and i < len(columns) else None
            where = f" in column '{column}'" if column else f" in cell {i + 1}"
            raise FormatError(f"not valid UTF-8 text{where}", location=location, field=column)


def _header(reader: Any, name: str) -> list[str]:
    try:
        header: list[str] = next(reader)
    except StopIteration:
        raise FormatError("the file is empty; a header row is needed", location=name) from None
    except csv.Error as err:
        raise FormatError(f"malformed CSV ({err})", location=f"{name} row 1") from None
    if not "".join(header).isascii():
        _check_utf8(header, None, f"{name} row 1")
    columns = [c.strip() for c in header]
    for i, column in enumerate(columns, start=1):
        if not column:
            raise FormatError(f"column {i} has no name in the header", location=f"{name} row 1")
        if columns.count(column) > 1:
            raise FormatError(f"column '{column}' appears twice in the header", location=f"{name} row 1")
    return columns


def read_csv(stream: BinaryIO, name: str) -> Iterator[SourceRecord]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    # strict: a stray quote is an error, not a cell that silently swallows the rest of the file
    reader = csv.reader(text, strict=True)
    columns = _header(reader, name)
    row_number = 1
    try:
        for row_number, row in enumerate(reader, start=2):  # a quoted cell may span lines: count rows, not lines
            location = f"{name} row {row_number}"
            if not row or all(not cell.strip() for cell in row):
                continue
            if not "".join(row).isascii():
                _check_utf8(row, columns, location)
            if len(row) != len(columns):
                raise FormatError(f"{len(row)} cells, but the header has {len(columns)} columns", location=location)
            fields: dict[str, Any] = {}
            meta: dict[str, Any] = {}
            for column, raw in zip(columns, row, strict=True):
                if column.startswith("meta."):
                    meta[column[5:]] = raw
                elif column != "meta" or raw.strip():  # an empty 'meta' cell means no meta
                    fields[column] = _value(column, raw, location)
            if meta:
                base = fields.get("meta") or {}
                fields["meta"] = {**base, **meta} if isinstance(base, dict) else base
            yield SourceRecord(fields, location)
    except csv.Error as err:
        raise FormatError(f"malformed CSV ({err})", location=f"{name} row {row_number + 1}") from None
