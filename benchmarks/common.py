"""What every benchmark script needs: a `kolam serve` process of its own, a prepared project, /proc readings,
percentiles, and one machine-readable record per measurement appended to ``benchmarks/out/<name>.jsonl``.

A *fixture* is a data dir (or a PostgreSQL database) holding one organization, a manager, K annotators with
API tokens, and projects filled by the real import service; it is described by ``fixture.json`` in the data
dir so that the next script (annotate, list, export) can reuse it instead of importing a million items again.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
WORK = OUT / "work"
VENV_BIN = Path(sys.executable).parent
KOLAM = str(VENV_BIN / "kolam")
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CLASSES = [f"class_{i}" for i in range(10)]
ORG = "bench"


# --------------------------------------------------------------------------------------------- readings


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def proc_mem(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) of a process, in MiB."""
    out: dict[str, float] = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmHWM", "VmRSS")):
                key, value = line.split(":")
                out[key + "_mib"] = round(int(value.split()[0]) / 1024, 1)
    return out


def proc_cpu(pid: int) -> float:
    """utime + stime of a process in seconds (threads included)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def proc_tree(pid: int) -> list[int]:
    """A process and all its descendants (uvicorn --workers N runs the app in child processes)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
    return out


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


def percentiles(samples: Sequence[float]) -> dict[str, Any]:
    """n, mean, p50/p95/p99/max in milliseconds of durations given in seconds (nearest-rank)."""
    if not samples:
        return {"n": 0}
    xs = sorted(samples)

    def rank(p: float) -> float:
        k = max(0, min(len(xs) - 1, int(-(-p * len(xs) // 100)) - 1))
        return round(xs[k] * 1000, 2)

    return {
        "n": len(xs),
        "mean_ms": round(sum(xs) / len(xs) * 1000, 2),
        "p50_ms": rank(50),
        "p95_ms": rank(95),
        "p99_ms": rank(99),
        "max_ms": round(xs[-1] * 1000, 2),
    }


def git_rev() -> str:
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True, text=True)
        return rev.stdout.strip() + ("+dirty-src" if dirty.stdout.strip() else "")
    except OSError:
        return "?"


def pg_version() -> str | None:
    try:
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-Atc", "SHOW server_version"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def cpu_calibration() -> float:
    """Seconds for a fixed pure-Python loop (best of 3): this shared machine's speed drifts by up to ~1.5×."""
    best = 1e9
    for _ in range(3):
        t0 = time.perf_counter()
        sum(range(10_000_000))
        best = min(best, time.perf_counter() - t0)
    return round(best, 3)


def machine() -> dict[str, Any]:
    return {
        "cpu_calibration_s": cpu_calibration(),
        "cores": os.cpu_count(),
        "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version(),
        "kolam_rev": git_rev(),
    }


def record(name: str, rec: dict[str, Any], *, quiet: bool = False) -> dict[str, Any]:
    """Append one result to out/<name>.jsonl (and print it); adds time and load average."""
    rec = {"bench": name, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **rec}
    rec.setdefault("loadavg_after", loadavg())
    OUT.mkdir(parents=True, exist_ok=True)
    line = json.dumps(rec, default=str)
    with open(OUT / f"{name}.jsonl", "a") as f:
        f.write(line + "\n")
    if not quiet:
        print(line, flush=True)
    return rec


def say(*parts: Any) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------- databases


def pg_url(name: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def reset_pg(name: str) -> str:
    """Drop and create a PostgreSQL database for a benchmark; returns its SQLAlchemy URL."""
    for sql in (f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql], check=True)
    return pg_url(name)


def env_for(data_dir: Path, db_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOLAM_")}
    env["KOLAM_DATA_DIR"] = str(data_dir)
    if db_url:
        env["KOLAM_DATABASE_URL"] = db_url
    env.update(extra)
    return env


def open_database(data_dir: Path, db_url: str | None) -> Any:
    from kolam.store.db import create_database
    from kolam.store.migrate import upgrade

    url = db_url or f"sqlite:///{(data_dir / 'kolam.db').resolve()}"
    db = create_database(url, pool_size=4)
    upgrade(db)
    return db


# --------------------------------------------------------------------------------------------- fixtures


@dataclass
class Fixture:
    data_dir: str
    db_url: str | None
    org_id: int
    manager_token: str
    annotators: list[dict[str, Any]]  # {"user_id", "email", "token"}
    projects: dict[str, int] = field(default_factory=dict)  # name -> id
    tasks: dict[str, int] = field(default_factory=dict)  # name -> task count

    @property
    def path(self) -> Path:
        return Path(self.data_dir) / "fixture.json"

    def save(self) -> None:
        self.path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> Fixture:
        path = Path(path)
        if path.is_dir():
            path = path / "fixture.json"
        return cls(**json.loads(path.read_text()))

    def database(self) -> Any:
        return open_database(Path(self.data_dir), self.db_url)


def new_fixture(data_dir: Path, db_url: str | None, annotators: int) -> Fixture:
    """A fresh data dir (and database) with an organization, a manager and annotators with API tokens."""
    from kolam.services import accounts, auth

    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    db = open_database(data_dir, db_url)
    people: list[dict[str, Any]] = []
    with db.write() as s:
        org = accounts.create_organization(s, None, slug=ORG, name="Benchmark firm")
        org_id = org.id
    with db.write() as s:
        manager = accounts.add_member(s, None, org_id, email="manager@bench.kolam", role="manager")
        manager_token, _ = auth.create_token(s, None, org_id, user_id=manager.user_id, name="bench")
    for i in range(annotators):
        email = f"annotator{i:02d}@bench.kolam"
        with db.write() as s:
            member = accounts.add_member(s, None, org_id, email=email, role="annotator")
            token, _ = auth.create_token(s, None, org_id, user_id=member.user_id, name="bench")
        people.append({"user_id": member.user_id, "email": email, "token": token})
    db.dispose()
    fixture = Fixture(str(data_dir), db_url, org_id, manager_token, people)
    fixture.save()
    return fixture


def create_project(fixture: Fixture, name: str, *, overlap: int = 1) -> int:
    from kolam.services import projects
    from kolam.services.projects import ProjectSettings

    db = fixture.database()
    schema = {"classes": [{"name": c} for c in CLASSES]}
    with db.write() as s:
        project = projects.create_project(
            s,
            None,
            fixture.org_id,
            kind="image_classes",
            schema=schema,
            settings=ProjectSettings(name=name, overlap=overlap),
        )
        pid = project.id
    db.dispose()
    fixture.projects[name] = pid
    fixture.save()
    return pid


def jsonl_source(n: int) -> Path:
    """N image items as a JSONL file (URLs, so no media is read): cached under out/work/."""
    path = WORK / f"items-{n}.jsonl"
    if path.exists() and path.stat().st_size > 0:
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        for i in range(1, n + 1):
            url = f"https://data.example/img/{i:07d}.png"
            f.write(f'{{"id": "img-{i:07d}", "image": "{url}", "meta": {{"shard": {i % 16}}}}}\n')
    tmp.rename(path)
    return path


def import_jsonl(fixture: Fixture, project_id: int, path: Path) -> dict[str, Any]:
    """Import a JSONL file through the service exactly as `kolam import` does (no progress bar); timed."""
    from kolam.formats import open_source
    from kolam.formats.jsonl import read_jsonl
    from kolam.services import imports
    from kolam.settings import Settings
    from kolam.store.blobs import BlobStore

    settings = Settings(data_dir=Path(fixture.data_dir), database_url=fixture.db_url)
    db = fixture.database()
    blobs = BlobStore(settings.effective_blob_url)
    la0, c0, t0 = loadavg(), self_cpu(), time.perf_counter()
    with open_source(path) as stream:
        report = imports.import_records(
            db,
            None,
            project_id,
            read_jsonl(stream, path.name),
            source=str(path),
            format_name="jsonl",
            blobs=blobs,
            allowed_roots=[path.resolve().parent],
            org_id=fixture.org_id,
        )
    seconds = time.perf_counter() - t0
    cpu = self_cpu() - c0
    db.dispose()
    return {
        "records": report.records,
        "created": report.created,
        "duplicates": report.duplicates,
        "seconds": round(seconds, 3),
        "items_per_s": round(report.records / seconds, 1),
        "cpu_s": round(cpu, 2),
        "loadavg_before": la0,
        "loadavg_after": loadavg(),
    }


def add_project(fixture: Fixture, name: str, tasks: int, *, overlap: int = 1) -> dict[str, Any]:
    pid = create_project(fixture, name, overlap=overlap)
    result = import_jsonl(fixture, pid, jsonl_source(tasks))
    fixture.tasks[name] = tasks
    fixture.save()
    return {"project_id": pid, **result}


def synth_project(fixture: Fixture, name: str, tasks: int, *, overlap: int = 1) -> dict[str, Any]:
    """A project of N open tasks written straight in SQL (PostgreSQL only), shaped like the import's rows.

    For a 1M-task PostgreSQL fixture: the import service is quadratic there (see RESULTS.md), so a
    million items would take hours. Not a measurement of anything but the set-up.
    """
    import sqlalchemy as sa

    pid = create_project(fixture, name, overlap=overlap)
    db = fixture.database()
    assert not db.is_sqlite, "synthetic projects are for PostgreSQL; import into SQLite"
    t0 = time.perf_counter()
    with db.write() as s:
        s.execute(
            sa.text(
                "INSERT INTO items (org_id, project_id, content_hash, media, url, mime_type, external_id, meta,"
                " created_at) SELECT :org, :pid, md5('url:' || g) || md5('u' || g), 'image',"
                " 'https://data.example/img/' || lpad(g::text, 7, '0') || '.png', 'image/png',"
                " 'img-' || lpad(g::text, 7, '0'), jsonb_build_object('shard', g % 16),"
                " now() - interval '1 hour' + g * interval '2 microseconds' FROM generate_series(1, :n) g"
            ),
            {"org": fixture.org_id, "pid": pid, "n": tasks},
        )
        s.execute(
            sa.text(
                "INSERT INTO tasks (item_id, project_id, state, priority, is_gold, answers_wanted, answers_count,"
                " open_slots, created_at, updated_at) SELECT id, project_id, 'open', 0, FALSE, :o, 0, :o,"
                " created_at, created_at FROM items WHERE project_id = :pid"
            ),
            {"pid": pid, "o": overlap},
        )
        s.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE items"))
        conn.execute(sa.text("VACUUM ANALYZE tasks"))
    db.dispose()
    fixture.tasks[name] = tasks
    fixture.save()
    return {
        "project_id": pid,
        "records": tasks,
        "created": tasks,
        "seconds": round(time.perf_counter() - t0, 2),
        "synthetic": True,
    }


def fill_annotations(fixture: Fixture, project_id: int) -> int:
    """Give every open task of a project one synthetic answer straight in SQL (for export and listing at scale).

    Answers rotate over the fixture's annotators and the ten classes; label index rows and task counters are
    kept consistent with what a real submit writes. Returns the number of answers added.
    """
    import sqlalchemy as sa

    from kolam.store.types import sqlite_timestamp, utcnow

    db = fixture.database()
    users = [a["user_id"] for a in fixture.annotators]
    sqlite = db.is_sqlite
    now: Any = sqlite_timestamp(utcnow()) if sqlite else utcnow()
    user_case = (
        "CASE " + " ".join(f"WHEN t.item_id % {len(users)} = {i} THEN {u}" for i, u in enumerate(users)) + " END"
    )
    label = "'class_' || (t.item_id % 10)"
    value = f'\'{{"labels": ["\' || {label} || \'"], "unclear": false, "comment": ""}}\''
    if not sqlite:
        value = f"({value})::jsonb"
    true = "1" if sqlite else "TRUE"
    false = "0" if sqlite else "FALSE"
    with db.write() as s:
        added = s.execute(
            sa.text(
                "INSERT INTO annotations (project_id, task_id, user_id, client_id, schema_version, version,"
                " is_current, counted, late, value, lead_time_ms, time_spent_ms, created_at)"
                f" SELECT t.project_id, t.item_id, {user_case}, 'fill-' || t.item_id, 1, 1, {true}, {true}, {false},"
                f" {value}, 1000, 900, :now FROM tasks t"
                " WHERE t.project_id = :pid AND t.state = 'open' AND t.answers_count = 0"
                " AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.task_id = t.item_id AND l.status = 'active')"
            ),
            {"pid": project_id, "now": now},
        ).rowcount
        s.execute(
            sa.text(
                "INSERT INTO answer_labels (annotation_id, label, project_id, task_id)"
                " SELECT a.id, 'class_' || (a.task_id % 10), a.project_id, a.task_id FROM annotations a"
                " WHERE a.project_id = :pid AND a.client_id LIKE 'fill-%'"
            ),
            {"pid": project_id},
        )
        s.execute(
            sa.text(
                "UPDATE tasks SET answers_count = 1, open_slots = 0, state = 'done', updated_at = :now"
                " WHERE project_id = :pid AND state = 'open' AND answers_count = 0"
                " AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.task_id = tasks.item_id AND l.status = 'active')"
            ),
            {"pid": project_id, "now": now},
        )
        s.commit()
    with db.write() as s:  # the planner's statistics, as a long-lived database would have them
        s.execute(sa.text("ANALYZE"))
        s.commit()
    db.dispose()
    return int(added)


# --------------------------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`kolam serve` as its own process, on a free port of 127.0.0.1, with its own data dir / database URL."""

    def __init__(
        self,
        data_dir: str | Path,
        db_url: str | None,
        *,
        log_level: str | None = None,
        workers: int = 1,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.db_url = db_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.data_dir / f"server-{self.port}.log"
        env = env_for(self.data_dir, db_url, **(extra_env or {}))
        if log_level:
            env["KOLAM_LOG_LEVEL"] = log_level
        self.cmd = [KOLAM, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)]
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.start_seconds = 0.0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 120.0) -> Server:
        t0 = time.perf_counter()
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}); see {self.log_path}")
            with contextlib.suppress(OSError), urllib.request.urlopen(self.url + "/api/v1/health", timeout=2) as r:
                if r.status == 200:
                    self.start_seconds = time.perf_counter() - t0
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not answer /api/v1/health within {timeout} s; see {self.log_path}")

    def mem(self) -> dict[str, float]:
        """The server's VmRSS/VmHWM; with several workers, of the largest process and the sum of all."""
        readings = [proc_mem(p) for p in proc_tree(self.pid)]
        if len(readings) == 1:
            return readings[0]
        return {
            "VmHWM_mib": max(r.get("VmHWM_mib", 0) for r in readings),
            "VmRSS_mib": max(r.get("VmRSS_mib", 0) for r in readings),
            "VmRSS_sum_mib": round(sum(r.get("VmRSS_mib", 0) for r in readings), 1),
            "processes": len(readings),
        }

    def cpu(self) -> float:
        return sum(proc_cpu(p) for p in proc_tree(self.pid))

    def stop(self) -> dict[str, float]:
        """Stop the server (SIGINT, then SIGKILL after 15 s); returns its last memory reading."""
        if self.proc is None:
            return {}
        mem = self.mem()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        self.proc = None
        return mem

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def py_spy(pid: int, seconds: float, name: str, *, rate: int = 100, gil: bool = True) -> Iterator[Path | None]:
    """Record the server with py-spy for ``seconds`` (in the background) while the body runs the load."""
    exe = VENV_BIN / "py-spy"
    if seconds <= 0 or not exe.exists():
        yield None
        return
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"profile-{name}.txt"
    cmd = [
        str(exe),
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(seconds)),
        "--rate",
        str(rate),
        "--format",
        "raw",
        "--output",
        str(path),
        "--nonblocking",
    ]
    if gil:
        cmd.append("--gil")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield path
    finally:
        try:
            proc.wait(seconds + 30)
        except subprocess.TimeoutExpired:
            proc.kill()


def summarize_profile(path: Path, top: int = 25) -> dict[str, Any]:
    """Self and inclusive shares of the hottest functions in a py-spy raw (collapsed) profile."""
    if not path.exists():
        return {}
    total = 0
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_short(f) for f in stack.split(";")]
        for f in set(frames):
            inclusive[f] = inclusive.get(f, 0) + n
        own[frames[-1]] = own.get(frames[-1], 0) + n
    if not total:
        return {"samples": 0}

    def pct(d: dict[str, int]) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:top]]

    kolam = {k: v for k, v in inclusive.items() if "kolam/" in k}
    return {"samples": total, "self": pct(own), "inclusive_kolam": pct(kolam), "inclusive_all": pct(inclusive)}


def _short(frame: str) -> str:
    """'func (/long/path/site-packages/pkg/mod.py:12)' -> 'func (pkg/mod.py)'."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    file = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{name} ({file})"
