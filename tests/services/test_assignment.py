"""The assignment engine, called directly: order, overlap, never twice to one person, skills, roles, expiry,
late and retried submits, and the gold hook. Every test runs on SQLite and on PostgreSQL (the ``db`` fixture).
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from kolam.errors import Conflict, Forbidden, Invalid, NotFound
from kolam.services import assignment
from kolam.services.assignment import LeasedTask, end_lease, gold_count, lease_tasks, renew_lease
from kolam.services.submissions import NotCounted, Submission, SubmitResult, submit
from kolam.store import queue
from kolam.store.db import Database
from kolam.store.tables import Annotation, Lease, Project, Task
from kolam.store.types import utcnow
from tests.factories import Factory, Person

ANSWER = {"labels": ["ok"]}


@pytest.fixture(autouse=True)
def fresh_sweep_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Project ids repeat across fresh databases; the process-wide sweep clock must not carry over."""
    monkeypatch.setattr(assignment, "_last_sweep", {})


def lease(db: Database, person: Person, project: Project, count: int = 1, **kwargs: Any) -> list[LeasedTask]:
    with db.write() as s:
        return lease_tasks(s, person.actor, project.id, count=count, **kwargs)


def answer(db: Database, person: Person, project: Project, task_id: int, client_id: str | None = None) -> SubmitResult:
    sub = Submission(task_id=task_id, client_id=client_id or str(uuid.uuid4()), value=ANSWER)
    with db.write() as s:
        return submit(s, person.actor, project.id, sub)


def task_ids(db: Database, project: Project) -> list[int]:
    with db.read() as s:
        return list(s.scalars(sa.select(Task.item_id).where(Task.project_id == project.id).order_by(Task.item_id)))


def task_row(db: Database, task_id: int) -> Task:
    with db.read() as s:
        task = s.get(Task, task_id)
        assert task is not None
        return task


def lease_row(db: Database, person: Person, task_id: int) -> Lease:
    with db.read() as s:
        row = s.scalar(sa.select(Lease).where(Lease.task_id == task_id, Lease.user_id == person.actor.user_id))
        assert row is not None
        return row


def expire(db: Database, person: Person, task_id: int) -> None:
    """Move the person's lease into the past and let the next lease call sweep at once."""
    with db.write() as s:
        s.execute(
            sa.update(Lease)
            .where(Lease.task_id == task_id, Lease.user_id == person.actor.user_id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        s.commit()
    assignment._last_sweep.clear()


def sweep(db: Database, project: Project) -> None:
    """Return expired slots now, without anyone leasing (what the next lease call would do first)."""
    with db.write() as s:
        queue.expire_leases(s, project.id, utcnow())
        s.commit()


def texts_of(leased: list[LeasedTask]) -> list[str]:
    return [t.item["text"] for t in leased]


# --- order and batches -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, ["high 0"]),
        (3, ["high 0", "high 1", "low 0"]),
        (5, ["high 0", "high 1", "low 0", "low 1", "low 2"]),
    ],
    ids=["one", "three", "all"],
)
def test_highest_priority_first_then_item_order(factory: Factory, db: Database, count: int, expected: list[str]):
    org = factory.org()
    ann = factory.person(org)
    project = factory.project(org)
    factory.texts(project, 3, prefix="low", priority=0)
    factory.texts(project, 2, prefix="high", priority=5)

    assert texts_of(lease(db, ann, project, count)) == expected


def test_a_batch_returns_count_distinct_tasks_each_with_its_lease(factory: Factory, db: Database):
    org = factory.org()
    ann = factory.person(org)
    project = factory.project(org)
    factory.texts(project, 30)

    leased = lease(db, ann, project, 20)

    assert len(leased) == 20
    assert len({t.task_id for t in leased}) == 20
    assert len({t.lease_id for t in leased}) == 20
    assert all(t.expires_at > utcnow() for t in leased)


