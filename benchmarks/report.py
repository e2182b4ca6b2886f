"""Markdown tables from benchmarks/out/*.jsonl: every figure against its target, and the ratios to Label Studio.

    python benchmarks/report.py --tag full [--peer out/label_studio.jsonl]

Reads the newest record of each kind for the tag; prints tables to paste into RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import common


def load(name: str) -> list[dict[str, Any]]:
    path = common.OUT / f"{name}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def verdict(value: float | None, target: float, *, higher: bool = True) -> str:
    if value is None:
        return "–"
    ok = value >= target if higher else value < target
    if ok:
        return "met"
    return f"missed ({value / target:.2f}× target)" if higher else f"missed ({value / target:.1f}× the limit)"


def f(x: Any, digits: int = 0) -> str:
    if x is None:
        return "–"
    return f"{x:,.{digits}f}" if isinstance(x, int | float) else str(x)


def newest(rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        seen[tuple(r.get(k) for k in key)] = r
    return list(seen.values())


def imports(tag: str) -> None:
    rows = newest([r for r in load("import") if r.get("tag") == tag], ("mode", "db", "tasks"))
    print("| import | db | items | seconds | items/s | CPU s | peak RSS MiB | load before → after | target 100k/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['mode']} | {r['db']} | {f(r['tasks'])} | {f(r['seconds'], 1)} | {f(r['items_per_s'])} | "
            f"{f(r.get('cpu_s'), 1)} | {f(r.get('peak_rss_mib'))} | {r.get('loadavg_before')} → "
            f"{r.get('loadavg_after')} | {verdict(r['items_per_s'], 100_000) if r['db'] == 'sqlite' else 'n/a'} |"
        )


def annotate(tag: str) -> None:
    rows = newest([r for r in load("annotate") if r.get("tag") == tag], ("db", "mode", "k", "tasks"))
    print(
        "| db | mode | K | tasks | answers/s | next p50/p95/p99 ms | submit p50/p95/p99 ms | errors | client CPU "
        "| server CPU | server ms CPU/answer | invariants | load before → after | throughput target | p99 < 100 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        target = 5000 if r["mode"] == "batch20" else 1000
        n, s = r["next"], r["submit"]
        inv = r["invariants"]
        inv_s = "ok" if inv["ok"] else "BROKEN " + json.dumps({k: v for k, v in inv.items() if v and k != "ok"})
        p99 = max(n.get("p99_ms") or 0, s.get("p99_ms") or 0)
        print(
            f"| {r['db']} | {r['mode']} | {r['k']} | {f(r['tasks'])} | {f(r['answers_per_s'], 1)} | "
            f"{n.get('p50_ms')}/{n.get('p95_ms')}/{n.get('p99_ms')} | {s.get('p50_ms')}/{s.get('p95_ms')}/"
            f"{s.get('p99_ms')} | {r['errors'] or 0} | {r['client_cpu_share_of_core']:.0%} | "
            f"{r['server_cpu_share_of_core']:.0%} | {r['server_cpu_ms_per_answer']} | {inv_s} "
            f"(active leases {inv['leases_active']}) | {r['loadavg_before']} → {r['loadavg_after']} | "
            f"{verdict(r['answers_per_s'], target)} | {verdict(p99, 100, higher=False)} |"
        )


def rss(tag: str) -> None:
    rows = newest([r for r in load("server_rss") if r.get("tag") == tag], ("db", "tasks"))
    print("| server | tasks | idle VmRSS MiB | VmHWM after load MB | target ≤ 300 MB |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['db']} | {f(r['tasks'])} | {r['idle'].get('VmRSS_mib')} | {r['vmhwm_mb']} | "
            f"{verdict(r['vmhwm_mb'], 300, higher=False)} |"
        )


def export(tag: str) -> None:
    rows = newest([r for r in load("export") if r.get("tag") == tag], ("mode", "db", "annotations"))
    print("| export | annotations | seconds | first byte s | MiB | annotations/s | peak RSS MiB | target 200k/s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (r["mode"], r["annotations"])):
        peak = r.get("peak_rss_mib") or (r.get("server_mem_after") or {}).get("VmHWM_mib")
        print(
            f"| {r['mode']} | {f(r['annotations_in_file'])} | {f(r['seconds'], 1)} | {f(r.get('first_byte_s'), 2)} | "
            f"{f(r['mib'], 1)} | {f(r['annotations_per_s'])} | {f(peak)} | "
            f"{verdict(r['annotations_per_s'], 200_000)} |"
        )


def listing(tag: str) -> None:
    rows = [r for r in load("list") if r.get("tag") == tag]
    print(
        "| filter | first page p50/p95 ms | following pages p50/p95 ms | deep jumps p50/p95/max ms "
        "| rows at 50/90/99 % | all p95 ms | target p95 < 100 ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in newest(rows, ("filter",)):
        a = r["all"]
        if r["filter"] == "ALL":
            print(f"| **all pages** | | | | | {a.get('p95_ms')} | {verdict(a.get('p95_ms'), 100, higher=False)} |")
            continue
        fp, fo, dj = r["first_page"], r["following_pages"], r["deep_jumps"]
        print(
            f"| {r['filter']} | {fp.get('p50_ms')}/{fp.get('p95_ms')} | {fo.get('p50_ms')}/{fo.get('p95_ms')} | "
            f"{dj.get('p50_ms')}/{dj.get('p95_ms')}/{dj.get('max_ms')} | {'/'.join(map(str, r['rows_deep'].values()))} "
            f"| {a.get('p95_ms')} | {verdict(a.get('p95_ms'), 100, higher=False)} |"
        )


def peer(peer_path: Path, tag: str) -> None:
    ls = [json.loads(x) for x in peer_path.read_text().splitlines() if x.strip()] if peer_path.exists() else []
    projects = {r["project"]: r["n"] for r in ls if r.get("phase") == "project"}
    ls_ann = {(projects.get(r["project"]), r["k"]): r for r in ls if r.get("phase") == "annotate"}
    ko = {(r["tasks"], r["k"]): r for r in load("annotate") if r.get("tag") == tag and r["mode"] == "single"}
    print(
        "| tasks | K | Kolam answers/s | Label Studio answers/s | ratio | Kolam next/submit p99 ms "
        "| LS next/submit p99 ms | Kolam over-answered / twice | LS over-answered (run) / twice | loads |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted(set(ko) | set(ls_ann), key=lambda k: (k[0] or 0, k[1])):
        k, lsr = ko.get(key), ls_ann.get(key)
        ka = k["answers_per_s"] if k else None
        la = lsr["submissions_per_s"] if lsr else None
        ratio = f"{ka / la:,.0f}×" if ka and la else "–"
        kinv = (
            f"{k['invariants']['tasks_over_answered']} / {k['invariants']['same_person_same_task_twice']}" if k else "–"
        )
        linv = f"{lsr['run_tasks_with_gt1_annotation']} / {lsr['run_same_user_same_task_submits']}" if lsr else "–"
        kp = f"{k['next'].get('p99_ms')}/{k['submit'].get('p99_ms')}" if k else "–"
        lp = f"{lsr['next'].get('p99_ms')}/{lsr['submit'].get('p99_ms')}" if lsr else "–"
        loads = f"K {k['loadavg_after'] if k else '–'}; LS {lsr.get('loadavg') if lsr else '–'}"
        print(
            f"| {f(key[0])} | {key[1]} | {f(ka, 1)} | {f(la, 2)} | {ratio} | {kp} | {lp} | {kinv} | {linv} | {loads} |"
        )
    ls_imp = {r["n"]: r for r in ls if r.get("phase") == "import"}
    ls_exp = [r for r in ls if r.get("phase") == "export"]
    for n, r in sorted(ls_imp.items()):
        print(f"\nLS import {n:,}: {r['tasks_per_s']:,} tasks/s; VmHWM after {r['mem_after_mib']}")
    for r in ls_exp:
        print(
            f"LS export project {r['project']}: {r.get('annotations')} annotations, {r.get('annotations_per_s')}/s, "
            f"over max_annotations {r.get('tasks_over_max_annotations')}, same annotator twice "
            f"{r.get('annotator_same_task_twice')}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tag", default="full")
    ap.add_argument("--peer", default=str(common.OUT / "label_studio.jsonl"))
    ap.add_argument("--peer-tag", default="peer-shape")
    a = ap.parse_args()
    for title, fn in (
        ("Import", imports),
        ("Annotate", annotate),
        ("Server RSS", rss),
        ("Export", export),
        ("Listing", listing),
        ("Listing (all tasks answered)", lambda t: listing(t + "-filled")),
    ):
        print(f"\n### {title}\n")
        fn(a.tag)
    print("\n### Kolam vs Label Studio (same shape, back to back)\n")
    peer(Path(a.peer), a.peer_tag)


if __name__ == "__main__":
    main()
