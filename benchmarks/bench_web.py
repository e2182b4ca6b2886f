"""The annotator's web workspace over a thin link: shell bytes, time to the first and next task, audio start,
bytes downloaded per task.

Debian's chromium, driven by Playwright, against `kolam serve` on the demo's data (Fashion-MNIST, the real
photographs, the speech clips). The link is emulated with the DevTools protocol
(`Network.emulateNetworkConditions`: 500 ms latency, 256 kbit/s each way) on the page AND on the service
worker: the page's emulation does not reach requests the worker makes itself (measured here: a file fetched
through the worker took 28 ms with only the page throttled, 768 ms with both).

Phases, each on a fresh browser profile unless said:
- `sizes`: what annotators download per item, read over HTTP from the server (display copies, peaks, and the
  task's share of the lease and submit JSON, gzip as sent) — median and p95 per data set;
- `images_cold`: first visit (nothing cached, no service worker yet): time to the first task shown, then each
  next task (class key + Enter) until the batch is done, bytes on the wire per task;
- `images_warm`: the same profile reloaded (shell from the service worker, batch from IndexedDB);
- `photos_cold`: the same on real photographs;
- `audio_cold`: a transcription task: time to shown, then Ctrl+Space → time until the audio plays.

    python benchmarks/bench_web.py                 # ~2 minutes
    python benchmarks/bench_web.py --tasks 40 --fashion 300
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import WORK, Server, loadavg, machine, percentiles, record, say

from tests.browser.thin_link import THIN as LINK
from tests.browser.thin_link import ThinLink as Link

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]  # fmt: skip
PASSWORD = "kolam-demo"
ANNOTATORS = ["anbu@demo.kolam", "priya@demo.kolam", "ravi@demo.kolam"]
TARGETS = {"shell_kb": 150, "first_task_s": 3.0, "next_task_s": 1.0, "audio_start_s": 2.0, "image_task_kb": 30}
TASK_SHOWN = """() => {
  const el = document.querySelector('.ws-interface[data-ready]');
  if (!el) return null;
  const img = el.querySelector('img');
  if (img && !(img.complete && img.naturalWidth > 0)) return null;
  return Number(el.dataset.taskId);
}"""


def set_up(data_dir: Path, fashion: int) -> dict[str, int]:
    """The demo's organization and projects in a fresh data dir; returns project ids by kind."""
    import shutil

    from kolam.services.demo import set_up_demo
    from kolam.settings import Settings
    from kolam.store.blobs import BlobStore
    from kolam.store.db import create_database
    from kolam.store.migrate import upgrade

    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    settings = Settings(data_dir=data_dir)
    db = create_database(settings.effective_database_url)
    upgrade(db)
    setup = set_up_demo(db, BlobStore(settings.effective_blob_url), data_dir / "sources", limit=fashion)
    db.dispose()
    names = {"Fashion products": "fashion", "Speech transcription": "speech", "Photo objects": "photos"}
    return {names[name]: pid for pid, name, _ in setup.projects if name in names}


def spread(sizes: list[float]) -> dict[str, Any]:
    """n, median, p95 (nearest rank) and max of byte counts."""
    xs = sorted(sizes)
    if not xs:
        return {"n": 0}
    return {"n": len(xs), "median": round(xs[len(xs) // 2]), "p95": round(xs[max(0, -(-95 * len(xs) // 100) - 1)]),
            "max": round(xs[-1])}  # fmt: skip


def login(base: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base, headers={"X-Kolam-Client": "bench"}, timeout=60)
    client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).raise_for_status()
    return client


def item_sizes(base: str, project_id: int, batch: int = 20) -> dict[str, Any]:
    """Bytes per task as sent: the display copy (and peaks), plus the task's share of the lease and submit JSON."""
    client = login(base, "manager@demo.kolam")
    media: list[int] = []
    cursor: str | None = None
    while True:
        page = client.get(f"/api/v1/projects/{project_id}/items", params={"limit": 200, "cursor": cursor}).json()
        for row in page["items"]:
            item_id = row["item"]["id"]
            size = len(client.get(f"/api/v1/items/{item_id}/display").content)
            if row["item"]["media"] == "audio":
                size += len(gzip.compress(client.get(f"/api/v1/items/{item_id}/peaks").content))
            media.append(size)
        cursor = page["next_cursor"]
        if not cursor:
            break
    leased = client.post(f"/api/v1/projects/{project_id}/next", params={"count": batch})
    lease_share = len(gzip.compress(leased.content)) / max(1, len(leased.json()))
    for task in leased.json():
        client.post(f"/api/v1/tasks/{task['task_id']}/release")
    submit_share = 260  # one answer in a batch body (client id, value, timings), as the outbox sends it
    client.close()
    per_task = [m + lease_share + submit_share for m in media]
    return {
        "items": len(media),
        "display_bytes": spread(media),
        "lease_json_bytes_per_task": round(lease_share),
        "per_task_bytes": spread(per_task),
    }


def wait_task(page: Any, other_than: int | None = None, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = page.evaluate(TASK_SHOWN)
        if task is not None and task != other_than:
            return int(task)
        page.wait_for_timeout(20)
    raise TimeoutError("no task was shown")


def session_run(browser: Any, base: str, email: str, project_id: int, tasks: int, *, answer_key: str) -> dict:
    """One annotator on a fresh profile: first task, `tasks` answers, then a reload (warm)."""
    context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 768})
    context.request.post("/api/v1/auth/login", data={"email": email, "password": PASSWORD})
    page = context.new_page()
    link = Link(browser, context, page)
    t0 = time.perf_counter()
    page.goto(f"/#/projects/{project_id}/work", wait_until="commit")
    task = wait_task(page)
    first = time.perf_counter() - t0
    shell = [(u, n) for u, n in link.requests if "/static/" in u or u.rstrip("/") == base]  # the app itself
    shell_wire = sum(n for _, n in shell)
    nexts: list[float] = []
    for _ in range(tasks - 1):
        page.keyboard.press(answer_key)
        t = time.perf_counter()
        page.keyboard.press("Enter")
        try:
            task = wait_task(page, other_than=task, timeout=30)
        except TimeoutError:
            break
        nexts.append(time.perf_counter() - t)
    page.keyboard.press(answer_key)
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('net-status').dataset.pending === '0'", timeout=120_000)
    answered = len(nexts) + 1

    # Every task leased costs its media, its share of the lease reply, its answer and any renewals: all that
    # is not the app itself, divided by the tasks whose media came down (the batch runs ahead of the answers).
    def is_shell(url: str) -> bool:
        return "/static/" in url or url.rstrip("/") == base

    tasks_fetched = len({url for url, _ in link.requests if "/display" in url or "/content" in url})
    task_bytes = sum(n for url, n in link.requests if not is_shell(url))
    per_task_wire = task_bytes / max(1, tasks_fetched)
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=60_000)
    page.wait_for_timeout(3000)  # let the worker finish precaching the shell
    t1 = time.perf_counter()
    page.reload(wait_until="commit")
    wait_task(page)
    warm = time.perf_counter() - t1
    context.close()
    return {
        "first_task_s": round(first, 3),
        "next_task_s": percentiles(nexts),
        "answered": answered,
        "shell_files": len(shell),
        "shell_wire_bytes": shell_wire,
        "tasks_fetched": tasks_fetched,
        "per_task_wire_bytes": round(per_task_wire),
        "warm_first_task_s": round(warm, 3),
    }


