"""Imports, called as a service on real files: every format, media and references, duplicates, all-or-nothing,
and every kind of bad input reported with its file, line/row/element and field — with nothing left behind.
Every test runs on SQLite and on PostgreSQL (the ``db`` fixture).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image

from kolam.errors import Forbidden, Invalid, TooLarge
from kolam.services import imports
from kolam.services.imports import ImportReport
from kolam.store.db import Database
from kolam.store.tables import ImportRun, Item, Organization, Project, Task
from tests.factories import Factory

TAMIL = "வணக்கம் உலகம் — இது ஒரு சோதனை"
DEVANAGARI = "नमस्ते दुनिया, यह एक परीक्षण है"


@pytest.fixture
def org(factory: Factory) -> Organization:
    return factory.org()


@pytest.fixture
def texts(factory: Factory, org: Organization) -> Project:
    return factory.project(org, "text_classes")


@pytest.fixture
def images(factory: Factory, org: Organization) -> Project:
    return factory.project(org, "image_classes")


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def jsonl(*records: Any) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def photo(path: Path, seed: int, fmt: str = "PNG") -> Path:
    """A small photo-like image (gradient + noise), different for each seed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = Image.effect_noise((48, 32), 30 + seed).convert("RGB")
    gradient = Image.linear_gradient("L").resize((48, 32)).convert("RGB")
    Image.blend(noise, gradient, 0.5).rotate(seed * 7).save(path, fmt)
    return path


def run(factory: Factory, project: Project, path: Path, **kwargs: Any) -> ImportReport:
    return imports.import_path(factory.db, None, project.id, path, blobs=factory.blobs, org_id=project.org_id, **kwargs)


def items(db: Database, project: Project) -> list[Item]:
    with db.read() as s:
        return list(s.scalars(sa.select(Item).where(Item.project_id == project.id).order_by(Item.id)))


def count(db: Database, table: type, project: Project) -> int:
    with db.read() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(table).where(table.project_id == project.id)) or 0


def last_import(db: Database, project: Project) -> ImportRun:
    with db.read() as s:
        run_row = s.scalars(
            sa.select(ImportRun).where(ImportRun.project_id == project.id).order_by(ImportRun.id.desc())
        ).first()
    assert run_row is not None
    return run_row


def blob_files(factory: Factory) -> list[Path]:
    root = Path(factory.blobs.root)
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


# --- formats ---------------------------------------------------------------------------------------------------


def test_jsonl_makes_items_and_open_tasks(factory: Factory, db: Database, texts: Project, tmp_path: Path):
    source = write(
        tmp_path,
        "batch.jsonl",
        jsonl(
            {"id": "a1", "text": "first", "priority": 3, "meta": {"lang": "en"}, "channel": "mail"},
            {"id": 7, "text": "second"},
            {"text": "third", "priority": "-2"},
        ),
    )

    report = run(factory, texts, source)

    assert (report.records, report.created, report.duplicates) == (3, 3, 0)
    rows = items(db, texts)
    assert [r.text for r in rows] == ["first", "second", "third"]
    assert [r.external_id for r in rows] == ["a1", "7", None]
    assert rows[0].meta == {"lang": "en", "channel": "mail"}
    assert rows[0].content_hash == hashlib.sha256(b"first").hexdigest()
    with db.read() as s:
        tasks = s.execute(sa.select(Task.state, Task.priority).order_by(Task.item_id)).all()
    assert tasks == [("open", 3), ("open", 0), ("open", -2)]
    done = last_import(db, texts)
    assert (done.status, done.format, done.records, done.items_created) == ("done", "jsonl", 3, 3)


def test_json_array(factory: Factory, db: Database, texts: Project, tmp_path: Path):
    source = write(tmp_path, "batch.json", json.dumps([{"text": "one", "meta": {"score": 0.5}}, {"text": "two"}]))

    report = run(factory, texts, source)

    assert report.created == 2
    rows = items(db, texts)
    assert [r.text for r in rows] == ["one", "two"]
    assert rows[0].meta == {"score": 0.5}
    assert last_import(db, texts).format == "json"


