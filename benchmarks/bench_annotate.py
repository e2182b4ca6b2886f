"""The annotators' loop over real HTTP: `kolam serve` in its own process, this script the load client.

K annotators (each a distinct member with their own API token and keep-alive connection) loop
  single:  POST /projects/{id}/next?count=1  ->  POST /projects/{id}/annotations
  batch20: POST /projects/{id}/next?count=20 ->  POST /projects/{id}/annotations/batch (20 answers)
for a fixed duration (and at most --max-tasks tasks), on asyncio + aiohttp (httpx if aiohttp is missing).
Reports answers/s, p50/p95/p99 of next and submit, errors by status code, client and server CPU (a client
near 100 % of a core is the bottleneck and is said so), the server's peak RSS, then checks the invariants in
the database: no task over-answered, nobody answered a task twice, counters and slots consistent, no lease
left behind.

Targets: ≥ 1,000 tasks/s with p99 < 100 ms at K=32 on 1M tasks (SQLite and PostgreSQL); batch20 ≥ 5,000
answers/s; server VmHWM ≤ 300 MB.

    # on a fixture made by bench_import --keep (1M tasks), both modes, K=32, 60 s each
    python benchmarks/bench_annotate.py --fixture out/work/sqlite-1m --modes single,batch20 --ks 32 --duration 60
    # the Label Studio shape: a fresh project of 10k and of 100k tasks per K, K=1,8,32, 60 s, single
    python benchmarks/bench_annotate.py --tasks 10000,100000 --ks 1,8,32 --duration 60 --modes single
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import common
import orjson
import sqlalchemy as sa

try:
    import aiohttp
except ImportError:  # pragma: no cover - the fallback is slower per request
    aiohttp = None  # type: ignore[assignment]
    import httpx

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None  # type: ignore[assignment]

CLIENT_LIMITED_AT = 0.85  # a client using this share of one core is the bottleneck, not the server


@dataclass
class Load:
    """What one phase saw, from the client's side."""

    next_s: list[float] = field(default_factory=list)
    submit_s: list[float] = field(default_factory=list)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    samples: list[str] = field(default_factory=list)
    answered: int = 0
    leased: int = 0
    empty: int = 0
    in_flight: int = 0
    per_second: collections.Counter[int] = field(default_factory=collections.Counter)
    pairs: collections.Counter[tuple[int, int]] = field(default_factory=collections.Counter)

    def error(self, key: str, text: str = "") -> None:
        self.errors[key] += 1
        if len(self.samples) < 10:
            self.samples.append(f"{key} {text[:300]}")