def audio_run(browser: Any, base: str, email: str, project_id: int) -> dict[str, Any]:
    context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 768})
    context.request.post("/api/v1/auth/login", data={"email": email, "password": PASSWORD})
    page = context.new_page()
    Link(browser, context, page)
    t0 = time.perf_counter()
    page.goto(f"/#/projects/{project_id}/work", wait_until="commit")
    page.locator(".ws-interface[data-ready] audio").wait_for(state="attached", timeout=60_000)
    shown = time.perf_counter() - t0
    page.evaluate(
        "() => { const a = document.querySelector('.ws-interface audio');"
        " a.addEventListener('playing', () => { window.__playing = performance.now(); }, {once: true}); }"
    )
    t1 = time.perf_counter()
    page.keyboard.press("Control+Space")
    page.wait_for_function(
        "window.__playing !== undefined && document.querySelector('.ws-interface audio').currentTime > 0",
        timeout=30_000,
    )
    start = time.perf_counter() - t1
    context.close()
    return {"task_shown_s": round(shown, 3), "play_key_to_sound_s": round(start, 3),
            "navigation_to_sound_s": round(shown + start, 3)}  # fmt: skip


def shell_sizes() -> dict[str, Any]:
    """The offline shell as the service worker installs it: files, bytes as stored and gzip'd as sent."""
    from kolam.web import STATIC_DIR

    text = (STATIC_DIR / "sw.js").read_text()
    block = text[text.index("const SHELL = [") : text.index("];", text.index("const SHELL = ["))]
    urls = [u.split('"')[1] for u in block.splitlines() if u.strip().startswith('"')]
    paths = [STATIC_DIR / ("index.html" if u == "/" else u.removeprefix("/static/")) for u in urls]
    raw = sum(p.stat().st_size for p in paths)
    return {"files": len(paths), "bytes": raw, "gzip_bytes": sum(len(gzip.compress(p.read_bytes())) for p in paths)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fashion", type=int, default=200, help="Fashion-MNIST items in the project")
    parser.add_argument("--tasks", type=int, default=20, help="tasks each browser session answers")
    parser.add_argument("--data-dir", type=Path, default=WORK / "web")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    projects = set_up(args.data_dir, args.fashion)
    server = Server(args.data_dir, None, log_level="warning").start()
    base = server.url
    common = {"machine": machine(), "link": LINK, "loadavg_before": loadavg()}
    try:
        shell = shell_sizes()
        record("web_shell", {**common, **shell, "target_bytes": TARGETS["shell_kb"] * 1024})
        for name in ("fashion", "photos", "speech"):
            record(f"web_sizes_{name}", {**common, **item_sizes(base, projects[name])})
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            runs = [
                ("images", ANNOTATORS[0], projects["fashion"], args.tasks),
                ("photos", ANNOTATORS[1], projects["photos"], 5),  # one left for the warm reload
            ]
            for name, email, project_id, tasks in runs:
                say(f"{name}: {tasks} tasks over the emulated link")
                result = session_run(browser, base, email, project_id, tasks, answer_key="1")
                record(f"web_{name}", {**common, **result, "loadavg_after": loadavg()})
            say("audio: playback start over the emulated link")
            record("web_audio", {**common, **audio_run(browser, base, ANNOTATORS[2], projects["speech"])})
            browser.close()
    finally:
        server.stop()
    say("targets:", json.dumps(TARGETS))


if __name__ == "__main__":
    main()
