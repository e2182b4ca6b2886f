"""JSON Lines reader: one object a line, located by line number, streamed."""

from __future__ import annotations

import unicodedata

import orjson
import pytest

from kolam.formats import FormatError
from kolam.formats.jsonl import read_jsonl
from tests.formats.sources import BOM, DEVANAGARI, TAMIL, endless, stream


def records(data: bytes, name: str = "batch.jsonl") -> list[tuple[dict, str]]:
    return [(r.fields, r.location) for r in read_jsonl(stream(data), name)]


def error(data: bytes, name: str = "batch.jsonl") -> FormatError:
    with pytest.raises(FormatError) as caught:
        list(read_jsonl(stream(data), name))
    return caught.value


def test_each_line_is_a_record_located_by_its_line():
    data = b'{"text": "a", "id": 1}\n{"text": "b", "meta": {"k": [1, 2.5, null]}}\n'

    assert records(data) == [
        ({"text": "a", "id": 1}, "batch.jsonl line 1"),
        ({"text": "b", "meta": {"k": [1, 2.5, None]}}, "batch.jsonl line 2"),
    ]


def test_blank_lines_are_skipped_but_still_counted():
    data = b'{"n": 1}\n\n   \t\n{"n": 2}\n\n'

    assert records(data) == [({"n": 1}, "batch.jsonl line 1"), ({"n": 2}, "batch.jsonl line 4")]


def test_crlf_line_endings_and_a_missing_final_newline():
    assert records(b'{"n": 1}\r\n\r\n{"n": 2}') == [({"n": 1}, "batch.jsonl line 1"), ({"n": 2}, "batch.jsonl line 3")]


def test_a_byte_order_mark_at_the_start_is_ignored():
    assert records(BOM + b'{"n": 1}\n{"n": 2}\n') == [
        ({"n": 1}, "batch.jsonl line 1"),
        ({"n": 2}, "batch.jsonl line 2"),
    ]


def test_a_byte_order_mark_on_a_later_line_is_an_error():
    assert error(b'{"n": 1}\n' + BOM + b'{"n": 2}\n').location == "batch.jsonl line 2"


@pytest.mark.parametrize("data", [b"", b"\n", b"\n\r\n  \n"], ids=["empty", "newline", "blank-lines"])
def test_an_empty_file_has_no_records(data: bytes):
    assert records(data) == []


@pytest.mark.parametrize(
    ("line", "got"),
    [
        (b"[1, 2]", "list"),
        (b"42", "int"),
        (b"1.5", "float"),
        (b'"text"', "str"),
        (b"null", "NoneType"),
        (b"true", "bool"),
    ],
)
def test_a_line_that_is_not_an_object_names_the_line_and_what_it_was(line: bytes, got: str):
    err = error(b'{"n": 1}\n\n' + line + b"\n")

    assert err.location == "batch.jsonl line 3"
    assert err.message == f"each line must be a JSON object, got {got}"
    assert str(err).startswith("batch.jsonl line 3: ")


@pytest.mark.parametrize("line", [b'{"n": 1,}', b'{"n": ', b"{'n': 1}", b'{"n": NaN}', b'{"n": 1} {"n": 2}'], ids=str)
def test_malformed_json_names_the_line(line: bytes):
    err = error(b'{"n": 1}\n' + line + b"\n")

    assert err.location == "batch.jsonl line 2"
    assert err.message.startswith("not valid JSON")


def test_bytes_that_are_not_utf8_are_reported_as_such_with_the_line():
    err = error(b'{"n": 1}\n{"text": "caf\xe9"}\n')

    assert err.location == "batch.jsonl line 2"
    assert err.message.startswith("not valid UTF-8 text")
    assert "byte 14" in err.message  # \xe9 is the 14th byte of that line


def test_tamil_and_devanagari_are_kept_byte_exact_even_when_decomposed():
    decomposed = unicodedata.normalize("NFD", TAMIL + " கொ")  # a reader must not normalise
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    lines = [{"text": TAMIL}, {"text": DEVANAGARI}, {"text": decomposed}]
    data = b"".join(orjson.dumps(r) + b"\n" for r in lines)

    texts = [fields["text"] for fields, _ in records(data)]

    assert [t.encode() for t in texts] == [TAMIL.encode(), DEVANAGARI.encode(), decomposed.encode()]


def test_escaped_unicode_is_decoded():
    assert records(b'{"text": "\\u0bb5\\u0ba3"}\n')[0][0] == {"text": "வண"}


def test_a_very_long_line_is_one_record():
    text = "அ" * 3_000_000  # 9 MB of UTF-8 on one line
    data = b'{"n": 1}\n' + orjson.dumps({"text": text}) + b"\n"

    got = records(data)

    assert got[1] == ({"text": text}, "batch.jsonl line 2")


def test_it_streams_the_first_records_come_before_the_end_of_the_file():
    source, raw = endless(b"", lambda i: b'{"n": %d}\n' % i)

    reader = read_jsonl(source, "endless.jsonl")
    first = [next(reader) for _ in range(3)]

    assert [(r.fields, r.location) for r in first] == [
        ({"n": 0}, "endless.jsonl line 1"),
        ({"n": 1}, "endless.jsonl line 2"),
        ({"n": 2}, "endless.jsonl line 3"),
    ]
    assert raw.served <= 64 * 1024


def test_records_before_a_bad_line_are_yielded_first():
    reader = read_jsonl(stream(b'{"n": 1}\n{"n": 2}\n[3]\n'), "batch.jsonl")

    assert [next(reader).fields, next(reader).fields] == [{"n": 1}, {"n": 2}]
    with pytest.raises(FormatError, match="line 3"):
        next(reader)
