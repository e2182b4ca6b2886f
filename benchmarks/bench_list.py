"""Browsing items at scale: `GET /projects/{id}/items` with each filter, first page and deep pages.

Target: p95 < 100 ms per page at 1,000,000 tasks.

    python benchmarks/bench_list.py --fixture out/work/sqlite-1m [--pages 20] [--repeat 20]

Filters, their values read from the data: none; state=open; state=done; annotator=<the person with the most
answers>; annotator=<one with the fewest>; label=<the most used class>; created_from=<the median task's
creation time>. Per filter: the first page (repeated), then following `next_cursor` page after page, then
jumps deep into the project (cursors for the items at 50 %, 90 % and 99 % of the id range, made with
kolam.services.items.encode_cursor — the same opaque value the API hands out; with created_from, a cursor in
creation order, carrying that item's creation time). One client, sequential, on a keep-alive connection:
latency, not throughput.
"""

from __future__ import annotations

import argparse
import http.client
import time
import urllib.parse
from datetime import datetime
from typing import Any

import common
import orjson
import sqlalchemy as sa


def pick_filters(fixture: common.Fixture, project_id: int) -> list[tuple[str, dict[str, str]]]:
    db = fixture.database()
    p = {"p": project_id}
    with db.read() as s:
        q = lambda sql: s.execute(sa.text(sql), p).all()  # noqa: E731
        n = q("SELECT count(*) FROM tasks WHERE project_id = :p")[0][0]
        busiest = q(
            "SELECT user_id, count(*) c FROM annotations WHERE project_id = :p GROUP BY user_id"
            " ORDER BY c DESC, user_id"
        )
        label = q("SELECT label, count(*) c FROM answer_labels WHERE project_id = :p GROUP BY label ORDER BY c DESC")
        median = s.execute(
            sa.text("SELECT created_at FROM tasks WHERE project_id = :p ORDER BY created_at LIMIT 1 OFFSET :o"),
            {**p, "o": n // 2},
        ).scalar()
    db.dispose()
    filters: list[tuple[str, dict[str, str]]] = [
        ("none", {}),
        ("state=open", {"state": "open"}),
        ("state=done", {"state": "done"}),
    ]
    if busiest:
        filters.append((f"annotator=most({busiest[0][1]})", {"annotator": str(busiest[0][0])}))
        filters.append((f"annotator=fewest({busiest[-1][1]})", {"annotator": str(busiest[-1][0])}))
    if label:
        filters.append((f"label={label[0][0]}({label[0][1]})", {"label": label[0][0]}))
    if median is not None:
        # sent with its offset, as stored (the API reads a naive timestamp as UTC too)
        stamp = median if isinstance(median, str) else median.isoformat()
        stamp = stamp.replace(" ", "T") + ("" if "+" in stamp[10:] else "+00:00")
        filters.append(("created_from=median", {"created_from": stamp}))
    return filters


def position_at(fixture: common.Fixture, project_id: int, share: float) -> tuple[int, datetime]:
    """The item id at this share of the project's id range, and the creation time of the first task from there."""
    from kolam.store.tables import Task

    db = fixture.database()
    with db.read() as s:
        lo, hi = s.execute(
            sa.text("SELECT min(item_id), max(item_id) FROM tasks WHERE project_id = :p"), {"p": project_id}
        ).one()
        item_id = int(lo + (hi - lo) * share)
        created = s.scalar(
            sa.select(Task.created_at)
            .where(Task.project_id == project_id, Task.item_id >= item_id)
            .order_by(Task.item_id)
            .limit(1)
        )
    db.dispose()
    return item_id, created


class Api:
    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str) -> tuple[float, int, dict[str, Any]]:
        t0 = time.perf_counter()
        self.conn.request("GET", path, headers=self.headers)
        resp = self.conn.getresponse()
        body = resp.read()
        dt = time.perf_counter() - t0
        return dt, resp.status, orjson.loads(body) if body else {}


