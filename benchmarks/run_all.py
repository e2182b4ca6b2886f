"""Every benchmark at one scale, one after the other; results are appended to benchmarks/out/*.jsonl.

    python benchmarks/run_all.py --scale small      # ~2 minutes: does everything work?
    python benchmarks/run_all.py --scale full       # the 1M figures (~25 minutes on 2 cores)
    python benchmarks/run_all.py --scale full --only annotate_pg,list
    python benchmarks/run_all.py --scale peer       # the Label Studio shape (10k/100k, K=1,8,32, 60 s)

PostgreSQL: the import service is measured at the sizes in "pg_import" (it is quadratic there, see
RESULTS.md); the project the annotators work on is written in SQL (bench_import --synthetic).
Steps run as separate processes (the load client is never the server's process). A step that fails is
reported and the next one runs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import common

SCALES = {
    "small": {
        "tasks": 20_000,
        "duration": 5,
        "profile": 0,
        "export": "10000",
        "pages": 3,
        "repeat": 5,
        "pg_import": "20000",
    },
    "full": {
        "tasks": 1_000_000,
        "duration": 60,
        "profile": 20,
        "export": "100000",
        "pages": 20,
        "repeat": 20,
        "pg_import": "20000,50000",
    },
}


def steps(scale: str) -> list[tuple[str, list[str]]]:
    if scale == "peer":
        return [
            (
                "peer_shape",
                [
                    "bench_annotate.py",
                    "--tasks",
                    "10000,100000",
                    "--ks",
                    "1,8,32",
                    "--duration",
                    "60",
                    "--modes",
                    "single",
                    "--tag",
                    "peer-shape",
                ],
            )
        ]
    s = SCALES[scale]
    n, d, tag = str(s["tasks"]), str(s["duration"]), scale
    sqlite_dir, pg_dir = str(common.WORK / f"sqlite-{scale}"), str(common.WORK / f"pg-{scale}")
    load = ["--modes", "single,batch20", "--ks", "32", "--duration", d, "--profile", str(s["profile"]), "--tag", tag]
    return [
        ("import_sqlite", ["bench_import.py", "--tasks", n, "--keep", sqlite_dir, "--tag", tag]),
        ("annotate_sqlite", ["bench_annotate.py", "--fixture", sqlite_dir, *load]),
        (
            "list",
            [
                "bench_list.py",
                "--fixture",
                sqlite_dir,
                "--pages",
                str(s["pages"]),
                "--repeat",
                str(s["repeat"]),
                "--profile",
                str(s["profile"] and 10),
                "--tag",
                tag,
            ],
        ),
        (
            "export_main",
            ["bench_export.py", "--fixture", sqlite_dir, "--profile", str(s["profile"] and 10), "--tag", tag],
        ),
        (
            "list_filled",
            [
                "bench_list.py",
                "--fixture",
                sqlite_dir,
                "--pages",
                str(s["pages"]),
                "--repeat",
                str(s["repeat"]),
                "--tag",
                tag + "-filled",
            ],
        ),
        ("export_small", ["bench_export.py", "--sizes", s["export"], "--tag", tag]),
        *[
            (f"import_pg_{m}", ["bench_import.py", "--tasks", m, "--db-url", "pg", "--no-cli", "--tag", tag])
            for m in s["pg_import"].split(",")
        ],
        (
            "setup_pg",
            ["bench_import.py", "--tasks", n, "--db-url", "pg", "--keep", pg_dir, "--synthetic", "--tag", tag],
        ),
        ("annotate_pg", ["bench_annotate.py", "--fixture", pg_dir, *load]),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=["small", "full", "peer"], default="small")
    ap.add_argument("--only", default="", help="comma list of step names")
    a = ap.parse_args()
    only = set(filter(None, a.only.split(",")))
    started = time.perf_counter()
    common.record(
        "run", {"scale": a.scale, "event": "start", "machine": common.machine(), "loadavg_before": common.loadavg()}
    )
    failed = []
    for name, args in steps(a.scale):
        if only and name not in only:
            continue
        common.say(f"== {name}: {' '.join(args)}  (load {common.loadavg()})")
        t0 = time.perf_counter()
        rc = subprocess.run([sys.executable, str(common.HERE / args[0]), *args[1:]], cwd=common.HERE).returncode
        common.say(f"== {name}: exit {rc} after {time.perf_counter() - t0:.0f} s")
        if rc:
            failed.append(name)
    common.record(
        "run", {"scale": a.scale, "event": "end", "failed": failed, "seconds": round(time.perf_counter() - started, 1)}
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
