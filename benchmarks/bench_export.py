"""Export throughput and memory: `GET /projects/{id}/export?format=jsonl` and `kolam export`, at two sizes.

Target: ≥ 200,000 annotations/s, and peak RSS independent of size (100k vs 1M annotations).

    python benchmarks/bench_export.py --sizes 100000,1000000          # own fixture, one project per size
    python benchmarks/bench_export.py --fixture out/work/sqlite-1m    # the annotated 1M project (filled up)

Each project first gets one answer per task that has none, written straight in SQL (see common.fill_annotations),
so that "N annotations" means N. The HTTP export runs against a freshly started server (so its VmHWM is
the export's), read by a plain http.client loop (no gzip asked, as curl does by default); the CLI export is
a child process writing to a file, its peak RSS from wait4.
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import common
import sqlalchemy as sa

TOKEN = b'"annotator":'


def count_annotations(fixture: common.Fixture, project_id: int) -> int:
    db = fixture.database()
    with db.read() as s:
        n = s.execute(
            sa.text("SELECT count(*) FROM annotations WHERE project_id = :p AND is_current"), {"p": project_id}
        ).scalar()
    db.dispose()
    return int(n or 0)


def http_export(fixture: common.Fixture, project_id: int, *, profile: float, tag: str) -> dict[str, Any]:
    server = common.Server(fixture.data_dir, fixture.db_url).start()
    try:
        idle, c0, la0 = server.mem(), server.cpu(), common.loadavg()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
        name = f"export-{'pg' if fixture.db_url else 'sqlite'}-{tag}"
        with common.py_spy(server.pid, profile, name) as prof:
            t0 = time.perf_counter()
            conn.request(
                "GET",
                f"/api/v1/projects/{project_id}/export?format=jsonl",
                headers={"Authorization": f"Bearer {fixture.manager_token}"},
            )
            resp = conn.getresponse()
            nbytes = lines = annotations = 0
            first_byte = None
            tail = b""
            while chunk := resp.read(1 << 20):
                if first_byte is None:
                    first_byte = time.perf_counter() - t0
                nbytes += len(chunk)
                lines += chunk.count(b"\n")
                annotations += (tail + chunk).count(TOKEN)
                tail = chunk[-(len(TOKEN) - 1) :]
            seconds = time.perf_counter() - t0
        conn.close()
        cpu = server.cpu() - c0
        mem = server.mem()
    finally:
        server.stop()
    out = {
        "mode": "http",
        "status": resp.status,
        "seconds": round(seconds, 2),
        "first_byte_s": round(first_byte or 0, 3),
        "mib": round(nbytes / 2**20, 1),
        "items": lines,
        "annotations_in_file": annotations,
        "annotations_per_s": round(annotations / seconds, 1),
        "server_cpu_s": round(cpu, 2),
        "server_idle_mem": idle,
        "server_mem_after": mem,
        "loadavg_before": la0,
        "loadavg_after": common.loadavg(),
    }
    if profile and prof:
        common.record(
            "profile",
            {"of": name, "annotations_per_s": out["annotations_per_s"], **common.summarize_profile(prof)},
            quiet=True,
        )
    return out


def cli_export(fixture: common.Fixture, project_id: int) -> dict[str, Any]:
    path = Path(fixture.data_dir) / f"export-{project_id}.jsonl"
    cmd = [common.KOLAM, "export", "--org", common.ORG, "--project", str(project_id), "--output", str(path)]
    la0, t0 = common.loadavg(), time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        env=common.env_for(Path(fixture.data_dir), fixture.db_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    output = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    annotations = lines = 0
    tail = b""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            lines += chunk.count(b"\n")
            annotations += (tail + chunk).count(TOKEN)
            tail = chunk[-(len(TOKEN) - 1) :]
    size = path.stat().st_size
    path.unlink()
    return {
        "mode": "cli",
        "exit": proc.returncode,
        "seconds": round(seconds, 2),
        "mib": round(size / 2**20, 1),
        "items": lines,
        "annotations_in_file": annotations,
        "annotations_per_s": round(annotations / seconds, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "output_tail": output.strip().splitlines()[-1:],
        "loadavg_before": la0,
        "loadavg_after": common.loadavg(),
    }


def bench(fixture: common.Fixture, project: str, *, profile: float, tag: str) -> None:
    pid = fixture.projects[project]
    t0 = time.perf_counter()
    added = common.fill_annotations(fixture, pid)
    common.say(f"project {project}: {added:,} answers filled in {time.perf_counter() - t0:.1f} s")
    n = count_annotations(fixture, pid)
    db_name = "postgresql" if fixture.db_url else "sqlite"
    base = {
        "db": db_name,
        "project": project,
        "tasks": fixture.tasks.get(project),
        "annotations": n,
        "tag": tag,
        "target_annotations_per_s": 200_000,
    }
    common.say(f"HTTP export of {n:,} annotations …")
    common.record("export", {**base, **http_export(fixture, pid, profile=profile, tag=f"{tag}-{n}")})
    common.say(f"`kolam export` of {n:,} annotations …")
    common.record("export", {**base, **cli_export(fixture, pid)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixture", help="reuse a fixture (its project --project is filled up to one answer per task)")
    ap.add_argument("--project", default="main")
    ap.add_argument("--sizes", default="100000", help="no fixture: comma list of project sizes")
    ap.add_argument("--profile", type=float, default=0.0, help="py-spy the server for this many seconds")
    ap.add_argument("--tag", default="")
    a = ap.parse_args()
    if a.fixture:
        bench(common.Fixture.load(a.fixture), a.project, profile=a.profile, tag=a.tag)
        return
    sizes = [int(x) for x in a.sizes.split(",") if x]
    fixture = common.new_fixture(common.WORK / "export", None, 32)
    for n in sizes:
        common.say(f"importing {n:,} items for the export project …")
        common.add_project(fixture, f"export-{n}", n)
        bench(fixture, f"export-{n}", profile=a.profile, tag=a.tag)


if __name__ == "__main__":
    main()
