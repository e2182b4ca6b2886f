"""Folder reader: one record a media file, in a stable order; what it takes, skips and refuses."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from kolam.formats import FormatError
from kolam.formats.folder import read_folder


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"content of " + name.encode())


def listing(root: Path) -> list[tuple[str, str]]:
    return [(r.fields["file"], r.fields["kind"]) for r in read_folder(root)]


def test_each_media_file_is_a_record_with_its_kind_path_and_location(tmp_path: Path):
    touch(tmp_path, "cat.png", "talk.wav", "note.txt")

    got = list(read_folder(tmp_path))

    assert [(r.fields, r.location, r.file_path) for r in got] == [
        ({"file": "cat.png", "kind": "image"}, "cat.png", tmp_path / "cat.png"),
        ({"file": "note.txt", "kind": "text"}, "note.txt", tmp_path / "note.txt"),
        ({"file": "talk.wav", "kind": "audio"}, "talk.wav", tmp_path / "talk.wav"),
    ]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        *[(f"f.{ext}", "image") for ext in ("png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff")],
        *[(f"f.{ext}", "audio") for ext in ("wav", "mp3", "ogg", "opus", "flac", "m4a", "webm")],
        ("f.txt", "text"),
        ("f.md", "text"),
        ("UPPER.JPG", "image"),
        ("Mixed.Wav", "audio"),
        ("archive.tar.png", "image"),
    ],
)
def test_the_kind_comes_from_the_suffix_whatever_its_case(tmp_path: Path, name: str, kind: str):
    touch(tmp_path, name)

    assert listing(tmp_path) == [(name, kind)]


def test_files_come_sorted_within_a_folder_before_its_subfolders_which_are_walked_in_order(tmp_path: Path):
    touch(tmp_path, "b/2.png", "b/1.png", "a/z/deep.png", "a/x.png", "z.png", "B.png", "10.png", "9.png")

    assert [f for f, _ in listing(tmp_path)] == [
        "10.png",  # by code point, not "naturally": 10 before 9, upper case before lower
        "9.png",
        "B.png",
        "z.png",
        "a/x.png",
        "a/z/deep.png",
        "b/1.png",
        "b/2.png",
    ]


def test_the_order_does_not_depend_on_creation_order(tmp_path: Path):
    one, two = tmp_path / "one", tmp_path / "two"
    touch(one, "c.png", "a.png", "b/x.png", "b/a.png")
    touch(two, "b/a.png", "a.png", "b/x.png", "c.png")

    assert listing(one) == listing(two)


def test_hidden_files_and_folders_are_skipped(tmp_path: Path):
    touch(tmp_path, "a.png", ".DS_Store", ".hidden.png", ".git/objects/x.png", "sub/._a.png", "sub/b.png")

    assert [f for f, _ in listing(tmp_path)] == ["a.png", "sub/b.png"]


def test_paths_use_forward_slashes_and_keep_unicode_names(tmp_path: Path):
    touch(tmp_path, "படங்கள்/பூனை.png", "चित्र/बिल्ली.jpg")

    assert listing(tmp_path) == [("चित्र/बिल्ली.jpg", "image"), ("படங்கள்/பூனை.png", "image")]


def test_an_empty_folder_has_no_records(tmp_path: Path):
    (tmp_path / "empty-sub").mkdir()

    assert listing(tmp_path) == []


@pytest.mark.parametrize("name", ["labels.csv", "README", "Thumbs.db", "clip.mp4", "photo.heic"])
def test_an_unsupported_file_stops_the_read_naming_it(tmp_path: Path, name: str):
    touch(tmp_path, "a.png", f"sub/{name}")

    reader = read_folder(tmp_path)
    assert next(reader).location == "a.png"
    with pytest.raises(FormatError) as caught:
        next(reader)

    assert caught.value.location == f"sub/{name}"
    assert caught.value.message.startswith(f"unsupported file type '{Path(name).suffix}'; supported: ")
    assert "png" in caught.value.message and "wav" in caught.value.message


@pytest.mark.parametrize("exists", [False, True], ids=["missing", "a-file"])
def test_not_a_folder(tmp_path: Path, exists: bool):
    path = tmp_path / "x.png"
    if exists:
        touch(tmp_path, "x.png")

    with pytest.raises(FormatError) as caught:
        list(read_folder(path))

    assert (caught.value.location, caught.value.message) == (str(path), "not a folder")


def test_a_link_to_a_file_inside_the_folder_is_taken(tmp_path: Path):
    touch(tmp_path, "real/a.png")
    (tmp_path / "alias.png").symlink_to(tmp_path / "real" / "a.png")

    got = list(read_folder(tmp_path))

    assert [(r.location, r.file_path) for r in got] == [
        ("alias.png", tmp_path / "alias.png"),
        ("real/a.png", tmp_path / "real" / "a.png"),
    ]


def test_a_link_to_a_file_outside_the_folder_is_refused(tmp_path: Path):
    """The folder is what the import may read; a link must not carry a file from elsewhere into a project."""
    secret = tmp_path / "secret.txt"
    secret.write_text("not for import")
    root = tmp_path / "photos"
    touch(root, "a.png")
    (root / "b.txt").symlink_to(secret)

    with pytest.raises(FormatError) as caught:
        list(read_folder(root))

    assert (caught.value.location, caught.value.message) == ("b.txt", "a link to a file outside the folder")


def test_a_root_reached_through_a_link_still_takes_its_own_files(tmp_path: Path):
    touch(tmp_path, "real/a.png")
    (tmp_path / "via").symlink_to(tmp_path / "real", target_is_directory=True)

    assert listing(tmp_path / "via") == [("a.png", "image")]


def test_links_to_folders_are_not_followed(tmp_path: Path):
    touch(tmp_path, "elsewhere/x.png", "root/a.png")
    (tmp_path / "root" / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)

    assert listing(tmp_path / "root") == [("a.png", "image")]


def test_a_dangling_link_is_refused(tmp_path: Path):
    (tmp_path / "gone.png").symlink_to(tmp_path / "never-was.png")

    with pytest.raises(FormatError) as caught:
        list(read_folder(tmp_path))

    assert (caught.value.location, caught.value.message) == ("gone.png", "not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_rather_than_read_forever(tmp_path: Path):
    os.mkfifo(tmp_path / "pipe.wav")

    with pytest.raises(FormatError) as caught:
        list(read_folder(tmp_path))

    assert (caught.value.location, caught.value.message) == ("pipe.wav", "not a regular file")


def test_a_socket_is_refused(tmp_path: Path):
    path = tmp_path / "s.png"
    if len(str(path)) > 100:  # AF_UNIX paths are short
        pytest.skip("temporary path too long for a socket")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))

        with pytest.raises(FormatError, match="not a regular file"):
            list(read_folder(tmp_path))
