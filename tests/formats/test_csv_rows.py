"""CSV reader: a header row, then one record a row, numbered as a spreadsheet numbers rows (header = row 1)."""

from __future__ import annotations

import csv
import io

import pytest

from kolam.formats import FormatError
from kolam.formats.csv_rows import read_csv
from tests.formats.sources import BOM, DEVANAGARI, TAMIL, endless, stream


def records(data: bytes, name: str = "batch.csv") -> list[tuple[dict, str]]:
    return [(r.fields, r.location) for r in read_csv(stream(data), name)]


def error(data: bytes, name: str = "batch.csv") -> FormatError:
    with pytest.raises(FormatError) as caught:
        list(read_csv(stream(data), name))
    return caught.value


def csv_bytes(rows: list[list[str]], line_end: str = "\r\n") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator=line_end).writerows(rows)
    return out.getvalue().encode()


def test_each_row_is_a_record_keyed_by_the_header_with_every_cell_a_string():
    data = b"id,text,priority\n1,hello,3\n2,world,\n"

    assert records(data) == [
        ({"id": "1", "text": "hello", "priority": "3"}, "batch.csv row 2"),
        ({"id": "2", "text": "world", "priority": ""}, "batch.csv row 3"),
    ]


def test_header_names_are_trimmed_cells_are_not():
    assert records(b" id , text \n1,  padded  \n") == [({"id": "1", "text": "  padded  "}, "batch.csv row 2")]


def test_excel_output_byte_order_mark_crlf_and_quoting():
    data = BOM + csv_bytes([["id", "text"], ["t1", TAMIL], ["h1", DEVANAGARI], ["q", 'a "quoted", text']])

    got = records(data)

    assert got == [
        ({"id": "t1", "text": TAMIL}, "batch.csv row 2"),
        ({"id": "h1", "text": DEVANAGARI}, "batch.csv row 3"),
        ({"id": "q", "text": 'a "quoted", text'}, "batch.csv row 4"),
    ]
    assert [fields["text"].encode() for fields, _ in got[:2]] == [TAMIL.encode(), DEVANAGARI.encode()]


def test_a_multi_line_cell_counts_as_one_row_so_locations_match_a_spreadsheet_not_the_line():
    data = b'id,text\n1,"first line\r\nsecond line\nthird"\n2,after\n3,bad,extra\n'

    reader = read_csv(stream(data), "batch.csv")

    assert [(r.fields, r.location) for r in (next(reader), next(reader))] == [
        ({"id": "1", "text": "first line\r\nsecond line\nthird"}, "batch.csv row 2"),
        ({"id": "2", "text": "after"}, "batch.csv row 3"),
    ]
    with pytest.raises(FormatError) as caught:
        next(reader)
    assert caught.value.location == "batch.csv row 4"  # the 6th line of the file


def test_blank_rows_are_skipped_but_keep_their_number():
    data = b"id,text\n1,a\n\n,\n , \n2,b\n"

    assert records(data) == [
        ({"id": "1", "text": "a"}, "batch.csv row 2"),
        ({"id": "2", "text": "b"}, "batch.csv row 6"),
    ]


def test_meta_column_is_json_and_meta_dot_columns_are_merged_into_it_as_strings():
    data = csv_bytes([["text", "meta", "meta.lang", "meta.n"], ["a", '{"reviewed": true, "n": 1}', "ta", "2"]])

    assert records(data) == [({"text": "a", "meta": {"reviewed": True, "n": "2", "lang": "ta"}}, "batch.csv row 2")]


def test_an_empty_meta_cell_means_no_meta():
    assert records(b"text,meta\na,\nb,  \n") == [({"text": "a"}, "batch.csv row 2"), ({"text": "b"}, "batch.csv row 3")]


def test_a_meta_cell_that_is_not_json_names_the_row_and_field():
    err = error(b"text,meta\na,{}\nb,{oops\n")

    assert (err.location, err.field) == ("batch.csv row 3", "meta")
    assert err.message.startswith("column 'meta' is not valid JSON")