def test_csv_keeps_meta_columns_multiline_cells_and_scripts_unchanged(
    factory: Factory, db: Database, texts: Project, tmp_path: Path
):
    rows = [
        ["id", "text", "priority", "meta", "meta.lang", "meta.source"],
        ["t1", TAMIL, "2", '{"reviewed": true}', "ta", "forum"],
        ["h1", DEVANAGARI, "", "", "hi", "chat"],
        ["m1", 'line one\nline two, with a comma and "quotes"', "1", "", "en", ""],
    ]
    lines = [",".join('"' + c.replace('"', '""') + '"' for c in row) for row in rows]
    # Excel writes a byte-order mark; the header must still read 'id'.
    source = write(tmp_path, "batch.csv", ("\ufeff" + "\r\n".join(lines) + "\r\n").encode())

    report = run(factory, texts, source)

    assert report.created == 3
    stored = items(db, texts)
    assert [r.text for r in stored] == [TAMIL, DEVANAGARI, 'line one\nline two, with a comma and "quotes"']
    assert stored[0].text.encode() == TAMIL.encode()  # not normalised, not re-encoded
    assert [r.external_id for r in stored] == ["t1", "h1", "m1"]
    assert stored[0].meta == {"reviewed": True, "lang": "ta", "source": "forum"}
    assert stored[1].meta == {"lang": "hi", "source": "chat"}
    with db.read() as s:
        assert list(s.scalars(sa.select(Task.priority).order_by(Task.item_id))) == [2, 0, 1]


def test_gzipped_jsonl(factory: Factory, db: Database, texts: Project, tmp_path: Path):
    source = write(tmp_path, "batch.jsonl.gz", gzip.compress(jsonl({"text": TAMIL}, {"text": DEVANAGARI}).encode()))

    report = run(factory, texts, source)

    assert report.created == 2
    assert [r.text for r in items(db, texts)] == [TAMIL, DEVANAGARI]
    assert last_import(db, texts).format == "jsonl"


# --- media: folders, URLs, paths --------------------------------------------------------------------------------


def test_folder_of_images_stores_each_content_once_under_the_org(
    factory: Factory, db: Database, org: Organization, images: Project, tmp_path: Path
):
    folder = tmp_path / "photos"
    first = photo(folder / "a.png", 1)
    photo(folder / "b.jpg", 2, "JPEG")
    (folder / "nested").mkdir()
    (folder / "nested" / "a-again.png").write_bytes(first.read_bytes())
    (folder / ".DS_Store").write_bytes(b"hidden files are skipped")

    report = run(factory, images, folder)

    assert (report.records, report.created, report.duplicates) == (3, 2, 1)
    assert report.duplicate_examples == [{"location": "nested/a-again.png", "same_content_as": "a.png"}]
    stored = items(db, images)
    assert [(r.media, r.mime_type, r.meta["file_name"]) for r in stored] == [
        ("image", "image/png", "a.png"),
        ("image", "image/jpeg", "b.jpg"),
    ]
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    assert stored[0].content_hash == digest
    assert stored[0].blob_key == f"org{org.id}/{digest[:2]}/{digest[2:4]}/{digest}"
    assert stored[0].size_bytes == first.stat().st_size
    assert all(r.blob_key.startswith(f"org{org.id}/") and r.url is None for r in stored)
    assert len(blob_files(factory)) == 2
    with factory.blobs.open(stored[0].blob_key) as handle:
        assert handle.read() == first.read_bytes()

    # The same photos in another project of the organization: new items, the same blobs, nothing stored twice.
    other = factory.project(org, "image_classes")
    assert run(factory, other, folder).created == 2
    assert {r.blob_key for r in items(db, other)} == {r.blob_key for r in stored}
    assert len(blob_files(factory)) == 2


