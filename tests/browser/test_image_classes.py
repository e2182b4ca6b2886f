"""image_classes in the browser: keyboard-only answers on real Fashion-MNIST images, stored in the database."""

from __future__ import annotations

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


def test_keyboard_only_single_label(page, live_server: LiveServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "image_classes", schema=CLASSES, instructions="Pick what the item is.")
    live_server.factory.files(project, fashion_folder(tmp_path, 3))
    open_workspace(page, project)
    page.locator(".ic-image[src^='blob:']").wait_for()
    assert page.locator(".class-button kbd").all_inner_texts() == ["1", "2", "3"]
    first = current_task(page)
    page.keyboard.press("2")
    page.keyboard.press("1")  # single-label: the second key replaces the first
    assert page.locator(".class-button[aria-pressed='true']").inner_text().endswith("top")
    screenshot(page, "workspace-image_classes")
    page.keyboard.press("Enter")
    next_task_after(page, first)
    second = current_task(page)
    page.locator(f".ws-interface[data-task-id='{second}'] .ic-image[src^='blob:']").wait_for()
    page.keyboard.press("Enter")  # nothing chosen: refused on the spot, the task stays
    page.locator("#toast.error").wait_for()
    assert current_task(page) == second
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    next_task_after(page, second)
    wait_synced(page)
    stored = answers(live_server, project)
    assert [(a.task_id, a.value["labels"]) for a in stored] == [(first, ["top"]), (second, ["shoe"])]
    assert all(a.time_spent_ms is not None and a.time_spent_ms >= 0 for a in stored)
    assert page.js_errors == []


def test_multi_label_toggle_and_undo(page, live_server: LiveServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    schema = {**CLASSES, "multi_label": True}
    project, _ = start(page, live_server, "image_classes", schema=schema)
    live_server.factory.files(project, fashion_folder(tmp_path, 1))
    open_workspace(page, project)
    task = current_task(page)
    for key in ("1", "2", "3", "2"):  # toggle on, on, on, off
        page.keyboard.press(key)
    page.keyboard.press("Control+z")  # undo the last toggle: trouser is back
    pressed = page.locator(".class-button[aria-pressed='true']").all_inner_texts()
    assert [p.split()[-1] for p in pressed] == ["top", "trouser", "shoe"]
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    next_task_after(page, task)
    wait_synced(page)
    (stored,) = answers(live_server, project)
    assert stored.value["labels"] == ["trouser", "shoe"]


def test_prediction_is_accepted_with_enter(page, live_server: LiveServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "image_classes", schema=CLASSES)
    live_server.factory.files(project, fashion_folder(tmp_path, 1))
    (task_id,) = live_server.factory.task_ids(project)
    live_server.factory.prediction(project, task_id, {"labels": ["trouser"]}, confidence=0.87)
    open_workspace(page, project)
    suggestion = page.locator(".ws-suggestion")
    assert "87%" in suggestion.inner_text()
    assert page.locator(".class-button[aria-pressed='true']").inner_text().endswith("trouser")
    page.keyboard.press("Enter")
    next_task_after(page, task_id)
    wait_synced(page)
    (stored,) = answers(live_server, project)
    assert stored.value["labels"] == ["trouser"]


def test_unclear_with_or_without_a_class(page, live_server: LiveServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Shift+U then Enter sends "can't tell"; with a class chosen, the class goes along as a best guess."""
    project, _ = start(page, live_server, "image_classes", schema=CLASSES)
    live_server.factory.files(project, fashion_folder(tmp_path, 2))
    open_workspace(page, project)
    first = current_task(page)
    page.keyboard.press("Enter")
    assert "Choose a class" in page.locator("#toast.error").inner_text()  # not unclear: a class is needed
    page.keyboard.press("Shift+U")
    page.keyboard.press("Enter")
    next_task_after(page, first)
    second = current_task(page)
    page.keyboard.press("Shift+U")
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    next_task_after(page, second)
    wait_synced(page)
    stored = {a.task_id: a.value for a in answers(live_server, project)}
    assert stored[first]["labels"] == [] and stored[first]["unclear"] is True
    assert stored[second]["labels"] == ["shoe"] and stored[second]["unclear"] is True
