"""Import throughput: N items from JSONL through the import service, and `kolam import` end to end.

Target (foundation issue): ≥ 100,000 items/s into SQLite at 1,000,000 items.

    python benchmarks/bench_import.py --tasks 1000000 [--db-url pg] [--keep out/work/sqlite-1m] [--no-cli]
    python benchmarks/bench_import.py --tasks 200000 --work out/import-work --pg-prefix kolam_bench_iw --profile

``--work DIR`` keeps the sources, fixtures and records in a folder of one's own (default ``out/work``, records
in ``out/``); ``--pg-prefix`` names the PostgreSQL databases so that runs side by side do not drop each
other's; ``--profile`` writes a cProfile of the service run (``import-<db>-<N>.prof``) and prints its top.

The service run imports into a fresh fixture (data dir + database with an organization and annotators); with
``--keep DIR`` that fixture stays for bench_annotate/bench_list/bench_export (project name ``main``).
The CLI run is a fresh data dir of its own, `kolam import` as a child process: wall time, CPU, peak RSS.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import shutil
import subprocess
import time
from pathlib import Path

import common


def cli_import(tasks: int, db_url: str | None, annotators: int, pg_prefix: str) -> dict[str, object]:
    """`kolam import items.jsonl --org bench --project P` in a fresh data dir, as its own process."""
    data_dir = common.WORK / f"import-cli-{tasks}"
    if db_url:
        db_url = common.reset_pg(f"{pg_prefix}_cli")
    fixture = common.new_fixture(data_dir, db_url, annotators)
    pid = common.create_project(fixture, "cli")
    source = common.jsonl_source(tasks)
    cmd = [common.KOLAM, "import", str(source), "--org", common.ORG, "--project", str(pid)]
    env = common.env_for(data_dir, db_url)
    la0, t0 = common.loadavg(), time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    output = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    db = fixture.database()
    with db.read() as s:
        from sqlalchemy import text

        published = s.execute(text("SELECT count(*) FROM tasks WHERE project_id = :p AND state = 'open'"), {"p": pid})
        n_open = published.scalar()
    db.dispose()
    result = {
        "mode": "cli",
        "db": "postgresql" if db_url else "sqlite",
        "tasks": tasks,
        "exit": proc.returncode,
        "seconds": round(seconds, 2),
        "items_per_s": round(tasks / seconds, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "published_tasks": n_open,
        "output_tail": output.strip().splitlines()[-1:] if output.strip() else [],
        "loadavg_before": la0,
        "loadavg_after": common.loadavg(),
    }
    shutil.rmtree(data_dir, ignore_errors=True)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=100_000)
    ap.add_argument(
        "--db-url",
        default=None,
        help="'pg': a fresh PostgreSQL database (kolam_bench_<keep folder>, or kolam_bench_tmp), or a URL",
    )
    ap.add_argument("--annotators", type=int, default=32, help="annotators (with tokens) to create in the fixture")
    ap.add_argument("--keep", default=None, help="keep the service run's fixture in this folder")
    ap.add_argument("--no-cli", action="store_true", help="skip the `kolam import` run")
    ap.add_argument("--no-service", action="store_true", help="skip the service run")
    ap.add_argument(
        "--synthetic",
        action="store_true",
        help="PostgreSQL only: write the kept fixture's project in SQL (not measured), no import",
    )
    ap.add_argument("--tag", default="", help="free text stored with the results")
    ap.add_argument("--work", default=None, help="folder for sources, fixtures and records (default out/work)")
    ap.add_argument("--pg-prefix", default="kolam_bench", help="prefix of the PostgreSQL databases made")
    ap.add_argument("--profile", action="store_true", help="cProfile the service run; .prof in the work folder")
    a = ap.parse_args()
    if a.work:
        common.WORK = common.OUT = Path(a.work).resolve()
    # a kept fixture gets a database of its own (kolam_bench_<folder>), so a small run never wipes a full one
    pg_name = f"{a.pg_prefix}_" + (re.sub(r"\W", "_", Path(a.keep).name) if a.keep else "tmp")
    db_url = common.reset_pg(pg_name) if a.db_url == "pg" else a.db_url
    db_name = "postgresql" if db_url else "sqlite"
    source = common.jsonl_source(a.tasks)
    common.say(f"source {source} ({source.stat().st_size / 2**20:.1f} MiB)")
    if a.synthetic:
        assert db_url and a.keep, "--synthetic needs --db-url pg and --keep"
        fixture = common.new_fixture(Path(a.keep), db_url, a.annotators)
        common.say(f"synthetic PostgreSQL project of {a.tasks:,} tasks …")
        common.record(
            "setup", {"db": db_name, "tasks": a.tasks, "tag": a.tag, **common.synth_project(fixture, "main", a.tasks)}
        )
        return
    if not a.no_service:
        data_dir = Path(a.keep) if a.keep else common.WORK / f"import-service-{a.tasks}"
        fixture = common.new_fixture(data_dir, db_url, a.annotators)
        common.say(f"service import of {a.tasks:,} items into {db_name} …")
        profiler = cProfile.Profile() if a.profile else None
        if profiler is not None:
            profiler.enable()
        result = common.add_project(fixture, "main", a.tasks)
        if profiler is not None:
            profiler.disable()
            prof = common.WORK / f"import-{db_name}-{a.tasks}.prof"
            profiler.dump_stats(prof)
            pstats.Stats(str(prof)).sort_stats("tottime").print_stats(25)
        common.record(
            "import",
            {
                "mode": "service",
                "db": db_name,
                "tasks": a.tasks,
                "tag": a.tag,
                "source_mib": round(source.stat().st_size / 2**20, 1),
                **result,
                "target_items_per_s": 100_000,
                "machine": common.machine(),
            },
        )
        if not a.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    if not a.no_cli:
        common.say(f"`kolam import` of {a.tasks:,} items into {db_name} …")
        common.record(
            "import",
            {**cli_import(a.tasks, db_url, a.annotators, a.pg_prefix), "tag": a.tag, "target_items_per_s": 100_000},
        )


if __name__ == "__main__":
    main()