def test_urls_become_items_without_downloading(
    factory: Factory, db: Database, images: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    def no_network(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("an import must not go to the network")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    urls = ["https://img.example/cats/1.jpg", "http://img.example/2.png", "s3://bucket/3.webp"]
    source = write(tmp_path, "urls.jsonl", jsonl(*({"image": u, "id": f"u{i}"} for i, u in enumerate(urls))))

    report = run(factory, images, source)

    assert report.created == 3
    stored = items(db, images)
    assert [r.url for r in stored] == urls
    assert [r.mime_type for r in stored] == ["image/jpeg", "image/png", "image/webp"]
    assert all(r.blob_key is None and r.size_bytes is None for r in stored)
    assert blob_files(factory) == []


def test_paths_under_allowed_roots_are_stored(
    factory: Factory, db: Database, org: Organization, images: Project, tmp_path: Path
):
    root = tmp_path / "incoming"
    relative = photo(root / "shots" / "one.png", 3)
    absolute = photo(root / "two.jpg", 4, "JPEG")
    source = write(tmp_path, "refs.jsonl", jsonl({"image": "shots/one.png"}, {"image": str(absolute)}))

    report = run(factory, images, source, allowed_roots=[root])

    assert report.created == 2
    stored = items(db, images)
    assert [r.content_hash for r in stored] == [
        hashlib.sha256(relative.read_bytes()).hexdigest(),
        hashlib.sha256(absolute.read_bytes()).hexdigest(),
    ]
    assert [r.meta["file_name"] for r in stored] == ["one.png", "two.jpg"]
    assert all(r.blob_key.startswith(f"org{org.id}/") for r in stored)


@pytest.mark.parametrize(
    ("reference", "words"),
    [
        ("../secret.png", "outside the folders imports may read"),
        ("{outside}", "outside the folders imports may read"),
        ("inside/link.png", "outside the folders imports may read"),
        ("inside/missing.png", "does not exist"),
    ],
    ids=["dot-dot", "absolute-elsewhere", "symlink-out", "missing"],
)
def test_paths_outside_allowed_roots_are_refused(
    factory: Factory, db: Database, images: Project, tmp_path: Path, reference: str, words: str
):
    root = tmp_path / "root"
    photo(root / "inside" / "fine.png", 5)
    secret = photo(tmp_path / "secret.png", 6)
    (root / "inside" / "link.png").symlink_to(secret)
    reference = reference.replace("{outside}", str(secret))
    source = write(tmp_path, "refs.jsonl", jsonl({"image": "inside/fine.png"}, {"image": reference}))

    with pytest.raises(Invalid) as caught:
        run(factory, images, source, allowed_roots=[root])

    assert caught.value.field == "image"
    assert caught.value.message.startswith("refs.jsonl line 2: ")
    assert words in caught.value.message
    assert count(db, Item, images) == 0


def test_paths_are_refused_when_no_folder_is_allowed(factory: Factory, db: Database, images: Project, tmp_path: Path):
    photo(tmp_path / "here.png", 7)
    source = write(tmp_path, "refs.jsonl", jsonl({"image": "here.png"}))

    with pytest.raises(Invalid) as caught:
        run(factory, images, source)

    assert caught.value.field == "image"
    assert caught.value.message.startswith("refs.jsonl line 1: items may not refer to server paths")
    assert blob_files(factory) == []


# --- duplicates ----------------------------------------------------------------------------------------------


def test_duplicates_are_reported_with_where_they_were_seen(
    factory: Factory, db: Database, texts: Project, tmp_path: Path
):
    first = write(tmp_path, "one.jsonl", jsonl({"text": "hello"}, {"text": "world"}, {"text": "hello", "id": "x"}))

    report = run(factory, texts, first)

    assert (report.records, report.created, report.duplicates) == (3, 2, 1)
    assert report.duplicate_examples == [{"location": "one.jsonl line 3", "same_content_as": "one.jsonl line 1"}]
    world = next(r for r in items(db, texts) if r.text == "world")

    second = write(tmp_path, "two.jsonl", jsonl({"text": "world"}, {"text": "new"}))
    report = run(factory, texts, second)

    assert (report.records, report.created, report.duplicates) == (2, 1, 1)
    assert report.duplicate_examples == [{"location": "two.jsonl line 1", "same_content_as": f"item {world.id}"}]
    assert count(db, Item, texts) == count(db, Task, texts) == 3
    done = last_import(db, texts)
    assert (done.duplicates, done.report["duplicate_examples"]) == (1, report.duplicate_examples)


def test_duplicates_across_chunks_are_still_counted(
    factory: Factory, db: Database, texts: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(imports, "CHUNK", 2)
    source = write(tmp_path, "a.jsonl", jsonl(*({"text": f"t{i % 3}"} for i in range(7))))

    report = run(factory, texts, source)

    assert (report.records, report.created, report.duplicates) == (7, 3, 4)
    assert [d["location"] for d in report.duplicate_examples] == [f"a.jsonl line {n}" for n in (4, 5, 6, 7)]


# --- all or nothing ------------------------------------------------------------------------------------------


def _records_with_bad_one(fmt: str, good: int, bad_at: int) -> tuple[str, str, str]:
    """A source of ``good`` records where the record at 0-based ``bad_at`` has ``priority: "high"``."""
    rows = [{"text": f"text {i}", "priority": "high" if i == bad_at else i} for i in range(good)]
    if fmt == "jsonl":
        return "big.jsonl", jsonl(*rows), f"big.jsonl line {bad_at + 1}"
    if fmt == "json":
        return "big.json", json.dumps(rows), f"big.json element {bad_at}"
    body = "".join(f"{r['text']},{r['priority']}\n" for r in rows)
    return "big.csv", "text,priority\n" + body, f"big.csv row {bad_at + 2}"


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_a_bad_record_after_the_first_chunk_leaves_nothing(
    factory: Factory, db: Database, texts: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
):
    factory.texts(texts, 2, prefix="earlier")
    monkeypatch.setattr(imports, "CHUNK", 10)
    name, content, location = _records_with_bad_one(fmt, good=40, bad_at=34)
    seen_while_running: list[tuple[int, int]] = []

    def peek(_n: int) -> None:
        with db.read() as s:
            states = dict(
                s.execute(
                    sa.select(Task.state, sa.func.count()).where(Task.project_id == texts.id).group_by(Task.state)
                ).all()
            )
        seen_while_running.append((states.get("open", 0), states.get("staged", 0)))

    with pytest.raises(Invalid) as caught:
        run(factory, texts, write(tmp_path, name, content), progress=peek)

    message = caught.value.message
    assert message.startswith(f"{location}: 'priority' must be a whole number, got 'high'")
    assert caught.value.field == "priority"
    # Three chunks were written (progress hears of a chunk once it is staged; the third was still being written
    # when the bad record was read), but only ever staged: annotators saw the earlier items only.
    assert seen_while_running == [(2, 10), (2, 20)]
    assert count(db, Item, texts) == count(db, Task, texts) == 2
    failed = last_import(db, texts)
    assert (failed.status, failed.items_created) == ("failed", 0)
    assert failed.finished_at is not None
    assert failed.report["error"] == {"code": "invalid", "message": message, "field": "priority"}


# --- bad input ------------------------------------------------------------------------------------------------

GZ_TRUNCATED = gzip.compress(jsonl(*({"text": f"t{i}"} for i in range(50))).encode())[:-20]
BAD_INPUT = [
    # (id, where the message says it is (file first), content, what it says, field at fault)
    ("malformed-json-line", "a.jsonl line 3", '{"text": "fine"}\n\n{"text": "oops",}\n', "not valid JSON", None),
    ("jsonl-not-utf8", "a.jsonl line 2", b'{"text": "fine"}\n{"text": "\xff"}\n', "not valid UTF-8", None),
    ("jsonl-line-not-object", "a.jsonl line 2", '{"text": "fine"}\n["text"]\n', "a JSON object, got list", None),
    ("json-element-not-object", "a.json element 1", '[{"text": "fine"}, "x"]', "an object, got str", None),
    ("json-top-level-object", "a.json", '{"text": "fine"}', "must be an array of objects", None),
    ("json-truncated", "a.json", '[{"text": "fine"}, {"text": ', "not valid JSON after element 0", None),
    ("csv-too-many-cells", "a.csv row 3", "id,text\n1,fine\n2,bad,extra\n", "3 cells, but the header has 2", None),
    ("csv-too-few-cells", "a.csv row 3", "id,text,priority\n1,fine,1\n2,bad\n", "2 cells, but the header has 3", None),
    ("csv-after-multiline-cell", "a.csv row 3", 'id,text\n1,"two\nlines"\n2,bad,extra\n', "3 cells", None),
    (
        "csv-missing-column",
        "a.csv row 2",
        "id,txt\n1,hello\n",
        "missing field 'text' (a project of kind text_classes",
        "text",
    ),
    ("csv-meta-not-json", "a.csv row 2", "text,meta\nfine,{oops\n", "column 'meta' is not valid JSON", "meta"),
    ("csv-header-twice", "a.csv row 1", "text,text\na,b\n", "column 'text' appears twice", None),
    ("csv-empty-file", "a.csv", "", "a header row is needed", None),
    ("csv-priority-word", "a.csv row 2", "text,priority\na,high\n", "'priority' must be a whole number", "priority"),
    ("priority-word", "a.jsonl line 1", jsonl({"text": "a", "priority": "high"}), "got 'high'", "priority"),
    ("priority-fraction", "a.jsonl line 1", jsonl({"text": "a", "priority": 1.5}), "got 1.5", "priority"),
    ("priority-bool", "a.jsonl line 1", jsonl({"text": "a", "priority": True}), "got True", "priority"),
    ("priority-huge", "a.jsonl line 1", jsonl({"text": "a", "priority": 2**40}), "must be between", "priority"),
    ("meta-number", "a.jsonl line 1", jsonl({"text": "a", "meta": 3}), "'meta' must be an object, got int", "meta"),
    ("meta-list", "a.json element 0", json.dumps([{"text": "a", "meta": [1]}]), "an object, got list", "meta"),
    ("meta-nul", "a.jsonl line 1", jsonl({"text": "a", "meta": {"k": "a\x00b"}}), "NUL character", "meta"),
    ("text-number", "a.jsonl line 1", jsonl({"text": 5}), "'text' must be a string, got int", "text"),
    ("text-null", "a.jsonl line 1", jsonl({"text": None}), "'text' must be a string, got NoneType", "text"),
    ("text-empty", "a.jsonl line 2", jsonl({"text": "ok"}, {"text": ""}), "'text' is empty", "text"),
    ("text-blank", "a.csv row 3", "id,text\n1,ok\n2,   \n3,x\n", "'text' is empty", "text"),
    ("text-missing", "a.jsonl line 1", jsonl({"body": "a"}), "missing field 'text'", "text"),
    ("text-nul", "a.jsonl line 1", jsonl({"text": "a\x00b"}), "NUL character", "text"),
    ("id-object", "a.jsonl line 1", jsonl({"text": "a", "id": {"k": 1}}), "'id' must be a string or number", "id"),
    ("id-bool", "a.jsonl line 1", jsonl({"text": "a", "id": True}), "got bool", "id"),
    ("id-too-long", "a.jsonl line 1", jsonl({"text": "a", "id": "x" * 501}), "at most 500 characters", "id"),
    ("gzip-damaged", "a.jsonl.gz", b"this was never gzip", "not a readable gzip file", None),
    ("gzip-truncated", "a.jsonl.gz", GZ_TRUNCATED, "not a readable gzip file", None),
]


@pytest.mark.parametrize(
    ("location", "content", "says", "field"), [case[1:] for case in BAD_INPUT], ids=[case[0] for case in BAD_INPUT]
)
def test_bad_input_is_refused_located_and_leaves_nothing(
    factory: Factory,
    db: Database,
    texts: Project,
    tmp_path: Path,
    location: str,
    content: str | bytes,
    says: str,
    field: str | None,
):
    factory.texts(texts, 1, prefix="earlier")

    with pytest.raises(Invalid) as caught:
        run(factory, texts, write(tmp_path, location.split()[0], content))

    error = caught.value
    assert error.message.startswith(f"{location}: "), error.message
    assert says in error.message, error.message
    assert error.field == field
    if field is not None:
        assert error.message.endswith(f"(field '{field}')")
    assert count(db, Item, texts) == count(db, Task, texts) == 1
    failed = last_import(db, texts)
    assert (failed.status, failed.items_created) == ("failed", 0)
    assert failed.report["error"] == {"code": "invalid", "message": error.message, "field": field}


def test_an_unknown_file_type_is_refused_before_anything_starts(
    factory: Factory, db: Database, texts: Project, tmp_path: Path
):
    with pytest.raises(Invalid) as caught:
        run(factory, texts, write(tmp_path, "notes.txt", "hello"))

    assert caught.value.message.startswith("notes.txt: cannot tell the format")
    assert ".jsonl" in caught.value.message and ".csv" in caught.value.message
    assert count(db, ImportRun, texts) == 0


@pytest.mark.parametrize(
    ("extra", "words", "field"),
    [
        ("notes.pdf", "unsupported file type '.pdf'", None),
        ("readme.txt", "a project of kind image_classes takes image files, this is text", "file"),
    ],
    ids=["unsupported-type", "wrong-media"],
)
def test_a_folder_with_a_file_that_does_not_fit_is_refused(
    factory: Factory, db: Database, images: Project, tmp_path: Path, extra: str, words: str, field: str | None
):
    folder = tmp_path / "mixed"
    photo(folder / "a.png", 8)
    write(folder, extra, "not an image")

    with pytest.raises(Invalid) as caught:
        run(factory, images, folder)

    assert caught.value.message.startswith(f"{extra}: {words}")
    assert caught.value.field == field
    assert count(db, Item, images) == 0
    assert last_import(db, images).status == "failed"


@pytest.mark.parametrize("how", ["folder", "path-reference"])
def test_an_item_file_over_max_item_bytes_is_too_large(
    factory: Factory, db: Database, images: Project, tmp_path: Path, how: str
):
    folder = tmp_path / "photos"
    small = photo(folder / "a.png", 9)
    big = folder / "z-big.png"
    Image.effect_noise((256, 256), 100).save(big)
    limit = big.stat().st_size - 1
    assert small.stat().st_size <= limit
    if how == "folder":
        source, location, field = folder, "z-big.png", "file"
    else:
        source = write(tmp_path, "refs.jsonl", jsonl({"image": "photos/a.png"}, {"image": "photos/z-big.png"}))
        location, field = "refs.jsonl line 2", "image"

    with pytest.raises(TooLarge) as caught:
        run(factory, images, source, allowed_roots=[tmp_path], max_item_bytes=limit)

    assert caught.value.message == f"{location}: content is over the limit of {limit} bytes"
    assert (caught.value.field, caught.value.code) == (field, "too_large")
    assert count(db, Item, images) == 0
    failed = last_import(db, images)
    assert (failed.status, failed.report["error"]["code"]) == ("failed", "too_large")
    assert not any(p.stat().st_size == big.stat().st_size for p in blob_files(factory))


def test_a_role_without_import_rights_is_refused(factory: Factory, db: Database, org: Organization, texts: Project):
    annotator = factory.person(org, "annotator")

    with pytest.raises(Forbidden):
        imports.import_records(db, annotator.actor, texts.id, [], source="x", format_name="jsonl", blobs=factory.blobs)

    assert count(db, ImportRun, texts) == 0