def bench(
    fixture: common.Fixture, project: str, *, pages: int, repeat: int, limit: int, profile: float, tag: str
) -> None:
    from kolam.services.items import encode_cursor

    pid = fixture.projects[project]
    filters = pick_filters(fixture, pid)
    positions = {share: position_at(fixture, pid, share) for share in (0.5, 0.9, 0.99)}
    db_name = "postgresql" if fixture.db_url else "sqlite"
    server = common.Server(fixture.data_dir, fixture.db_url).start()
    every: list[float] = []
    try:
        api = Api(server.port, fixture.manager_token)
        base = f"/api/v1/projects/{pid}/items"
        for _ in range(3):  # warm the connection, the caches and the token
            api.get(f"{base}?limit={limit}")
        for name, params in filters:
            by_created = "created_from" in params or "created_to" in params
            deep = {
                share: encode_cursor(i, created if by_created else None) for share, (i, created) in positions.items()
            }
            la0 = common.loadavg()
            first, follow, jumps, errors, rows = [], [], [], 0, 0
            query = urllib.parse.urlencode({**params, "limit": limit})
            for _ in range(repeat):
                dt, status, body = api.get(f"{base}?{query}")
                first.append(dt)
                errors += status != 200
            cursor = body.get("next_cursor") if status == 200 else None
            walked = 0
            while cursor and walked < pages:
                dt, status, body = api.get(f"{base}?{query}&cursor={cursor}")
                follow.append(dt)
                errors += status != 200
                rows += len(body.get("items", []))
                cursor = body.get("next_cursor")
                walked += 1
            deep_rows = {}
            for share, cur in deep.items():
                got = 0
                for _ in range(max(1, repeat // 4)):
                    dt, status, body = api.get(f"{base}?{query}&cursor={cur}")
                    jumps.append(dt)
                    errors += status != 200
                    got = len(body.get("items", []))
                deep_rows[str(share)] = got
            all_pages = first + follow + jumps
            every += all_pages
            common.record(
                "list",
                {
                    "db": db_name,
                    "tasks": fixture.tasks.get(project),
                    "filter": name,
                    "params": params,
                    "limit": limit,
                    "first_page": common.percentiles(first),
                    "following_pages": common.percentiles(follow),
                    "deep_jumps": common.percentiles(jumps),
                    "all": common.percentiles(all_pages),
                    "rows_following": rows,
                    "rows_deep": deep_rows,
                    "errors": errors,
                    "tag": tag,
                    "target_p95_ms": 100,
                    "loadavg_before": la0,
                },
            )
        if profile > 0:
            worst = filters[-1]
            name = f"list-{db_name}-{tag}"
            with common.py_spy(server.pid, profile, name) as prof:
                stop = time.monotonic() + profile
                query = urllib.parse.urlencode({**worst[1], "limit": limit})
                while time.monotonic() < stop:
                    for cur in deep.values():
                        api.get(f"{base}?{query}&cursor={cur}")
            common.record("profile", {"of": name, "filter": worst[0], **common.summarize_profile(prof)}, quiet=True)
    finally:
        mem = server.stop()
    common.record(
        "list",
        {
            "db": db_name,
            "tasks": fixture.tasks.get(project),
            "filter": "ALL",
            "tag": tag,
            "all": common.percentiles(every),
            "server_mem_after": mem,
            "target_p95_ms": 100,
        },
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--project", default="main")
    ap.add_argument("--pages", type=int, default=20, help="pages to follow by cursor per filter")
    ap.add_argument("--repeat", type=int, default=20, help="first-page requests per filter")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--profile", type=float, default=0.0)
    ap.add_argument("--tag", default="")
    a = ap.parse_args()
    bench(
        common.Fixture.load(a.fixture),
        a.project,
        pages=a.pages,
        repeat=a.repeat,
        limit=a.limit,
        profile=a.profile,
        tag=a.tag,
    )


if __name__ == "__main__":
    main()