def test_a_batch_larger_than_the_queue_returns_what_there_is(factory: Factory, db: Database):
    org = factory.org()
    ann = factory.person(org)
    project = factory.project(org)
    factory.texts(project, 4)

    assert len(lease(db, ann, project, 20)) == 4
    assert lease(db, ann, project, 20) == []


@pytest.mark.parametrize(
    ("count", "max_batch"),
    [(0, 100), (-1, 100), (101, 100), (6, 5)],
    ids=["zero", "negative", "over-default-max", "over-configured-max"],
)
def test_count_out_of_range_is_invalid(factory: Factory, db: Database, count: int, max_batch: int):
    org = factory.org()
    ann = factory.person(org)
    project = factory.project(org)
    factory.texts(project, 2)

    with pytest.raises(Invalid) as err:
        lease(db, ann, project, count, max_batch=max_batch)
    assert err.value.field == "count"


# --- overlap ---------------------------------------------------------------------------------------------------


def test_with_overlap_3_a_task_goes_to_at_most_3_people_at_once(factory: Factory, db: Database):
    org = factory.org()
    first_three = [factory.person(org) for _ in range(3)]
    fourth = factory.person(org)
    project = factory.project(org, overlap=3)
    factory.texts(project, 2)
    first, second = task_ids(db, project)

    assert [lease(db, p, project)[0].task_id for p in first_three] == [first] * 3
    assert task_row(db, first).open_slots == 0
    assert [t.task_id for t in lease(db, fourth, project, 5)] == [second]


def test_when_all_answers_are_in_the_task_is_done_and_never_offered_again(factory: Factory, db: Database):
    org = factory.org()
    people = [factory.person(org) for _ in range(3)]
    latecomer = factory.person(org)
    project = factory.project(org, overlap=3)
    factory.texts(project, 1)
    (task_id,) = task_ids(db, project)

    for person in people:
        (leased,) = lease(db, person, project)
        assert answer(db, person, project, leased.task_id).annotation.counted

    task = task_row(db, task_id)
    assert (task.state, task.answers_count, task.open_slots) == ("done", 3, 0)
    assert lease(db, latecomer, project, 10) == []


# --- never the same task twice to one person -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ending", "comes_back"),
    [("held", False), ("answered", False), ("skipped", False), ("released", True)],
)
def test_a_person_gets_a_task_again_only_after_releasing_it(
    factory: Factory, db: Database, ending: str, comes_back: bool
):
    org = factory.org()
    ann = factory.person(org)
    project = factory.project(org, overlap=3)
    factory.texts(project, 1)
    (task_id,) = task_ids(db, project)
    assert [t.task_id for t in lease(db, ann, project)] == [task_id]

    if ending == "answered":
        answer(db, ann, project, task_id)
    elif ending in ("skipped", "released"):
        with db.write() as s:
            end_lease(s, ann.actor, task_id, skip=ending == "skipped")

    assert [t.task_id for t in lease(db, ann, project, 5)] == ([task_id] if comes_back else [])


def test_a_skipped_task_goes_to_someone_else(factory: Factory, db: Database):
    org = factory.org()
    skipper, other = factory.person(org), factory.person(org)
    project = factory.project(org, overlap=1)
    factory.texts(project, 1)
    (task_id,) = task_ids(db, project)

    lease(db, skipper, project)
    assert lease(db, other, project) == []
    with db.write() as s:
        end_lease(s, skipper.actor, task_id, skip=True, reason="cannot read it")

    assert lease_row(db, skipper, task_id).skip_reason == "cannot read it"
    assert [t.task_id for t in lease(db, other, project)] == [task_id]


# --- who may lease ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("skills", "served"),
    [((), False), (("hi",), False), (("ta",), True), (("hi", "ta"), True)],
    ids=["none", "other-skill", "ta", "ta-and-more"],
)
def test_required_skills(factory: Factory, db: Database, skills: tuple[str, ...], served: bool):
    org = factory.org()
    ann = factory.person(org, skills=skills)
    project = factory.project(org, required_skills=["ta"])
    factory.texts(project, 1)

    if served:
        assert len(lease(db, ann, project)) == 1
    else:
        with pytest.raises(Forbidden) as err:
            lease(db, ann, project)
        assert err.value.code == "missing_skill"


