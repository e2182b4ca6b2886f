"""The workspace over the issue's thin link (DevTools emulation, 256 kbit/s, 500 ms, page and service worker):
a keyboard-only session of 10 tasks that ends with every answer stored once; the time to the first task, each
next task and the bytes on the wire are recorded in test-artifacts/thin-link.json. Figures, not verdicts:
benchmarks/bench_web.py measures them against the targets."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.browser.conftest import ARTIFACTS, LiveServer, screenshot
from tests.browser.test_workspace_core import CLASSES, answers, current_task, fashion_folder, start, wait_synced
from tests.browser.thin_link import ThinLink

SHOWN = "document.querySelector('.ws-interface[data-ready] .ic-image[src^=\"blob:\"]')?.complete === true"


def test_ten_tasks_over_a_thin_link(browser, context, page, live_server: LiveServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "image_classes", schema=CLASSES)
    live_server.factory.files(project, fashion_folder(tmp_path, 12))
    link = ThinLink(browser, context, page)

    t0 = time.perf_counter()
    page.goto(f"/#/projects/{project.id}/work")
    page.wait_for_function(SHOWN, timeout=60_000)
    first_task_s = time.perf_counter() - t0
    shown = [current_task(page)]
    next_task_ms = []
    for _ in range(10):
        page.keyboard.press("2")
        t = time.perf_counter()
        page.keyboard.press("Enter")
        page.wait_for_function(
            "id => { const el = document.querySelector('.ws-interface[data-ready] .ic-image[src^=\"blob:\"]');"
            " return !!el && el.complete && Number(el.closest('.ws-interface').dataset.taskId) !== id; }",
            arg=shown[-1],
        )
        next_task_ms.append(round((time.perf_counter() - t) * 1000, 1))
        shown.append(current_task(page))
    wait_synced(page, timeout=60_000)
    screenshot(page, "workspace-thin-link")

    stored = answers(live_server, project)
    assert sorted(a.task_id for a in stored) == sorted(shown[:10])
    assert len({a.client_id for a in stored}) == 10 and all(a.value["labels"] == ["trouser"] for a in stored)
    assert link.bytes > 0 and any("/display" in url for url, _ in link.requests)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    figures = {
        "link": link.conditions,
        "first_task_s": round(first_task_s, 3),
        "next_task_ms": next_task_ms,
        "bytes_on_the_wire": link.bytes,
        "requests": len(link.requests),
    }
    (ARTIFACTS / "thin-link.json").write_text(json.dumps(figures, indent=1))
    assert page.js_errors == []