class Client:
    """One annotator's keep-alive connection (aiohttp, or httpx as a fallback)."""

    def __init__(self, base: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if aiohttp is not None:
            self._s: Any = aiohttp.ClientSession(
                base,
                headers=headers,
                connector=aiohttp.TCPConnector(limit=1),
                timeout=aiohttp.ClientTimeout(total=120),
            )
        else:
            self._s = httpx.AsyncClient(base_url=base, headers=headers, timeout=120, limits=httpx.Limits(1, 1))

    async def post(self, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if aiohttp is not None:
            async with self._s.post(path, data=body) as r:
                return r.status, await r.read()
        r = await self._s.post(path, content=body)
        return r.status_code, r.content

    async def close(self) -> None:
        await (self._s.close() if aiohttp is not None else self._s.aclose())


def _answer(task_id: int) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "client_id": uuid.uuid4().hex,
        "value": {"labels": [common.CLASSES[task_id % 10]]},
        "time_spent_ms": 1000,
    }


async def _annotator(
    base: str, who: dict[str, Any], project_id: int, count: int, load: Load, stop_at: float, max_tasks: int, t0: float
) -> None:
    client = Client(base, who["token"])
    user = who["user_id"]
    next_path = f"/api/v1/projects/{project_id}/next?count={count}"
    submit_path = f"/api/v1/projects/{project_id}/annotations" + ("/batch" if count > 1 else "")
    try:
        while time.perf_counter() < stop_at and load.answered + load.in_flight < max_tasks:
            start = time.perf_counter()
            try:
                status, body = await client.post(next_path)
            except Exception as err:
                load.error(f"next:{type(err).__name__}", repr(err))
                await asyncio.sleep(0.05)
                continue
            load.next_s.append(time.perf_counter() - start)
            if status != 200:
                load.error(f"next:{status}", body.decode(errors="replace"))
                await asyncio.sleep(0.01)
                continue
            tasks = orjson.loads(body)
            if not tasks:
                load.empty += 1
                return  # overlap 1, no expiring leases: nothing left for this person
            load.leased += len(tasks)
            load.in_flight += len(tasks)
            answers = [_answer(t["task_id"]) for t in tasks]
            payload = orjson.dumps({"annotations": answers} if count > 1 else answers[0])
            start = time.perf_counter()
            try:
                status, body = await client.post(submit_path, payload)
            except Exception as err:
                load.error(f"submit:{type(err).__name__}", repr(err))
                load.in_flight -= len(tasks)
                continue
            load.submit_s.append(time.perf_counter() - start)
            load.in_flight -= len(tasks)
            if count == 1:
                ok = [answers[0]["task_id"]] if status == 201 else []
                if status != 201:
                    load.error(f"submit:{status}", body.decode(errors="replace"))
            elif status != 200:
                ok = []
                load.error(f"batch:{status}", body.decode(errors="replace"))
            else:
                ok = []
                for answer, result in zip(answers, orjson.loads(body)["results"], strict=True):
                    if result["ok"]:
                        ok.append(answer["task_id"])
                    else:
                        load.error(f"batch_item:{(result.get('error') or {}).get('code')}", str(result.get("error")))
            for task_id in ok:
                load.pairs[(user, task_id)] += 1
            load.answered += len(ok)
            load.per_second[int(time.perf_counter() - t0)] += len(ok)
    finally:
        await client.close()


async def _drive(
    base: str, people: list[dict[str, Any]], project_id: int, count: int, load: Load, duration: float, max_tasks: int
) -> float:
    t0 = time.perf_counter()
    stop_at = t0 + duration
    await asyncio.gather(*(_annotator(base, p, project_id, count, load, stop_at, max_tasks, t0) for p in people))
    return time.perf_counter() - t0


def run_phase(
    server: common.Server,
    fixture: common.Fixture,
    project_id: int,
    *,
    mode: str,
    k: int,
    duration: float,
    max_tasks: int,
) -> tuple[dict[str, Any], Load]:
    """K annotators for ``duration`` seconds; the client's view, with client and server CPU."""
    count = 20 if mode == "batch20" else 1
    people = fixture.annotators[:k]
    if len(people) < k:
        raise SystemExit(f"the fixture has {len(people)} annotators; {k} asked")
    load = Load()
    la0, c0, s0 = common.loadavg(), common.self_cpu(), server.cpu()
    runner = uvloop.run if uvloop is not None else asyncio.run
    elapsed = runner(_drive(server.url, people, project_id, count, load, duration, max_tasks))
    client_cpu, server_cpu = common.self_cpu() - c0, server.cpu() - s0
    twice_client = sum(1 for n in load.pairs.values() if n > 1)
    rate = load.answered / elapsed if elapsed else 0.0
    timeline = [load.per_second.get(i, 0) for i in range(int(elapsed) + 1)]
    client_share = client_cpu / elapsed if elapsed else 0.0
    rec = {
        "mode": mode,
        "k": k,
        "duration_s": round(elapsed, 2),
        "answers": load.answered,
        "answers_per_s": round(rate, 1),
        "tasks_per_s": round(rate, 1),
        "requests_per_s": round((len(load.next_s) + len(load.submit_s)) / elapsed, 1) if elapsed else 0,
        "next": common.percentiles(load.next_s),
        "submit": common.percentiles(load.submit_s),
        "errors": dict(load.errors),
        "error_samples": load.samples,
        "empty_next": load.empty,
        "client_same_task_twice": twice_client,
        "client_cpu_s": round(client_cpu, 2),
        "client_cpu_share_of_core": round(client_share, 2),
        "client_limited": client_share >= CLIENT_LIMITED_AT,
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_share_of_core": round(server_cpu / elapsed, 2) if elapsed else 0,
        "server_cpu_ms_per_answer": round(1000 * server_cpu / max(1, load.answered), 3),
        "per_second_min_max": [min(timeline[:-1] or [0]), max(timeline or [0])],
        "timeline": timeline,
        "loadavg_before": la0,
        "loadavg_after": common.loadavg(),
        "server_mem_after": server.mem(),
        "http_client": "aiohttp" if aiohttp is not None else "httpx",
        "cpu_calibration_s": common.cpu_calibration(),
    }
    return rec, load


def invariants(fixture: common.Fixture, project_id: int) -> dict[str, Any]:
    """What the database says after the load: the assignment invariants, for the whole project."""
    db = fixture.database()
    p = {"p": project_id}
    checks = {
        # counted answers above the overlap the task wanted
        "tasks_over_answered": """
            SELECT count(*) FROM (SELECT a.task_id, count(*) AS c FROM annotations a
              WHERE a.project_id = :p AND a.counted GROUP BY a.task_id) x
            JOIN tasks t ON t.item_id = x.task_id WHERE x.c > t.answers_wanted""",
        "tasks_count_above_wanted": """
            SELECT count(*) FROM tasks WHERE project_id = :p AND answers_count > answers_wanted""",
        # one person, two first answers to one task (edits are versions, so previous_id IS NULL)
        "same_person_same_task_twice": """
            SELECT count(*) FROM (SELECT user_id, task_id FROM annotations
              WHERE project_id = :p AND previous_id IS NULL GROUP BY user_id, task_id HAVING count(*) > 1) x""",
        "answers_not_counted": "SELECT count(*) FROM annotations WHERE project_id = :p AND NOT counted",
        "answers_total": "SELECT count(*) FROM annotations WHERE project_id = :p",
        "tasks_done": "SELECT count(*) FROM tasks WHERE project_id = :p AND state = 'done'",
        "leases_active": "SELECT count(*) FROM leases WHERE project_id = :p AND status = 'active'",
        "leases_active_expired": """SELECT count(*) FROM leases
              WHERE project_id = :p AND status = 'active' AND expires_at < :now""",
        "negative_open_slots": "SELECT count(*) FROM tasks WHERE project_id = :p AND open_slots < 0",
        # counters that disagree with the rows (only tasks someone touched, to stay cheap at 1M)
        "answers_count_mismatch": """
            SELECT count(*) FROM tasks t WHERE t.project_id = :p
              AND t.item_id IN (SELECT task_id FROM leases WHERE project_id = :p)
              AND t.answers_count != (SELECT count(*) FROM annotations a
                                      WHERE a.task_id = t.item_id AND a.counted AND a.is_current)""",
        "open_slots_mismatch": """
            SELECT count(*) FROM tasks t WHERE t.project_id = :p
              AND t.item_id IN (SELECT task_id FROM leases WHERE project_id = :p)
              AND t.open_slots != t.answers_wanted - t.answers_count
                  - (SELECT count(*) FROM leases l WHERE l.task_id = t.item_id AND l.status = 'active')""",
    }
    from kolam.store.types import sqlite_timestamp, utcnow

    now: Any = sqlite_timestamp(utcnow()) if db.is_sqlite else utcnow()
    out: dict[str, Any] = {}
    with db.read() as s:
        for name, sql in checks.items():
            out[name] = s.execute(sa.text(sql), {**p, "now": now}).scalar()
    db.dispose()
    out["ok"] = not any(
        out[k]
        for k in (
            "tasks_over_answered",
            "tasks_count_above_wanted",
            "same_person_same_task_twice",
            "negative_open_slots",
            "answers_count_mismatch",
            "open_slots_mismatch",
        )
    )
    return out


def profile_phase(
    server: common.Server, fixture: common.Fixture, project_id: int, *, mode: str, k: int, seconds: float, tag: str
) -> None:
    """An extra phase with py-spy on the server (not used for the figures: sampling costs CPU here)."""
    name = f"annotate-{tag}-{mode}-k{k}"
    with common.py_spy(server.pid, seconds, name) as path:
        time.sleep(0.5)
        rec, _ = run_phase(server, fixture, project_id, mode=mode, k=k, duration=seconds, max_tasks=10**9)
    summary = common.summarize_profile(path) if path else {}
    common.record("profile", {"of": name, "answers_per_s": rec["answers_per_s"], "profile": str(path), **summary})


def bench_project(
    fixture: common.Fixture,
    project: str,
    *,
    modes: list[str],
    ks: list[int],
    duration: float,
    max_tasks: int,
    profile: float,
    tag: str,
    log_level: str | None,
    fresh_per_phase: int | None = None,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
) -> None:
    db_name = "postgresql" if fixture.db_url else "sqlite"
    server = common.Server(
        fixture.data_dir, fixture.db_url, log_level=log_level, workers=workers, extra_env=extra_env
    ).start()
    common.say(f"server pid {server.pid} on {server.url} (up in {server.start_seconds:.1f} s)")
    try:
        idle = server.mem()
        for mode in modes:
            for k in ks:
                name = project
                if fresh_per_phase:
                    name = f"{project}-{mode}-k{k}"
                    common.add_project(fixture, name, fresh_per_phase)
                pid = fixture.projects[name]
                common.say(f"{db_name} {fixture.tasks.get(name)} tasks, {mode}, K={k}, {duration:.0f} s …")
                rec, _load = run_phase(server, fixture, pid, mode=mode, k=k, duration=duration, max_tasks=max_tasks)
                rec.update(
                    db=db_name,
                    tasks=fixture.tasks.get(name),
                    project=name,
                    tag=tag,
                    workers=workers,
                    server_env=extra_env or {},
                    server_log_level=log_level or "default",
                    invariants=invariants(fixture, pid),
                )
                common.record("annotate", rec)
        if profile > 0:
            pid = fixture.projects[project if not fresh_per_phase else name]
            for mode in modes:
                profile_phase(server, fixture, pid, mode=mode, k=max(ks), seconds=profile, tag=f"{db_name}-{tag}")
    finally:
        mem = server.stop()
    common.record(
        "server_rss",
        {
            "db": db_name,
            "tasks": max(fixture.tasks.values()),
            "tag": tag,
            "idle": idle,
            "workers": workers,
            "server_env": extra_env or {},
            "after_load": mem,
            "target_vmhwm_mb": 300,
            "vmhwm_mb": round(mem.get("VmHWM_mib", 0) * 1.048576, 1),
        },
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixture", help="a data dir made by bench_import --keep (project 'main')")
    ap.add_argument("--project", default="main")
    ap.add_argument("--tasks", default="", help="no fixture: comma list of project sizes, a fresh project per phase")
    ap.add_argument("--db-url", default=None, help="with --tasks: 'pg' for PostgreSQL (database kolam_bench_ann)")
    ap.add_argument("--modes", default="single", help="single,batch20")
    ap.add_argument("--ks", default="32")
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--max-tasks", type=int, default=10**9, help="stop leasing after this many tasks")
    ap.add_argument("--profile", type=float, default=0.0, help="seconds of an extra py-spy phase per mode")
    ap.add_argument("--log-level", default=None, help="KOLAM_LOG_LEVEL of the server (default: as shipped)")
    ap.add_argument("--workers", type=int, default=1, help="kolam serve --workers")
    ap.add_argument("--env", action="append", default=[], help="extra KOLAM_X=value for the server (repeatable)")
    ap.add_argument("--tag", default="")
    a = ap.parse_args()
    extra = dict(e.split("=", 1) for e in a.env)
    modes, ks = a.modes.split(","), [int(k) for k in a.ks.split(",")]
    common.say(f"load {common.loadavg()}; client {'aiohttp' if aiohttp else 'httpx'}")
    if a.fixture:
        fixture = common.Fixture.load(a.fixture)
        bench_project(
            fixture,
            a.project,
            modes=modes,
            ks=ks,
            duration=a.duration,
            max_tasks=a.max_tasks,
            profile=a.profile,
            tag=a.tag,
            log_level=a.log_level,
            workers=a.workers,
            extra_env=extra,
        )
        return
    db_url = common.reset_pg("kolam_bench_ann") if a.db_url == "pg" else a.db_url
    for n in [int(x) for x in a.tasks.split(",") if x]:
        data_dir = common.WORK / f"annotate-{n}-{'pg' if db_url else 'sqlite'}"
        fixture = common.new_fixture(data_dir, db_url, max(ks))
        bench_project(
            fixture,
            f"n{n}",
            modes=modes,
            ks=ks,
            duration=a.duration,
            max_tasks=a.max_tasks,
            profile=a.profile,
            tag=a.tag,
            log_level=a.log_level,
            fresh_per_phase=n,
            workers=a.workers,
            extra_env=extra,
        )
        if db_url:
            db_url = common.reset_pg("kolam_bench_ann")


if __name__ == "__main__":
    main()