@pytest.mark.parametrize(
    ("role", "may_lease"),
    [("owner", True), ("manager", True), ("reviewer", True), ("annotator", True), ("viewer", False)],
)
def test_roles_that_may_lease(factory: Factory, db: Database, role: str, may_lease: bool):
    org = factory.org()
    person = factory.person(org, role=role)
    project = factory.project(org)
    factory.texts(project, 1)

    if may_lease:
        assert len(lease(db, person, project)) == 1
    else:
        with pytest.raises(Forbidden):
            lease(db, person, project)


@pytest.mark.parametrize("role", ["annotator", "owner", "viewer"])
def test_another_organizations_project_is_not_found_never_forbidden(factory: Factory, db: Database, role: str):
    home, other = factory.org(), factory.org()
    outsider = factory.person(home, role=role)
    project = factory.project(other, required_skills=["ta"])
    factory.texts(project, 1)

    with pytest.raises(NotFound) as err:
        lease(db, outsider, project)
    assert err.value.field == "project_id"


# --- lease expiry and renewal ----------------------------------------------------------------------------------


def test_an_expired_lease_returns_its_slot_to_the_queue(factory: Factory, db: Database):
    org = factory.org()
    first, second = factory.person(org), factory.person(org)
    project = factory.project(org, overlap=1, lease_seconds=10)
    factory.texts(project, 1)
    (task_id,) = task_ids(db, project)
    lease(db, first, project)
    assert lease(db, second, project) == []

    expire(db, first, task_id)

    assert [t.task_id for t in lease(db, second, project)] == [task_id]
    assert lease_row(db, first, task_id).status == "expired"
    assert task_row(db, task_id).open_slots == 0


def test_renewing_an_active_lease_extends_it(factory: Factory, db: Database):
    org = factory.org()
    ann = factory.person(org)
    project = factory.project(org, lease_seconds=10)
    factory.texts(project, 1)
    (task_id,) = task_ids(db, project)
    lease(db, ann, project)
    with db.write() as s:
        soon = utcnow() + timedelta(seconds=2)
        s.execute(sa.update(Lease).where(Lease.task_id == task_id).values(expires_at=soon))
        s.commit()

    with db.write() as s:
        renewed = renew_lease(s, ann.actor, task_id)

    row = lease_row(db, ann, task_id)
    assert (row.status, row.renewals) == ("active", 1)
    assert row.expires_at == renewed.expires_at > soon + timedelta(seconds=5)


def test_renewing_an_expired_lease_revives_it_while_the_task_wants_answers(factory: Factory, db: Database):
    org = factory.org()
    ann, other, third = factory.person(org), factory.person(org), factory.person(org)
    project = factory.project(org, overlap=2, lease_seconds=10)
    factory.texts(project, 1)
    (task_id,) = task_ids(db, project)
    lease(db, ann, project)
    expire(db, ann, task_id)
    lease(db, other, project)  # sweeps: ann's lease ends, its slot is free again
    assert lease_row(db, ann, task_id).status == "expired"

    with db.write() as s:
        renew_lease(s, ann.actor, task_id)

    assert lease_row(db, ann, task_id).status == "active"
    assert task_row(db, task_id).open_slots == 0
    assert lease(db, third, project) == []


def test_renewing_an_expired_lease_of_a_task_with_no_free_slot_is_a_conflict(factory: Factory, db: Database):
    org = factory.org()
    ann, other = factory.person(org), factory.person(org)
    project = factory.project(org, overlap=1, lease_seconds=10)
    factory.texts(project, 1)
    (task_id,) = task_ids(db, project)
    lease(db, ann, project)
    expire(db, ann, task_id)
    assert [t.task_id for t in lease(db, other, project)] == [task_id]

    with db.write() as s, pytest.raises(Conflict) as err:
        renew_lease(s, ann.actor, task_id)
    assert err.value.code == "lease_expired"
    assert lease_row(db, ann, task_id).status == "expired"
    assert task_row(db, task_id).open_slots == 0


