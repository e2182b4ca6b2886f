"""JSON Lines written by the database: byte for byte what orjson makes of records built here from the ORM, on
SQLite and on PostgreSQL — text and URL items, meta in any script, answers edited, late and uncounted,
predictions, pages walked one after another; timestamps in ISO 8601 UTC; annotators as pseudonyms or emails.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from kolam.formats import SourceRecord, export_format
from kolam.formats.export_jsonl import WritesJsonLines
from kolam.services import export_lines, exports, imports
from kolam.services.answer_edits import edit_answer
from kolam.services.assignment import lease_tasks
from kolam.services.submissions import Submission, submit
from kolam.store.db import Database
from kolam.store.tables import Annotation, Item, Prediction, Project, Task, User
from kolam.store.types import utcnow
from tests.factories import Factory, Person

LINE = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$")

# Text that JSON must escape, or that SQLite keeps as json.dumps escaped it (non-ASCII, DEL, U+2028).
AWKWARD = 'ஒரு "quoted" back\\slash\nnew\ttab \x01\x1f\x7f \u2028 नमस्ते 😀 </script>'
# Numbers Python and orjson print differently (1e-05 / 0.00001, 1.5e-07 / 1.5e-7), or alike (1e+16).
NUMBERS = [0.1, 1e-05, 1.5e-07, 1e16, 1.0, -0.0, 0.30000000000000004, 12345678901234567, -3]


@dataclass
class Exported:
    project: Project
    first: Person
    second: Person
    item_ids: list[int]


# --- building the project ----------------------------------------------------------------------------------------


def add_item(db: Database, project: Project, *, state: str = "open", **columns: Any) -> int:
    """An item and its task straight through the ORM (URL and blob items, meta json.dumps writes, staged)."""
    now = utcnow()
    with db.write() as s:
        item = Item(
            org_id=project.org_id,
            project_id=project.id,
            content_hash=uuid.uuid4().hex,
            created_at=now,
            **{"media": "text", "meta": {}, **columns},
        )
        s.add(item)
        s.flush()
        s.add(
            Task(
                item_id=item.id,
                project_id=project.id,
                state=state,
                answers_wanted=project.overlap,
                open_slots=project.overlap,
                created_at=now,
                updated_at=now,
            )
        )
        s.commit()
        return item.id


def add_answer(db: Database, project: Project, person: Person, task_id: int, value: Any, **columns: Any) -> int:
    """An answer written by the ORM (so the JSON is json.dumps'), for values and flags the services refuse."""
    with db.write() as s:
        answer = Annotation(
            project_id=project.id,
            task_id=task_id,
            user_id=person.actor.user_id,
            client_id=str(uuid.uuid4()),
            schema_version=1,
            value=value,
            created_at=utcnow(),
            **columns,
        )
        s.add(answer)
        s.commit()
        return answer.id


def answer(db: Database, person: Person, project: Project, count: int, labels: list[str], **extra: Any) -> list[int]:
    """Lease ``count`` tasks and answer each through the services; returns the answers' ids."""
    ids = []
    with db.write() as s:
        leased = lease_tasks(s, person.actor, project.id, count=count)
    for task in leased:
        sub = Submission(task_id=task.task_id, client_id=str(uuid.uuid4()), value={"labels": labels}, **extra)
        with db.write() as s:
            ids.append(submit(s, person.actor, project.id, sub).annotation.id)
    return ids


@pytest.fixture
def exported(db: Database, factory: Factory) -> Exported:
    """Imported text items (meta as orjson writes it), ORM items (URL, blob, no external id, staged), two
    annotators with answers, one edited, one late and uncounted, awkward values, predictions, one unanswered."""
    org = factory.org()
    project = factory.project(org, "text_classes", overlap=2)
    records = [
        {"id": "t-1", "text": AWKWARD, "meta": {"lang": "ta", "nested": {"ஒரு": [1, 2.5, None, True]}}},
        {"text": "no external id, no meta"},
        {"id": "t-3", "text": "=SUM(A1)", "meta": {"small": 1e-05, "tiny": 1.5e-07, "big": 1e16}},
    ]
    imports.import_records(
        db,
        None,
        project.id,
        (SourceRecord(r, f"test {i}") for i, r in enumerate(records)),
        source="test",
        format_name="test",
        blobs=factory.blobs,
        org_id=org.id,
    )
    first, second = factory.person(org), factory.person(org)
    answer(db, first, project, 3, ["ok"], lead_time_ms=1200, time_spent_ms=900)
    answer(db, second, project, 2, ["spam", "abuse"])
    url = add_item(
        db, project, media="image", url="https://img.example/a b.png?x=1&y=ü", external_id="u-1", meta={"w": 640}
    )
    blob = add_item(db, project, media="image", blob_key="ab/cd/ef", mime_type=None, meta={"k": AWKWARD})
    add_item(db, project, state="staged", external_id="staged-hidden")
    unanswered = add_item(db, project, external_id=None, meta={"": None, "empty": {}})
    with db.read() as s:
        shown = sa.select(Task.item_id).where(Task.project_id == project.id, Task.state != "staged")
        item_ids = list(s.scalars(shown.order_by(Task.item_id)))
    edited = answer_of(db, first, item_ids[1])
    with db.write() as s:
        edit_answer(s, first.actor, edited, client_id=str(uuid.uuid4()), value={"labels": ["spam"]})
    add_answer(db, project, second, url, {"labels": ["ok"], "note": AWKWARD, "numbers": NUMBERS, "flag": False})
    replaced = {"labels": ["ok"], "note": "see the e-mail", "numbers": NUMBERS}  # 'e-' twice, one an exponent
    add_answer(db, project, second, item_ids[2], replaced, is_current=False)
    add_answer(
        db,
        project,
        first,
        url,
        {"labels": ["abuse"]},
        counted=False,
        late=True,
        client_created_at=datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
        lead_time_ms=None,
    )
    add_answer(
        db,
        project,
        second,
        blob,
        {"labels": []},
        client_created_at=datetime(2024, 5, 1, 15, 0, 0, 250000, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    )
    with db.write() as s:
        for task_id, confidence in ((url, 1.0), (url, 0.30000000000000004), (blob, None)):
            s.add(
                Prediction(
                    project_id=project.id,
                    task_id=task_id,
                    model_version="m-1",
                    value={"labels": ["ok"], "p": [0.25, 1e-05]},
                    confidence=confidence,
                    created_at=utcnow(),
                )
            )
        s.commit()
    assert unanswered in item_ids
    return Exported(project, first, second, item_ids)


def answer_of(db: Database, person: Person, task_id: int) -> int:
    with db.read() as s:
        found = s.scalar(
            sa.select(Annotation.id).where(Annotation.task_id == task_id, Annotation.user_id == person.actor.user_id)
        )
        assert found is not None
        return found


# --- what the export must equal ----------------------------------------------------------------------------------


def reference(db: Database, project_id: int, *, history: bool, reveal: bool) -> bytes:
    """The export as records built from ORM objects, dumped by orjson: what every line must equal."""
    with db.read() as s:
        tasks = s.scalars(
            sa.select(Task).where(Task.project_id == project_id, Task.state != "staged").order_by(Task.item_id)
        ).all()
        items = {i.id: i for i in s.scalars(sa.select(Item).where(Item.project_id == project_id))}
        query = sa.select(Annotation).where(Annotation.project_id == project_id).order_by(Annotation.id)
        answers = s.scalars(query if history else query.where(Annotation.is_current)).all()
        emails = {u.id: u.email for u in s.scalars(sa.select(User))}
        predictions = s.scalars(
            sa.select(Prediction).where(Prediction.project_id == project_id).order_by(Prediction.id)
        ).all()
    out = []
    for task in tasks:
        item = items[task.item_id]
        data: dict[str, Any] = {"media": item.media}
        for key, value in (("text", item.text), ("url", item.url)):
            if value is not None:
                data[key] = value
        if item.blob_key is not None:
            data |= {"blob": item.blob_key, "mime_type": item.mime_type}
        if item.meta:
            data["meta"] = item.meta
        record = {
            "item_id": item.id,
            "external_id": item.external_id,
            "data": data,
            "task": {"state": task.state, "answers_wanted": task.answers_wanted, "answers_count": task.answers_count},
            "annotations": [
                {
                    "id": a.id,
                    "annotator": emails[a.user_id] if reveal else f"a{a.user_id}",
                    "schema_version": a.schema_version,
                    "version": a.version,
                    "previous_id": a.previous_id,
                    "is_current": a.is_current,
                    "counted": a.counted,
                    "late": a.late,
                    "value": a.value,
                    "created_at": a.created_at,
                    "client_created_at": a.client_created_at,
                    "lead_time_ms": a.lead_time_ms,
                    "time_spent_ms": a.time_spent_ms,
                }
                for a in answers
                if a.task_id == item.id
            ],
            "predictions": [
                {"model_version": p.model_version, "value": p.value, "confidence": p.confidence}
                for p in predictions
                if p.task_id == item.id
            ],
            "consensus": None,
        }
        out.append(orjson.dumps(record, option=LINE))
    return b"".join(out)


def jsonl(db: Database, project_id: int, *, history: bool = False, reveal: bool = False) -> list[bytes]:
    """The export through the JSON Lines writer, as its chunks."""
    records = exports.iter_export_records(db, project_id, history=history, reveal_annotators=reveal)
    return list(export_format("jsonl").write(records))


def lines(db: Database, project_id: int, **options: Any) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in b"".join(jsonl(db, project_id, **options)).splitlines()]


# --- the tests ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("history", [False, True], ids=["current", "history"])
@pytest.mark.parametrize("reveal", [False, True], ids=["pseudonyms", "emails"])
def test_lines_equal_records_built_from_the_orm(db: Database, exported: Exported, history: bool, reveal: bool):
    expected = reference(db, exported.project.id, history=history, reveal=reveal)
    records = exports.iter_export_records(db, exported.project.id, history=history, reveal_annotators=reveal)

    written = b"".join(jsonl(db, exported.project.id, history=history, reveal=reveal))

    assert isinstance(records, WritesJsonLines)  # the writer takes the database's lines
    assert written == expected
    assert b"".join(orjson.dumps(r, option=LINE) for r in records) == expected  # the records way agrees
    assert len(written.splitlines()) == len(exported.item_ids) == 6


def test_the_project_exercises_every_case(db: Database, exported: Exported):
    """The fixture holds what the equality above is about (so it cannot pass on a project too plain)."""
    by_item = {r["item_id"]: r for r in lines(db, exported.project.id, history=True)}
    answers = [a for r in by_item.values() for a in r["annotations"]]
    data = [r["data"] for r in by_item.values()]

    assert "staged-hidden" not in {r["external_id"] for r in by_item.values()}
    assert {r["external_id"] for r in by_item.values()} >= {"t-1", "t-3", "u-1", None}
    assert {"text", "url", "blob"} <= {k for d in data for k in d}
    assert sum("meta" in d for d in data) == 5  # left out where empty
    assert [r["annotations"] for r in by_item.values()].count([]) == 1
    assert {(a["counted"], a["late"]) for a in answers} >= {(True, False), (False, True)}
    assert [a["is_current"] for a in answers].count(False) == 2
    assert sum(len(r["predictions"]) for r in by_item.values()) == 3


def test_values_keep_their_json_types(db: Database, exported: Exported):
    url = next(r for r in lines(db, exported.project.id) if r["external_id"] == "u-1")
    noted = next(a for a in url["annotations"] if "note" in a["value"])
    late = next(a for a in url["annotations"] if a["late"])

    assert url["data"]["meta"] == {"w": 640}  # a JSON column embedded as JSON, not as a string
    assert noted["value"]["note"] == AWKWARD
    assert noted["value"]["numbers"] == NUMBERS and noted["value"]["flag"] is False
    assert (late["counted"], late["late"], late["is_current"], late["previous_id"]) == (False, True, True, None)
    assert (late["lead_time_ms"], noted["lead_time_ms"]) == (None, None)
    assert [p["confidence"] for p in url["predictions"]] == [1.0, 0.30000000000000004]
    assert b'"confidence":1.0}' in b"".join(jsonl(db, exported.project.id))  # a float stays a float


def test_timestamps_are_iso_utc_with_microseconds_only_when_there_are_any(db: Database, exported: Exported):
    records = lines(db, exported.project.id, history=True)
    answers = [a for r in records for a in r["annotations"]]
    client_stamps = {a["client_created_at"] for a in answers} - {None}

    assert all(STAMP.match(a["created_at"]) for a in answers), [a["created_at"] for a in answers]
    assert client_stamps == {"2024-05-01T09:30:00+00:00", "2024-05-01T09:30:00.250000+00:00"}


def test_annotators_are_pseudonyms_unless_revealed(db: Database, exported: Exported):
    first, second = exported.first.actor.user_id, exported.second.actor.user_id
    hidden = b"".join(jsonl(db, exported.project.id))
    shown = b"".join(jsonl(db, exported.project.id, reveal=True))

    assert {a["annotator"] for r in lines(db, exported.project.id) for a in r["annotations"]} == {
        f"a{first}",
        f"a{second}",
    }
    assert b"@" not in hidden
    assert exported.first.email.encode() in shown and exported.second.email.encode() in shown
    assert f'"a{first}"'.encode() not in shown


def test_history_adds_the_replaced_version(db: Database, exported: Exported):
    edited_item = exported.item_ids[1]
    current = next(r for r in lines(db, exported.project.id) if r["item_id"] == edited_item)["annotations"]
    full = next(r for r in lines(db, exported.project.id, history=True) if r["item_id"] == edited_item)["annotations"]

    mine = [a for a in full if a["annotator"] == f"a{exported.first.actor.user_id}"]
    assert [(a["version"], a["value"]["labels"], a["is_current"]) for a in mine] == [
        (1, ["ok"], False),
        (2, ["spam"], True),
    ]
    assert mine[1]["previous_id"] == mine[0]["id"]
    assert [a["id"] for a in current] == [a["id"] for a in full if a["is_current"]]


@pytest.mark.parametrize("page", [1, 2, 3])
def test_pages_join_into_the_same_export(db: Database, exported: Exported, monkeypatch: pytest.MonkeyPatch, page: int):
    expected = reference(db, exported.project.id, history=True, reveal=True)
    monkeypatch.setattr(export_lines, "PAGE", page)

    chunks = jsonl(db, exported.project.id, history=True, reveal=True)

    assert len(chunks) == -(-6 // page)  # one chunk a page; the staged item is on none
    assert b"".join(chunks) == expected
    assert all(chunk.endswith(b"\n") for chunk in chunks)


def test_an_empty_project_exports_nothing(db: Database, factory: Factory):
    project = factory.project(factory.org())

    assert jsonl(db, project.id) == []
    assert list(exports.iter_export_records(db, project.id)) == []


def test_a_stored_nan_goes_the_records_way(db: Database, factory: Factory):
    """json.dumps writes NaN, which SQLite's json() refuses; that page is written from records (NaN → null)."""
    if not db.is_sqlite:
        pytest.skip("PostgreSQL's JSONB refuses NaN when it is written")
    org = factory.org()
    project = factory.project(org)
    person = factory.person(org)
    item = add_item(db, project, external_id="nan")
    add_answer(db, project, person, item, {"score": float("nan"), "inf": float("inf"), "note": AWKWARD})

    written = b"".join(jsonl(db, project.id))

    assert written == reference(db, project.id, history=False, reveal=False)
    assert orjson.loads(written)["annotations"][0]["value"] == {"score": None, "inf": None, "note": AWKWARD}


def test_other_records_still_go_through_orjson():
    rows = [{"item_id": 1, "at": datetime(2024, 5, 1, 9, 30, tzinfo=UTC)}, {"item_id": 2, "data": {"ü": 1e-05}}]

    written = b"".join(export_format("jsonl").write(rows))

    assert written == b'{"item_id":1,"at":"2024-05-01T09:30:00+00:00"}\n{"item_id":2,"data":{"\xc3\xbc":0.00001}}\n'
