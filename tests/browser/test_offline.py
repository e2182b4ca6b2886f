"""Offline-first, as the issue asks: lease a batch, lose the link mid-batch, answer 10 tasks, reload the page
while offline (the service worker brings the workspace back with its tasks and outbox), come back online:
all 10 answers stored exactly once."""

from __future__ import annotations

import time
from pathlib import Path

from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_workspace_core import (
    CLASSES,
    answers,
    current_task,
    fashion_folder,
    next_task_after,
    open_workspace,
    start,
    wait_synced,
)


def wait_until(page, script: str, arg: object = None, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    """Poll an async page function (wait_for_function does not await the promises it gets)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script, arg):
        assert time.monotonic() < deadline, f"timed out waiting for {script}"
        page.wait_for_timeout(200)


SHELL_READY = """async () => {
  if (!navigator.serviceWorker.controller) return false;
  const shell = await caches.open('kolam-shell-v1');
  return !!(await shell.match('/')) && !!(await shell.match('/static/js/workspace.js'))
    && !!(await shell.match('/static/js/interfaces/image_classes.js'));
}"""
MEDIA_READY = "async n => (await (await caches.open('kolam-media-v1')).keys()).length >= n"


def test_offline_batch_reload_and_sync(page, context, live_server: LiveServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "image_classes", schema=CLASSES)
    live_server.factory.files(project, fashion_folder(tmp_path, 20))
    open_workspace(page, project)
    wait_until(page, SHELL_READY)
    wait_until(page, MEDIA_READY, 20)  # the whole batch's images are on the laptop
    page.get_by_text("20 in batch").wait_for()

    context.set_offline(True)
    answered: dict[int, str] = {}
    keys = {"1": "top", "2": "trouser", "3": "shoe"}
    for i in range(10):
        task = current_task(page)
        page.locator(".ic-image[src^='blob:']").wait_for()
        key = "123"[i % 3]
        page.keyboard.press(key)
        page.keyboard.press("Enter")
        next_task_after(page, task)
        answered[task] = keys[key]
    status = page.locator("#net-status")
    assert "Offline" in status.inner_text() and "10 to sync" in status.inner_text()
    assert answers(live_server, project) == []

    page.reload()  # offline: the shell comes from the service worker, tasks and outbox from IndexedDB
    page.locator(".ws-interface[data-ready] .ic-image[src^='blob:']").wait_for()
    assert current_task(page) not in answered
    assert "10 in batch" in page.locator(".ws-counts").inner_text()
    assert "10 to sync" in status.inner_text() and "offline" in (status.get_attribute("class") or "")
    screenshot(page, "workspace-offline-reloaded")

    context.set_offline(False)
    wait_synced(page, timeout=30_000)
    assert "Online" in status.inner_text() and "0 to sync" in status.inner_text()
    stored = answers(live_server, project)
    assert len(stored) == 10
    assert len({a.client_id for a in stored}) == 10
    assert {a.task_id: a.value["labels"][0] for a in stored} == answered
    assert all(a.counted for a in stored)
    assert page.js_errors == []
