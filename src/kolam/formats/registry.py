"""Which reader handles a source, and which writer produces an export format; both are open registries."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from kolam.formats.csv_rows import read_csv
from kolam.formats.json_array import read_json_array
from kolam.formats.jsonl import read_jsonl
from kolam.formats.records import FormatError, SourceRecord

Reader = Callable[[BinaryIO, str], Iterator[SourceRecord]]

READERS: dict[str, Reader] = {"jsonl": read_jsonl, "json": read_json_array, "csv": read_csv}
SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}


class ExportFormat(Protocol):
    """A writer: export records in, bytes out, streamed; register one to add a format (COCO, YOLO, …)."""

    name: str
    media_type: str
    extension: str
    description: str

    def write(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]: ...


EXPORT_FORMATS: dict[str, ExportFormat] = {}


def register_export_format(fmt: ExportFormat) -> None:
    EXPORT_FORMATS[fmt.name] = fmt


def export_format(name: str) -> ExportFormat:
    try:
        return EXPORT_FORMATS[name]
    except KeyError:
        raise KeyError(f"unknown export format '{name}'; known: {', '.join(EXPORT_FORMATS)}") from None


def reader_for(name: str) -> Reader:
    try:
        return READERS[name]
    except KeyError:
        raise FormatError(f"unknown format '{name}'; known: {', '.join(READERS)}", location=name) from None


def detect_format(path: Path) -> str:
    """A folder, or a file's format by its suffix (``.gz`` looks at the suffix before it)."""
    if path.is_dir():
        return "folder"
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in SUFFIXES:
        return SUFFIXES[suffixes[-1]]
    known = ", ".join([*SUFFIXES, "and the same with .gz"])
    raise FormatError(f"cannot tell the format from the name; use one of {known}", location=path.name)


def open_source(path: Path) -> BinaryIO:
    """Open a source file for reading, decompressing ``.gz`` on the fly."""
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")
