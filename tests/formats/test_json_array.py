"""JSON array reader: a file holding [{...}, ...], read element by element, located by element index."""

from __future__ import annotations

import io
import json

import pytest

from kolam.formats import FormatError
from kolam.formats.json_array import read_json_array
from tests.formats.sources import BOM, DEVANAGARI, TAMIL, endless, stream


def records(data: bytes, *, buffered: bool = True) -> list[tuple[dict, str]]:
    source = stream(data) if buffered else io.BytesIO(data)
    return [(r.fields, r.location) for r in read_json_array(source, "batch.json")]


def error(data: bytes, *, buffered: bool = True) -> FormatError:
    with pytest.raises(FormatError) as caught:
        records(data, buffered=buffered)
    return caught.value


def test_each_element_is_a_record_located_by_its_index():
    data = b'[{"text": "a", "id": 7}, {"text": "b", "meta": {"score": 0.25, "tags": ["x"], "ok": true}}]'

    assert records(data) == [
        ({"text": "a", "id": 7}, "batch.json element 0"),
        ({"text": "b", "meta": {"score": 0.25, "tags": ["x"], "ok": True}}, "batch.json element 1"),
    ]


def test_numbers_come_out_as_json_numbers_not_decimals():
    ((fields, _),) = records(b'[{"i": 3, "f": 0.1, "e": 1e3, "big": 9223372036854775807}]')

    assert fields == {"i": 3, "f": 0.1, "e": 1000.0, "big": 2**63 - 1}
    assert [type(v) for v in fields.values()] == [int, float, float, int]


def test_an_integer_past_64_bits_is_a_located_format_error():
    """yajl stops at 2**63 - 1 (the JSONL reader's orjson goes further); say so rather than crash."""
    err = error(b'[{"n": 0}, {"id": 9223372036854775808}]')

    assert (err.location, err.message) == (
        "batch.json",
        "not valid JSON after element 0 (parse error: integer overflow)",
    )


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "plain-bytesio"])
def test_pretty_printed_with_crlf_and_a_byte_order_mark(buffered: bool):
    text = json.dumps([{"text": TAMIL}, {"text": DEVANAGARI}], ensure_ascii=False, indent=2).replace("\n", "\r\n")

    got = records(BOM + b"\r\n  " + text.encode(), buffered=buffered)

    assert got == [({"text": TAMIL}, "batch.json element 0"), ({"text": DEVANAGARI}, "batch.json element 1")]
    assert got[0][0]["text"].encode() == TAMIL.encode()


def test_an_array_after_more_whitespace_than_one_read_is_still_found():
    assert records(b" " * 200_000 + b'[{"n": 1}]') == [({"n": 1}, "batch.json element 0")]


def test_an_empty_array_has_no_records():
    assert records(b" [ ] \n") == []


@pytest.mark.parametrize("data", [b"", b"  \n", BOM], ids=["empty", "whitespace", "only-bom"])
def test_an_empty_file_is_refused(data: bytes):
    err = error(data)

    assert (err.location, err.message) == (
        "batch.json",
        "the file is empty; expected an array of objects ([{...}, ...])",
    )


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "plain-bytesio"])
@pytest.mark.parametrize(
    "data",
    [b'{"text": "a"}', b'{"item": {"text": "a"}}', b'{"item": [{"text": "a"}]}', b'"text"', b"42", b"null"],
    ids=["object", "object-with-item-object", "object-with-item-array", "string", "number", "null"],
)
def test_a_top_level_that_is_not_an_array_is_refused(data: bytes, buffered: bool):
    err = error(data, buffered=buffered)

    assert err.location == "batch.json"
    assert err.message == "the top level must be an array of objects ([{...}, ...])"


@pytest.mark.parametrize(
    ("element", "got"), [(b"[1]", "list"), (b"5", "int"), (b"2.5", "float"), (b'"x"', "str"), (b"null", "NoneType")]
)
def test_an_element_that_is_not_an_object_names_its_index(element: bytes, got: str):
    err = error(b'[{"n": 0}, {"n": 1}, ' + element + b"]")

    assert (err.location, err.message) == ("batch.json element 2", f"each element must be an object, got {got}")


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b'[{"n": 0}, {"n": 1}, {"n": ', "after element 1"),
        (b'[{"n": 0}, {"n": 1}', "after element 1"),
        (b'[{"n": 0},, {"n": 1}]', "after element 0"),
        (b'[{"n": 0}] [{"n": 1}]', "after element 0"),
        (b'[{"n": 0,}]', "at element 0"),
        (b"[", "at element 0"),
    ],
    ids=["truncated-in-element", "truncated-after-element", "double-comma", "trailing-garbage", "comma", "bracket"],
)
def test_malformed_json_says_after_which_element(data: bytes, where: str):
    err = error(data)

    assert err.location == "batch.json"
    assert err.message.startswith(f"not valid JSON {where} (")
    assert "\n" not in err.message  # one line: the CLI prints it as is


def test_records_before_the_fault_are_yielded_first():
    reader = read_json_array(stream(b'[{"n": 0}, {"n": 1}, {"n": '), "batch.json")

    assert [next(reader).location, next(reader).location] == ["batch.json element 0", "batch.json element 1"]
    with pytest.raises(FormatError, match="after element 1"):
        next(reader)


def test_bytes_that_are_not_utf8_are_a_format_error_not_a_decode_error():
    err = error(b'[{"text": "ok"}, {"text": "caf\xe9"}]')

    assert err.location == "batch.json"
    assert err.message.startswith("not valid JSON after element 0 (")
    assert "UTF8" in err.message


def test_a_very_long_string_is_one_record():
    text = "क" * 1_000_000  # 3 MB: spans several reads (and is the most text an item may hold)

    assert records(json.dumps([{"text": text}], ensure_ascii=False).encode()) == [
        ({"text": text}, "batch.json element 0")
    ]


def test_it_streams_the_first_records_come_before_the_end_of_the_file():
    source, raw = endless(b"[", lambda i: b'{"n": %d}, ' % i)

    reader = read_json_array(source, "endless.json")
    first = [next(reader) for _ in range(3)]

    assert [(r.fields, r.location) for r in first] == [
        ({"n": 0}, "endless.json element 0"),
        ({"n": 1}, "endless.json element 1"),
        ({"n": 2}, "endless.json element 2"),
    ]
    assert raw.served <= 3 << 20  # the reader reads 1 MiB at a time
