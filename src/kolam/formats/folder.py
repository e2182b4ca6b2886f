"""A folder of files: each image, audio clip or text file becomes one record (walked in sorted order).

Hidden files and folders (a leading dot) are skipped, and so are links to folders (never followed). A link to a
file is taken only when it points inside the folder: the folder is what the import was allowed to read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from kolam.formats.records import FormatError, SourceRecord

KINDS = {
    **dict.fromkeys(("png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff"), "image"),
    **dict.fromkeys(("wav", "mp3", "ogg", "opus", "flac", "m4a", "webm"), "audio"),
    **dict.fromkeys(("txt", "md"), "text"),
}


def read_folder(root: Path) -> Iterator[SourceRecord]:
    if not root.is_dir():
        raise FormatError("not a folder", location=str(root))
    real_root = root.resolve()
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(f for f in files if not f.startswith(".")):
            path = Path(directory) / name
            relative = path.relative_to(root).as_posix()
            kind = KINDS.get(path.suffix.lower().lstrip("."))
            if kind is None:
                known = ", ".join(sorted(KINDS))
                raise FormatError(f"unsupported file type '{path.suffix}'; supported: {known}", location=relative)
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                raise FormatError("a link to a file outside the folder", location=relative)
            if not path.is_file():  # a dangling link, a pipe, a socket: nothing to read (a pipe would hang)
                raise FormatError("not a regular file", location=relative)
            yield SourceRecord({"file": relative, "kind": kind}, relative, file_path=path)