@pytest.mark.parametrize("data", [b"", BOM], ids=["empty", "only-bom"])
def test_an_empty_file_is_refused_for_want_of_a_header(data: bytes):
    err = error(data)

    assert (err.location, err.message) == ("batch.csv", "the file is empty; a header row is needed")


def test_a_header_alone_has_no_records():
    assert records(b"id,text\r\n") == []


@pytest.mark.parametrize(
    ("header", "says"),
    [
        (b"id,,text", "column 2 has no name in the header"),
        (b"id,text,", "column 3 has no name in the header"),
        (b"id, ,text", "column 2 has no name in the header"),
        (b"text,id,text", "column 'text' appears twice in the header"),
        (b"text,id, text ", "column 'text' appears twice in the header"),
    ],
    ids=["empty-middle", "trailing-comma", "blank", "duplicate", "duplicate-after-trimming"],
)
def test_a_bad_header_names_row_1_and_the_column(header: bytes, says: str):
    err = error(header + b"\nx,y,z\n")

    assert (err.location, err.message) == ("batch.csv row 1", says)


@pytest.mark.parametrize(
    ("row", "says"),
    [(b"2,b,extra", "3 cells, but the header has 2 columns"), (b"2", "1 cells, but the header has 2 columns")],
    ids=["more-cells", "fewer-cells"],
)
def test_a_row_whose_cell_count_differs_from_the_header_is_refused(row: bytes, says: str):
    err = error(b"id,text\n1,a\n" + row + b"\n")

    assert (err.location, err.message) == ("batch.csv row 3", says)


@pytest.mark.parametrize(
    ("data", "location"),
    [
        (b'text\n"never closed\nmore\nand more\n', "batch.csv row 2"),
        (b'id,text\n1,ok\n2,"quoted"tail\n', "batch.csv row 3"),
        (b'"id"x,text\n1,ok\n', "batch.csv row 1"),
    ],
    ids=["unclosed-quote-swallows-the-rest", "text-after-closing-quote", "in-the-header"],
)
def test_a_stray_quote_is_refused_not_merged_into_a_cell(data: bytes, location: str):
    err = error(data)

    assert err.location == location
    assert err.message.startswith("malformed CSV (")


def test_bytes_that_are_not_utf8_name_the_row_and_column_even_far_into_the_file():
    data = b"id,text\n" + b"".join(b"%d,fine\n" % i for i in range(1, 500)) + b"500,caf\xe9\n501,fine\n"

    err = error(data)

    assert (err.location, err.field) == ("batch.csv row 501", "text")
    assert err.message == "not valid UTF-8 text in column 'text'"


def test_bytes_that_are_not_utf8_in_the_header():
    err = error(b"id,t\xe9xt\n1,a\n")

    assert (err.location, err.message) == ("batch.csv row 1", "not valid UTF-8 text in cell 2")


def test_a_very_long_cell_is_one_record():
    text = "த" * 3_000_000  # 9 MB in one cell

    assert records(csv_bytes([["text"], [text], ["short"]])) == [
        ({"text": text}, "batch.csv row 2"),
        ({"text": "short"}, "batch.csv row 3"),
    ]


def test_it_streams_the_first_records_come_before_the_end_of_the_file():
    source, raw = endless(b"id,text\r\n", lambda i: b"%d,row %d\r\n" % (i, i))

    reader = read_csv(source, "endless.csv")
    first = [next(reader) for _ in range(3)]

    assert [(r.fields, r.location) for r in first] == [
        ({"id": "0", "text": "row 0"}, "endless.csv row 2"),
        ({"id": "1", "text": "row 1"}, "endless.csv row 3"),
        ({"id": "2", "text": "row 2"}, "endless.csv row 4"),
    ]
    assert raw.served <= 64 * 1024
