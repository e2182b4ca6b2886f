"""Content-addressed blob store on a local folder (and fsspec's memory store for the non-local path)."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import uuid
from pathlib import Path

import pytest

from kolam.store.blobs import BadKey, BlobStore, StoredBlob, TooBig

TAMIL = "வணக்கம்".encode()


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(str(tmp_path / "blobs"))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_put_stores_under_the_org_and_the_hash_of_the_content(store: BlobStore, tmp_path: Path):
    blob = store.put_stream(7, io.BytesIO(TAMIL))

    digest = sha(TAMIL)
    assert blob == StoredBlob(key=f"org7/{digest[:2]}/{digest[2:4]}/{digest}", sha256=digest, size=len(TAMIL))
    assert files_under(tmp_path / "blobs") == [blob.key]
    with store.open(blob.key) as handle:
        assert handle.read() == TAMIL
    assert store.exists(blob.key)


def test_the_root_folder_is_made_when_missing(tmp_path: Path):
    BlobStore(str(tmp_path / "a" / "b"))

    assert (tmp_path / "a" / "b").is_dir()


def test_a_file_url_is_the_same_as_a_path(tmp_path: Path):
    store = BlobStore(f"file://{tmp_path}/blobs")

    blob = store.put_stream(1, io.BytesIO(b"x"))

    assert store.is_local
    assert (tmp_path / "blobs" / blob.key).read_bytes() == b"x"


def test_content_larger_than_one_chunk_and_empty_content(store: BlobStore):
    big = os.urandom(3 * (1 << 20) + 17)

    blob = store.put_stream(1, io.BytesIO(big))
    empty = store.put_stream(1, io.BytesIO(b""))

    assert (blob.sha256, blob.size) == (sha(big), len(big))
    assert store.open(blob.key).read() == big
    assert (empty.sha256, empty.size) == (sha(b""), 0)
    assert store.open(empty.key).read() == b""


def test_put_file(store: BlobStore, tmp_path: Path):
    source = tmp_path / "photo.png"
    source.write_bytes(b"\x89PNG fake")

    blob = store.put_file(3, source)

    assert blob.sha256 == sha(b"\x89PNG fake")
    assert source.read_bytes() == b"\x89PNG fake"  # the source is copied, not moved


def test_the_same_content_is_stored_once_and_not_rewritten(store: BlobStore):
    first = store.put_stream(1, io.BytesIO(b"same"))
    path = store.local_path(first.key)
    assert path is not None
    before = path.stat()

    second = store.put_stream(1, io.BytesIO(b"same"))

    assert second == first
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_the_same_content_in_two_orgs_is_stored_twice(store: BlobStore, tmp_path: Path):
    a = store.put_stream(1, io.BytesIO(b"same"))
    b = store.put_stream(2, io.BytesIO(b"same"))

    assert a.sha256 == b.sha256
    assert (a.key.split("/")[0], b.key.split("/")[0]) == ("org1", "org2")
    assert files_under(tmp_path / "blobs") == sorted([a.key, b.key])


def test_over_the_limit_is_refused_and_leaves_nothing_behind(store: BlobStore, tmp_path: Path):
    with pytest.raises(TooBig, match="over the limit of 1000 bytes"):
        store.put_stream(1, io.BytesIO(b"x" * 1001), max_bytes=1000)

    assert list((tmp_path / "blobs").rglob("*")) == []
    assert store.put_stream(1, io.BytesIO(b"x" * 1000), max_bytes=1000).size == 1000


def test_over_the_limit_is_noticed_while_reading_not_after(store: BlobStore):
    """An endless upload must stop at the limit, not fill the disk."""

    class Endless(io.RawIOBase):
        served = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            self.served += len(buffer)
            buffer[:] = b"\0" * len(buffer)
            return len(buffer)

    source = Endless()
    with pytest.raises(TooBig):
        store.put_stream(1, source, max_bytes=5 << 20)

    assert source.served <= 7 << 20


def test_a_failing_source_leaves_nothing_behind(store: BlobStore, tmp_path: Path):
    class Broken(io.RawIOBase):
        calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            self.calls += 1
            if self.calls > 2:
                raise ConnectionResetError("client went away")
            buffer[:10] = b"0123456789"
            return 10

    with pytest.raises(ConnectionResetError):
        store.put_stream(1, Broken())

    assert list((tmp_path / "blobs").rglob("*")) == []


def test_concurrent_puts_of_the_same_content_end_with_one_correct_file(store: BlobStore, tmp_path: Path):
    data = os.urandom(2 << 20)
    start = threading.Barrier(8)
    results: list[StoredBlob] = []
    errors: list[BaseException] = []

    def put() -> None:
        try:
            start.wait()
            results.append(store.put_stream(5, io.BytesIO(data)))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert len(results) == 8 and len(set(results)) == 1
    assert files_under(tmp_path / "blobs") == [results[0].key]  # no temporary files left
    assert store.open(results[0].key).read() == data


def test_local_path_is_the_file_on_disk(store: BlobStore, tmp_path: Path):
    blob = store.put_stream(1, io.BytesIO(b"abc"))

    assert store.local_path(blob.key) == tmp_path / "blobs" / blob.key
    assert store.local_path("org1/00/00/missing") == tmp_path / "blobs" / "org1/00/00/missing"  # not checked


def test_a_missing_blob(store: BlobStore):
    key = BlobStore.key_for(1, "0" * 64)

    assert not store.exists(key)
    with pytest.raises(FileNotFoundError):
        store.open(key)
    store.delete(key)  # nothing to do, no error


def test_delete_and_delete_prefix(store: BlobStore, tmp_path: Path):
    a = store.put_stream(1, io.BytesIO(b"a"))
    b = store.put_stream(1, io.BytesIO(b"b"))
    other = store.put_stream(2, io.BytesIO(b"a"))

    store.delete(a.key)
    assert (store.exists(a.key), store.exists(b.key)) == (False, True)

    store.delete_prefix("org1")
    assert files_under(tmp_path / "blobs") == [other.key]
    store.delete_prefix("org1")  # again: nothing left, no error


@pytest.mark.parametrize(
    "key",
    [
        "../outside",
        "org1/../../outside",
        "/etc/passwd",
        "org1//x",
        "org1/./x",
        "",
        ".",
        "..",
        "org1/",
        "a\\..\\b",
        "a\0b",
    ],
)
def test_a_key_cannot_reach_outside_the_root(store: BlobStore, tmp_path: Path, key: str):
    (tmp_path / "outside").write_bytes(b"not a blob")

    for use in (store.open, store.local_path, store.exists, store.delete, store.delete_prefix):
        with pytest.raises(BadKey):
            use(key)

    assert (tmp_path / "outside").read_bytes() == b"not a blob"
    assert (tmp_path / "blobs").is_dir()


def test_a_store_that_is_not_local_has_no_local_path():
    store = BlobStore(f"memory://kolam-test-{uuid.uuid4().hex}")

    blob = store.put_stream(1, io.BytesIO(TAMIL))
    again = store.put_stream(1, io.BytesIO(TAMIL))

    assert not store.is_local
    assert again == blob
    assert store.local_path(blob.key) is None
    with store.open(blob.key) as handle:
        assert handle.read() == TAMIL
    with pytest.raises(TooBig):
        store.put_stream(1, io.BytesIO(b"x" * 11), max_bytes=10)
    store.delete_prefix("org1")
    assert not store.exists(blob.key)
