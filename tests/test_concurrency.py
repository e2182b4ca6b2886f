"""The assignment invariant under real concurrency, on SQLite and on PostgreSQL (the ``db`` fixture).

32 annotators start at once (a barrier) and work until every task is done: each task ends with exactly
``overlap`` counted answers from distinct people, no slot leaks, no lease left active — the trap DESIGN.md
describes (row locks SQLite ignores, retries that store twice). Once through the services in threads, once
through the real app served by uvicorn over HTTP.
"""

from __future__ import annotations

import contextlib
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from kolam.api.app import create_app
from kolam.services import submissions
from kolam.services.assignment import LeasedTask, end_lease, lease_tasks
from kolam.services.submissions import Submission, SubmitResult, submit, submit_many
from kolam.settings import Settings
from kolam.store import queue
from kolam.store.db import Database
from kolam.store.tables import Annotation, Lease, Task
from kolam.store.types import utcnow
from tests.factories import Factory, Person

ANNOTATORS = 32
OVERLAP = 3
ANSWER = {"labels": ["ok"]}
DEADLINE_S = 240.0


@dataclass
class Worker:
    """One annotator's run: what they did, how long each call took, and what went wrong."""

    person: Person
    answered: set[int] = field(default_factory=set)
    skipped: set[int] = field(default_factory=set)
    released: int = 0
    replays: int = 0
    lease_s: list[float] = field(default_factory=list)
    submit_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def open_tasks(db: Database, project_id: int) -> int:
    with db.read() as s:
        query = sa.select(sa.func.count()).where(Task.project_id == project_id, Task.state != "done")
        return s.scalar(query) or 0


