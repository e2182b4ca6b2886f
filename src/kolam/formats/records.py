"""What readers produce and how they fail."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record of an import source, with where it came from (for error messages)."""

    fields: dict[str, Any]
    location: str
    file_path: Path | None = None


class FormatError(Exception):
    """Bad input, located: the message names the file and line/row/element, and the field when known."""

    def __init__(self, message: str, *, location: str, field: str | None = None) -> None:
        self.message = message
        self.location = location
        self.field = field
        text = f"{location}: {message}" + (f" (field '{field}')" if field else "")
        super().__init__(text)