# --- submitting late, and again --------------------------------------------------------------------------------


@pytest.mark.parametrize("swept", [False, True], ids=["before-sweep", "after-sweep"])
def test_a_late_answer_counts_while_the_task_wants_answers(factory: Factory, db: Database, swept: bool):
    org = factory.org()
    ann = factory.person(org)
    project = factory.project(org, overlap=1, lease_seconds=10)
    factory.texts(project, 1)
    (task_id,) = task_ids(db, project)
    lease(db, ann, project)
    expire(db, ann, task_id)
    if swept:
        sweep(db, project)
        assert task_row(db, task_id).open_slots == 1

    result = answer(db, ann, project, task_id)

    assert (result.annotation.counted, result.annotation.late) == (True, True)
    task = task_row(db, task_id)
    assert (task.state, task.answers_count, task.open_slots) == ("done", 1, 0)
    assert lease_row(db, ann, task_id).status == "submitted"


def test_a_late_answer_to_a_task_that_got_its_answers_is_kept_but_not_counted(factory: Factory, db: Database):
    org = factory.org()
    late, other = factory.person(org), factory.person(org)
    project = factory.project(org, overlap=1, lease_seconds=10)
    factory.texts(project, 1)
    (task_id,) = task_ids(db, project)
    lease(db, late, project)
    expire(db, late, task_id)
    lease(db, other, project)
    answer(db, other, project, task_id)

    with pytest.raises(NotCounted) as err:
        answer(db, late, project, task_id)

    assert err.value.code == "lease_expired"
    with db.read() as s:
        stored = s.scalar(sa.select(Annotation).where(Annotation.user_id == late.actor.user_id))
        assert stored is not None
    assert (stored.id, stored.task_id, stored.counted, stored.late) == (err.value.annotation_id, task_id, False, True)
    task = task_row(db, task_id)
    assert (task.state, task.answers_count, task.open_slots) == ("done", 1, 0)


def test_a_retried_submit_returns_the_first_answer_and_stores_nothing(factory: Factory, db: Database):
    org = factory.org()
    ann = factory.person(org)
    project = factory.project(org, overlap=2)
    factory.texts(project, 1)
    (task_id,) = task_ids(db, project)
    lease(db, ann, project)
    client_id = str(uuid.uuid4())

    first = answer(db, ann, project, task_id, client_id)
    again = answer(db, ann, project, task_id, client_id)

    assert (first.replayed, again.replayed) == (False, True)
    assert again.annotation.id == first.annotation.id
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Annotation)) == 1
    assert task_row(db, task_id).answers_count == 1


# --- gold ----------------------------------------------------------------------------------------------------------


def test_gold_count_is_zero_at_ratio_zero():
    assert gold_count(0.0, 20, random.Random(0)) == 0


def test_gold_count_draws_the_ratio_in_the_long_run():
    # Binomial(10000, 0.5): standard deviation 50, so ±250 is five of them.
    assert abs(gold_count(0.5, 10_000, random.Random(1)) - 5_000) < 250


@pytest.mark.parametrize("ratio", [0.0, 0.5])
def test_a_batch_mixes_in_gold_at_the_projects_ratio(factory: Factory, db: Database, ratio: float):
    org = factory.org()
    ann = factory.person(org)
    project = factory.project(org, gold_ratio=ratio)
    factory.texts(project, 40)
    gold = set(task_ids(db, project)[1::2])
    with db.write() as s:
        s.execute(sa.update(Task).where(Task.item_id.in_(gold)).values(is_gold=True))
        s.commit()

    leased = lease(db, ann, project, 20, rng=random.Random(7))

    expected = gold_count(ratio, 20, random.Random(7))
    assert (expected > 0) == (ratio > 0)
    assert len(leased) == 20
    assert sum(t.task_id in gold for t in leased) == expected