def run_all(db: Database, project_id: int, workers: list[Worker], work: Callable[[Worker, int], bool]) -> float:
    """Start every worker at once; each calls ``work`` (True: did something) until all tasks are done.

    A worker with nothing to do waits instead of leaving: a task someone else skips or releases late may be
    one only they can still answer.
    """
    barrier = threading.Barrier(len(workers) + 1)
    stop = threading.Event()
    deadline = time.monotonic() + DEADLINE_S

    def loop(worker: Worker, index: int) -> None:
        barrier.wait()
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                if not work(worker, index):
                    if open_tasks(db, project_id) == 0:
                        return
                    time.sleep(0.1)
        except Exception as err:
            worker.errors.append(f"{type(err).__name__}: {err}")
            stop.set()

    threads = [threading.Thread(target=loop, args=(w, i), name=f"annotator-{i}") for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(DEADLINE_S + 30)
    elapsed = time.perf_counter() - started
    assert not any(t.is_alive() for t in threads), "annotator threads still running after the deadline"
    assert [e for w in workers for e in w.errors] == []
    return elapsed


def assert_every_task_answered_exactly(db: Database, project_id: int, n_tasks: int, workers: list[Worker]) -> None:
    """The invariant, checked in the database."""
    with db.read() as s:
        tasks = s.execute(
            sa.select(Task.state, Task.answers_count, Task.answers_wanted, Task.open_slots).where(
                Task.project_id == project_id
            )
        ).all()
        counted_per_task = dict(
            s.execute(
                sa.select(Annotation.task_id, sa.func.count())
                .where(Annotation.project_id == project_id, Annotation.counted.is_(True))
                .group_by(Annotation.task_id)
            ).all()
        )
        twice = s.execute(
            sa.select(Annotation.task_id, Annotation.user_id)
            .where(Annotation.project_id == project_id)
            .group_by(Annotation.task_id, Annotation.user_id)
            .having(sa.func.count() > 1)
        ).all()
        annotations = s.scalar(sa.select(sa.func.count()).where(Annotation.project_id == project_id))
        leases_by_status = dict(
            s.execute(
                sa.select(Lease.status, sa.func.count()).where(Lease.project_id == project_id).group_by(Lease.status)
            ).all()
        )
        answered_after_skip = s.scalar(
            sa.select(sa.func.count())
            .select_from(Annotation)
            .join(Lease, sa.and_(Lease.task_id == Annotation.task_id, Lease.user_id == Annotation.user_id))
            .where(Annotation.project_id == project_id, Lease.status != "submitted")
        )

    assert len(tasks) == n_tasks
    assert {t.state for t in tasks} == {"done"}
    assert all(t.answers_count == t.answers_wanted == OVERLAP for t in tasks)
    assert min(t.open_slots for t in tasks) >= 0
    assert {t.open_slots for t in tasks} == {0}, "a slot leaked: wanted − counted − active leases is not 0"
    assert len(counted_per_task) == n_tasks
    assert set(counted_per_task.values()) == {OVERLAP}
    assert twice == []
    assert annotations == n_tasks * OVERLAP, "skips and retries must store no annotation"
    assert leases_by_status.get("active", 0) == 0
    assert leases_by_status.get("submitted", 0) == n_tasks * OVERLAP
    assert leases_by_status.get("skipped", 0) == sum(len(w.skipped) for w in workers)
    assert answered_after_skip == 0
    assert sum(len(w.answered) for w in workers) == n_tasks * OVERLAP


def report(label: str, db: Database, elapsed: float, workers: list[Worker]) -> None:
    """Printed with ``pytest -s``: the figures to watch (latency tails, fairness)."""

    def tail(samples: list[float]) -> str:
        if len(samples) < 2:
            return "n/a"
        cuts = statistics.quantiles(samples, n=100)
        return f"p50 {cuts[49] * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms"

    per_person = sorted(len(w.answered) for w in workers)
    print(
        f"\n[{label} {db.dialect}] {elapsed:.1f} s; lease {tail([x for w in workers for x in w.lease_s])}; "
        f"submit {tail([x for w in workers for x in w.submit_s])}; answers per annotator min {per_person[0]} "
        f"median {per_person[len(per_person) // 2]} max {per_person[-1]}; "
        f"skipped {sum(len(w.skipped) for w in workers)}, released {sum(w.released for w in workers)}, "
        f"replayed {sum(w.replays for w in workers)}"
    )


T = TypeVar("T")


def timed(samples: list[float], call: Callable[[], T]) -> T:
    start = time.perf_counter()
    try:
        return call()
    finally:
        samples.append(time.perf_counter() - start)


# --- through the services --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_32_annotators_answer_2000_tasks_exactly_3_times_each(factory: Factory, db: Database):
    n_tasks = 2000
    org = factory.org()
    project = factory.project(org, overlap=OVERLAP)
    factory.texts(project, n_tasks)
    workers = [Worker(factory.person(org)) for _ in range(ANNOTATORS)]

    def work(worker: Worker, index: int) -> bool:
        rng = random.Random(f"{index}-{len(worker.lease_s)}")
        count = 1 if index % 4 == 0 else 20
        actor = worker.person.actor

        def lease() -> list[LeasedTask]:
            with db.write() as s:
                return lease_tasks(s, actor, project.id, count=count)

        leased = timed(worker.lease_s, lease)
        ids = [t.task_id for t in leased]
        assert len(set(ids)) == len(ids)
        assert not set(ids) & (worker.answered | worker.skipped), "offered a task this person answered or skipped"
        for task_id in ids:
            roll = rng.random()
            if roll < 0.01 and len(worker.skipped) < 3:
                with db.write() as s:
                    end_lease(s, actor, task_id, skip=True, reason="load test")
                worker.skipped.add(task_id)
            elif roll < 0.03:
                with db.write() as s:
                    end_lease(s, actor, task_id, skip=False)
                worker.released += 1
            else:
                sub = Submission(task_id=task_id, client_id=str(uuid.uuid4()), value=ANSWER)

                def send(sub: Submission = sub) -> SubmitResult:
                    with db.write() as s:
                        return submit(s, actor, project.id, sub)

                first = timed(worker.submit_s, send)
                assert first.annotation.counted and not first.replayed
                worker.answered.add(task_id)
                if rng.random() < 0.05:
                    again = send()
                    assert again.replayed and again.annotation.id == first.annotation.id
                    worker.replays += 1
        return bool(ids)

    elapsed = run_all(db, project.id, workers, work)

    report("services", db, elapsed, workers)
    assert_every_task_answered_exactly(db, project.id, n_tasks, workers)
    assert sum(w.replays for w in workers) > 0
    assert sum(len(w.skipped) for w in workers) > 0
    assert sum(w.released for w in workers) > 0


# --- through HTTP --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def serve(settings: Settings, db: Database) -> Iterator[str]:
    """The real app under uvicorn on a free port of 127.0.0.1, in a thread; shut down cleanly after."""
    config = uvicorn.Config(
        create_app(settings, db=db, migrate=False), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn")
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/api/v1/health").json()["status"] == "ok"
        yield base
    finally:
        server.should_exit = True
        thread.join(30)
        assert not thread.is_alive(), "uvicorn did not shut down"


def test_32_annotators_over_http_answer_each_task_exactly_3_times(factory: Factory, db: Database, settings: Settings):
    n_tasks = 300
    org = factory.org()
    project = factory.project(org, overlap=OVERLAP)
    factory.texts(project, n_tasks)
    workers = [Worker(factory.person(org)) for _ in range(ANNOTATORS)]

    with serve(settings, db) as base:
        clients = [httpx.Client(base_url=base, headers=w.person.headers, timeout=60) for w in workers]

        def work(worker: Worker, index: int) -> bool:
            client = clients[index]
            rng = random.Random(f"{index}-{len(worker.lease_s)}")
            r = timed(worker.lease_s, lambda: client.post(f"/api/v1/projects/{project.id}/next", params={"count": 5}))
            assert r.status_code == 200, r.text
            ids = [t["task_id"] for t in r.json()]
            assert len(set(ids)) == len(ids)
            assert not set(ids) & (worker.answered | worker.skipped), "offered a task this person answered or skipped"
            if ids and rng.random() < 0.05 and not worker.skipped:
                skipped = ids.pop()
                assert client.post(f"/api/v1/tasks/{skipped}/skip", json={"reason": "load test"}).status_code == 200
                worker.skipped.add(skipped)
            if not ids:
                return bool(worker.skipped & set(t["task_id"] for t in r.json()))
            body = {"annotations": [{"task_id": t, "client_id": str(uuid.uuid4()), "value": ANSWER} for t in ids]}
            r = timed(
                worker.submit_s, lambda: client.post(f"/api/v1/projects/{project.id}/annotations/batch", json=body)
            )
            assert r.status_code == 200, r.text
            results = r.json()["results"]
            assert [(x["ok"], x["replayed"]) for x in results] == [(True, False)] * len(ids), results
            worker.answered.update(ids)
            if rng.random() < 0.1:
                again = client.post(f"/api/v1/projects/{project.id}/annotations/batch", json=body).json()["results"]
                assert [x["annotation_id"] for x in again] == [x["annotation_id"] for x in results]
                assert all(x["replayed"] for x in again)
                worker.replays += 1
            return True

        try:
            elapsed = run_all(db, project.id, workers, work)
        finally:
            for client in clients:
                client.close()

    report("http", db, elapsed, workers)
    assert_every_task_answered_exactly(db, project.id, n_tasks, workers)
    assert sum(w.replays for w in workers) > 0


# --- batches that share tasks --------------------------------------------------------------------------------------


def test_two_batches_sharing_tasks_in_opposite_orders_both_succeed(
    factory: Factory, db: Database, monkeypatch: pytest.MonkeyPatch
):
    """Each holds its first task's lock when it asks for the other's: a deadlock unless locks are taken in one order."""
    org = factory.org()
    first, second = factory.person(org), factory.person(org)
    project = factory.project(org, overlap=2)
    factory.texts(project, 2)
    for person in (first, second):
        with db.write() as s:
            task_ids = [t.task_id for t in lease_tasks(s, person.actor, project.id, count=2)]
    both_locked = threading.Barrier(2)
    validated = submissions.validated_value

    def validated_once_both_hold_a_lock(*args: Any) -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):  # the other batch waits on our lock: as it should
            both_locked.wait(timeout=1.0)
        return validated(*args)

    monkeypatch.setattr(submissions, "validated_value", validated_once_both_hold_a_lock)
    outcomes: dict[int, object] = {}

    def send(person: Person, order: list[int]) -> None:
        subs = [Submission(task_id=t, client_id=str(uuid.uuid4()), value=ANSWER) for t in order]
        try:
            with db.write() as s:
                outcomes[person.actor.user_id] = [
                    (o.client_id == sub.client_id, o.error)
                    for o, sub in zip(submit_many(s, person.actor, project.id, subs), subs, strict=True)
                ]
        except Exception as err:
            outcomes[person.actor.user_id] = f"{type(err).__name__}: {err}"

    threads = [
        threading.Thread(target=send, args=(first, task_ids)),
        threading.Thread(target=send, args=(second, task_ids[::-1])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert outcomes == {p.actor.user_id: [(True, None), (True, None)] for p in (first, second)}
    with db.read() as s:
        counts = s.scalars(sa.select(Task.answers_count).where(Task.project_id == project.id)).all()
    assert counts == [2, 2]


# --- lock order: the expiry sweep and retries racing their first attempt ----------------------------------------------


def test_expiry_sweep_passes_over_a_task_someone_holds_instead_of_deadlocking(factory: Factory, db: Database):
    """The sweep locks tasks before leases, like every writer, and skips a task being answered right now."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: there is no row lock to pass over")
    org = factory.org()
    person = factory.person(org)
    project = factory.project(org, overlap=1)
    factory.texts(project, 1)
    with db.write() as s:
        (leased,) = lease_tasks(s, person.actor, project.id, count=1)
        s.execute(sa.update(Lease).values(expires_at=utcnow() - timedelta(minutes=1)))
        s.commit()
    swept: list[list[int]] = []

    def sweep() -> None:
        with db.write() as s:
            swept.append(queue.expire_leases(s, project.id, utcnow()))
            s.commit()

    with db.write() as holder:
        queue.lock_tasks(holder, [leased.task_id])  # a late submit holds the task, as it would mid-answer
        thread = threading.Thread(target=sweep)
        thread.start()
        thread.join(10)
        assert not thread.is_alive(), "the sweep waited for a task someone holds"
        holder.rollback()
    sweep()
    assert swept == [[], [leased.task_id]]


def test_a_retried_batch_racing_its_first_attempt_stores_each_answer_once(factory: Factory, db: Database):
    """A browser that times out and resends its outbox while the first request still runs: one answer each."""
    org = factory.org()
    person = factory.person(org)
    project = factory.project(org, overlap=1)
    factory.texts(project, 10)
    with db.write() as s:
        leased = lease_tasks(s, person.actor, project.id, count=10)
    subs = [Submission(task_id=t.task_id, client_id=str(uuid.uuid4()), value=ANSWER) for t in leased]
    start = threading.Barrier(2)
    results: list[list[tuple[int | None, bool]] | str] = []

    def send() -> None:
        start.wait()
        try:
            with db.write() as s:
                outcomes = submit_many(s, person.actor, project.id, subs)
            assert all(o.error is None and o.result is not None for o in outcomes), outcomes
            results.append([(o.result.annotation.id if o.result else None, bool(o.result and o.result.replayed))
                            for o in outcomes])  # fmt: skip
        except Exception as err:
            results.append(f"{type(err).__name__}: {err}")

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(isinstance(r, list) for r in results), results
    first, second = sorted(results, key=lambda r: r[0][1])  # type: ignore[index]
    assert [replayed for _, replayed in first] == [False] * 10
    assert [replayed for _, replayed in second] == [True] * 10
    assert [answer_id for answer_id, _ in first] == [answer_id for answer_id, _ in second]
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Annotation)) == 10
        assert s.scalar(sa.select(sa.func.sum(Task.answers_count)).where(Task.project_id == project.id)) == 10
