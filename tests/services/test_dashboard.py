"""The dashboard's numbers against a small case computed by hand, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from kolam.errors import Forbidden, Invalid, NotFound
from kolam.services import assignment
from kolam.services.answer_edits import edit_answer
from kolam.services.assignment import end_lease, lease_tasks
from kolam.services.dashboard import Dashboard, project_dashboard
from kolam.services.submissions import Submission, submit
from kolam.store.db import Database
from kolam.store.tables import Annotation, Organization, Project
from tests.factories import Factory, Person

NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
ANSWER = {"labels": ["ok"]}


@pytest.fixture(autouse=True)
def fresh_sweep_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assignment, "_last_sweep", {})


@dataclass
class World:
    """Four texts t0..t3, overlap 3; answers (time spent, when):

    A: t0 1000 ms 12:05, t1 3000 ms 11:10, t2 2000 ms 11:50, then edits t0 (an edit, not a new answer).
    B: t0 4000 ms 10:20, t1 6000 ms two days before (outside a 48-hour window); skips t2.
    C: t0 without a timing 12:10; skips t1 and t2.
    So t0 is done (3 answers), t1..t3 open; 6 answers in all, 5 in the window: 10h 1, 11h 2, 12h 2.
    """

    org: Organization
    project: Project
    a: Person
    b: Person
    c: Person


def _at(hour: int, minute: int, days_before: int = 0) -> datetime:
    return NOW.replace(hour=hour, minute=minute) - timedelta(days=days_before)


def _answer(db: Database, person: Person, project: Project, task_id: int, ms: int | None, when: datetime) -> int:
    with db.write() as s:
        result = submit(s, person.actor, project.id, Submission(task_id, str(uuid.uuid4()), ANSWER, time_spent_ms=ms))
    with db.write() as s:
        s.execute(sa.update(Annotation).where(Annotation.id == result.annotation.id).values(created_at=when))
        s.commit()
    return result.annotation.id


def _skip(db: Database, person: Person, task_id: int) -> None:
    with db.write() as s:
        end_lease(s, person.actor, task_id, skip=True, reason="unreadable")


@pytest.fixture
def world(db: Database, factory: Factory) -> World:
    org = factory.org()
    project = factory.project(org, "text_classes", overlap=3)
    factory.texts(project, 4)
    t = factory.task_ids(project)
    a, b, c = (factory.person(org) for _ in range(3))
    for person in (a, b, c):
        with db.write() as s:
            assert len(lease_tasks(s, person.actor, project.id, count=4)) == 4
    first = _answer(db, a, project, t[0], 1000, _at(12, 5))
    _answer(db, a, project, t[1], 3000, _at(11, 10))
    _answer(db, a, project, t[2], 2000, _at(11, 50))
    with db.write() as s:
        edit_answer(s, a.actor, first, client_id=str(uuid.uuid4()), value={"labels": ["spam"]}, time_spent_ms=9999)
    _answer(db, b, project, t[0], 4000, _at(10, 20))
    _answer(db, b, project, t[1], 6000, _at(9, 0, days_before=2))
    _skip(db, b, t[2])
    _answer(db, c, project, t[0], None, _at(12, 10))
    _skip(db, c, t[1])
    _skip(db, c, t[2])
    return World(org, project, a, b, c)


def _dashboard(db: Database, person: Person, project_id: int, hours: int = 48) -> Dashboard:
    with db.read() as s:
        return project_dashboard(s, person.actor, project_id, hours=hours, now=NOW)


def test_counts_and_answers_per_hour(db: Database, factory: Factory, world: World) -> None:
    dash = _dashboard(db, factory.person(world.org, "manager"), world.project.id)
    assert dash.counts == {"tasks": 4, "open": 3, "done": 1, "staged": 0, "answers": 6}
    assert dash.since == datetime(2026, 3, 8, 13, tzinfo=UTC)
    assert len(dash.answers_per_hour) == 48
    assert dash.answers_per_hour[0].hour == dash.since
    assert dash.answers_per_hour[-1].hour == datetime(2026, 3, 10, 12, tzinfo=UTC)
    busy = {h.hour.hour: h.answers for h in dash.answers_per_hour if h.answers}
    assert busy == {10: 1, 11: 2, 12: 2}


def test_per_annotator_numbers(db: Database, factory: Factory, world: World) -> None:
    dash = _dashboard(db, factory.person(world.org, "manager"), world.project.id)
    by_user = {s.user_id: s for s in dash.annotators}
    a, b, c = (by_user[p.actor.user_id] for p in (world.a, world.b, world.c))
    assert [s.user_id for s in dash.annotators] == [world.a.actor.user_id, world.b.actor.user_id, world.c.actor.user_id]
    assert (a.answers, a.recent_answers, a.skips) == (3, 3, 0)
    assert (a.median_time_ms, a.mean_time_ms, a.active_ms) == (2000, 2000, 6000)
    assert a.answers_per_hour == 1800  # 3 answers in 6 s of active time
    assert a.last_answer_at == _at(12, 5)
    assert (b.answers, b.recent_answers, b.skips) == (2, 1, 1)
    assert (b.median_time_ms, b.mean_time_ms) == (5000, 5000)  # the mean of the two middle values
    assert b.answers_per_hour == 720
    assert b.last_answer_at == _at(10, 20)
    assert (c.answers, c.skips, c.median_time_ms, c.mean_time_ms, c.answers_per_hour) == (1, 2, None, None, None)
    assert a.email == world.a.email and a.name == world.a.email  # no display name: the e-mail


def test_odd_median_picks_the_middle(db: Database, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(org, "text_classes")
    factory.texts(project, 3)
    person = factory.person(org)
    with db.write() as s:
        lease_tasks(s, person.actor, project.id, count=3)
    for task_id, ms in zip(factory.task_ids(project), (100, 900, 300), strict=True):
        _answer(db, person, project, task_id, ms, _at(12, 0))
    (stats,) = _dashboard(db, factory.person(org, "owner"), project.id).annotators
    assert (stats.median_time_ms, stats.mean_time_ms) == (300, pytest.approx(433.3, abs=0.1))


def test_viewer_sees_pseudonyms_reviewer_too(db: Database, factory: Factory, world: World) -> None:
    for role in ("viewer", "reviewer"):
        dash = _dashboard(db, factory.person(world.org, role), world.project.id)
        assert {s.name for s in dash.annotators} == {f"a{p.actor.user_id}" for p in (world.a, world.b, world.c)}
        assert all(s.email is None for s in dash.annotators)
        assert sum(s.answers for s in dash.annotators) == 6


def test_annotator_may_not_and_other_org_sees_nothing(db: Database, factory: Factory, world: World) -> None:
    with pytest.raises(Forbidden):
        _dashboard(db, world.a, world.project.id)
    stranger = factory.person(factory.org(), "owner")
    with pytest.raises(NotFound):
        _dashboard(db, stranger, world.project.id)


def test_window_bounds(db: Database, factory: Factory, world: World) -> None:
    manager = factory.person(world.org, "manager")
    one = _dashboard(db, manager, world.project.id, hours=1)
    assert [(h.hour, h.answers) for h in one.answers_per_hour] == [(datetime(2026, 3, 10, 12, tzinfo=UTC), 2)]
    assert {s.user_id: s.recent_answers for s in one.annotators}[world.a.actor.user_id] == 1
    for hours in (0, 24 * 31 + 1):
        with pytest.raises(Invalid) as err:
            _dashboard(db, manager, world.project.id, hours=hours)
        assert err.value.field == "hours"


def test_empty_project(db: Database, factory: Factory) -> None:
    org = factory.org()
    project = factory.project(org, "image_classes")
    dash = _dashboard(db, factory.person(org, "manager"), project.id, hours=3)
    assert dash.annotators == []
    assert [h.answers for h in dash.answers_per_hour] == [0, 0, 0]
    assert dash.counts["tasks"] == 0
