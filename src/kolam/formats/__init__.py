"""Import and export formats: streams in, records out, and back. Pure: no database, no HTTP.

Graph: ``records`` (SourceRecord, FormatError) ← one module per reader/writer ← ``registry``.
"""

from kolam.formats.export_csv import CsvExport
from kolam.formats.export_jsonl import JsonlExport
from kolam.formats.records import FormatError, SourceRecord
from kolam.formats.registry import (
    EXPORT_FORMATS,
    READERS,
    ExportFormat,
    detect_format,
    export_format,
    open_source,
    reader_for,
    register_export_format,
)

register_export_format(JsonlExport())
register_export_format(CsvExport())

__all__ = [
    "EXPORT_FORMATS",
    "READERS",
    "ExportFormat",
    "FormatError",
    "SourceRecord",
    "detect_format",
    "export_format",
    "open_source",
    "reader_for",
    "register_export_format",
]
