"""Which reader a source gets: by name, by file suffix (through .gz), and how a source is opened."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from kolam.formats import READERS, FormatError, detect_format, open_source, reader_for
from kolam.formats.csv_rows import read_csv
from kolam.formats.json_array import read_json_array
from kolam.formats.jsonl import read_jsonl


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.json", "json"),
        ("a.csv", "csv"),
        ("A.CSV", "csv"),
        ("batch.2024.jsonl", "jsonl"),
        ("a.jsonl.gz", "jsonl"),
        ("a.json.GZ", "json"),
        ("a.csv.gz", "csv"),
    ],
)
def test_the_format_comes_from_the_suffix(tmp_path: Path, name: str, fmt: str):
    assert detect_format(tmp_path / name) == fmt


def test_a_folder_is_a_folder_whatever_its_name(tmp_path: Path):
    (tmp_path / "looks.csv").mkdir()

    assert detect_format(tmp_path / "looks.csv") == "folder"


@pytest.mark.parametrize("name", ["notes.txt", "a.gz", "README", "a.csv.zip", "a.jsonl.bz2"])
def test_an_unknown_suffix_is_refused_naming_the_file_and_the_choices(tmp_path: Path, name: str):
    with pytest.raises(FormatError) as caught:
        detect_format(tmp_path / name)

    assert caught.value.location == name
    assert caught.value.message.startswith("cannot tell the format from the name; use one of .jsonl, .ndjson")


def test_reader_for_each_name_and_an_unknown_one():
    assert (reader_for("jsonl"), reader_for("json"), reader_for("csv")) == (read_jsonl, read_json_array, read_csv)
    assert set(READERS) == {"jsonl", "json", "csv"}
    with pytest.raises(FormatError) as caught:
        reader_for("xml")
    assert (caught.value.location, caught.value.message) == ("xml", "unknown format 'xml'; known: jsonl, json, csv")


def test_open_source_decompresses_gz_and_reads_plain_files_as_they_are(tmp_path: Path):
    body = '{"text": "வணக்கம்"}\n'.encode()
    (tmp_path / "a.jsonl").write_bytes(body)
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(body))

    with open_source(tmp_path / "a.jsonl") as plain, open_source(tmp_path / "a.jsonl.gz") as packed:
        assert plain.read() == packed.read() == body


def test_a_gz_source_streams_into_its_reader(tmp_path: Path):
    path = tmp_path / "a.csv.gz"
    path.write_bytes(gzip.compress(b"id,text\n1,a\n2,b\n"))

    with open_source(path) as source:
        got = [(r.fields, r.location) for r in reader_for(detect_format(path))(source, path.name)]

    assert got == [({"id": "1", "text": "a"}, "a.csv.gz row 2"), ({"id": "2", "text": "b"}, "a.csv.gz row 3")]
