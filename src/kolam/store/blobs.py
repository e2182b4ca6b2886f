"""Content-addressed blob storage behind fsspec: a local folder today, S3-compatible storage by URL later.

Blobs are keyed by SHA-256 under a per-organization prefix, so identical content is stored once per tenant
and deleting a tenant's data is deleting its prefix.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import fsspec

CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class StoredBlob:
    key: str
    sha256: str
    size: int


class TooBig(Exception):
    """The content is over the caller's size limit; nothing was stored."""


class BadKey(ValueError):
    """A key that is not a plain relative path under the store (``..``, absolute, empty parts)."""


def _checked(key: str) -> str:
    parts = key.split("/")
    if not key or "\\" in key or "\x00" in key or any(part in ("", ".", "..") for part in parts):
        raise BadKey(f"not a blob key: {key!r}")
    return key


class BlobStore:
    """Put, open and delete blobs by key; writes are atomic (temporary file, then rename)."""

    def __init__(self, url: str) -> None:
        self.fs, root = fsspec.core.url_to_fs(url)
        self.root = root.rstrip("/")
        self.is_local = "file" in (self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,))
        if self.is_local:
            Path(self.root).mkdir(parents=True, exist_ok=True)

    @staticmethod
    def key_for(org_id: int, sha256: str) -> str:
        return f"org{org_id}/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def _path(self, key: str) -> str:
        """Where ``key`` lives; a key that could reach outside the root (``../``, ``/etc``) is refused."""
        return f"{self.root}/{_checked(key)}"

    def put_stream(self, org_id: int, stream: BinaryIO, *, max_bytes: int | None = None) -> StoredBlob:
        """Hash while copying to a temporary file, then move it under its hash (no-op when present)."""
        digest = hashlib.sha256()
        size = 0
        tmp_dir = self.root if self.is_local else None
        with tempfile.NamedTemporaryFile(dir=tmp_dir, prefix=".upload-", delete=False) as tmp:
            try:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise TooBig(f"content is over the limit of {max_bytes} bytes")
                    digest.update(chunk)
                    tmp.write(chunk)
            except BaseException:
                tmp.close()
                os.unlink(tmp.name)
                raise
        sha = digest.hexdigest()
        key = self.key_for(org_id, sha)
        target = self._path(key)
        try:
            if self.fs.exists(target):
                return StoredBlob(key, sha, size)
            if self.is_local:
                Path(target).parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp.name, target)
            else:
                self.fs.put_file(tmp.name, target)
        finally:
            if os.path.exists(tmp.name):
                os.unlink(tmp.name)
        return StoredBlob(key, sha, size)

    def put_file(self, org_id: int, path: Path, *, max_bytes: int | None = None) -> StoredBlob:
        with path.open("rb") as stream:
            return self.put_stream(org_id, stream, max_bytes=max_bytes)

    def open(self, key: str) -> BinaryIO:
        handle: BinaryIO = self.fs.open(self._path(key), "rb")
        return handle

    def local_path(self, key: str) -> Path | None:
        """The file on disk, where there is one (lets the server use sendfile)."""
        return Path(self._path(key)) if self.is_local else None

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._path(key)))

    def delete(self, key: str) -> None:
        if self.fs.exists(self._path(key)):
            self.fs.rm(self._path(key))

    def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix)
        if self.is_local:
            shutil.rmtree(path, ignore_errors=True)
        elif self.fs.exists(path):
            self.fs.rm(path, recursive=True)
