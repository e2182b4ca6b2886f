"""The workspace around every interface: skip with a reason, unclear, comments, the hotkey overlay, the empty
queue, and an answer the server refuses staying visible. Helpers here are shared by the interface tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from kolam.demo.datasets import iter_fashion_mnist
from kolam.store.tables import Annotation, Lease, Organization, Project
from tests.browser.conftest import LiveServer, screenshot, sign_in
from tests.factories import Person

CLASSES = {"classes": [{"name": "top", "hotkey": "1"}, {"name": "trouser", "hotkey": "2"}, {"name": "shoe"}]}


def fashion_folder(tmp_path: Path, n: int) -> Path:
    """n real Fashion-MNIST images as PNG files in a fresh folder."""
    folder = tmp_path / "images"
    folder.mkdir()
    for png, _name, index in iter_fashion_mnist(limit=n):
        (folder / f"fm-{index:05d}.png").write_bytes(png)
    return folder


def answers(live_server: LiveServer, project: Project) -> list[Annotation]:
    with live_server.db.read() as s:
        rows = s.scalars(sa.select(Annotation).where(Annotation.project_id == project.id).order_by(Annotation.id))
        out = list(rows)
        s.expunge_all()
        return out


def skipped(live_server: LiveServer, project: Project) -> list[Lease]:
    with live_server.db.read() as s:
        rows = list(s.scalars(sa.select(Lease).where(Lease.project_id == project.id, Lease.status == "skipped")))
        s.expunge_all()
        return rows


def open_workspace(page, project: Project) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"/#/projects/{project.id}/work")
    page.locator(".ws-interface[data-ready]").first.wait_for()


def current_task(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.locator(".ws-interface").get_attribute("data-task-id"))


def next_task_after(page, task_id: int) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(
        "id => { const el = document.querySelector('.ws-interface[data-ready], .ws-empty');"
        " return el && (!el.dataset.taskId || Number(el.dataset.taskId) !== id); }",
        arg=task_id,
    )


def wait_synced(page, timeout: float = 20_000) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function("document.getElementById('net-status').dataset.pending === '0'", timeout=timeout)


def start(page, live_server: LiveServer, kind: str = "image_classes", **kw: Any) -> tuple[Project, Person]:  # type: ignore[no-untyped-def]
    org = live_server.org()
    person = live_server.person(org, "annotator")
    project = live_server.factory.project(org, kind, **kw)
    sign_in(page, person, org)
    # Let the projects page finish rendering first, so leaving it disposes of its hotkeys.
    page.get_by_role("heading", name="Projects").wait_for()
    return project, person


def test_skip_with_reason_unclear_and_comment(page, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "text_classes")
    live_server.factory.texts(project, 3)
    open_workspace(page, project)
    first = current_task(page)
    page.keyboard.press("Shift+S")
    dialog = page.get_by_role("dialog", name="Skip this task")
    dialog.wait_for()
    assert page.evaluate("document.activeElement.id") == "skip-reason"
    page.keyboard.type("Not my language")
    page.keyboard.press("Enter")
    next_task_after(page, first)
    second = current_task(page)
    # Unclear with no class chosen, and a comment typed after Shift+C; Ctrl+Enter submits from the field.
    page.keyboard.press("Shift+U")
    assert page.locator(".ws-unclear").get_attribute("aria-pressed") == "true"
    page.keyboard.press("Shift+C")
    page.keyboard.type("half in Hindi, half in Tamil")
    page.keyboard.press("Control+Enter")
    next_task_after(page, second)
    wait_synced(page)
    page.wait_for_function("() => true")
    stored = answers(live_server, project)
    assert [(a.task_id, a.value["unclear"], a.value["comment"]) for a in stored] == [
        (second, True, "half in Hindi, half in Tamil")
    ]
    skips = skipped(live_server, project)
    assert [(lease.task_id, lease.skip_reason) for lease in skips] == [(first, "Not my language")]
    assert page.js_errors == []


def test_hotkey_overlay_lists_workspace_and_interface_keys(page, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "text_classes")
    live_server.factory.texts(project, 1)
    open_workspace(page, project)
    page.keyboard.press("?")
    overlay = page.get_by_role("dialog", name="Hotkeys")
    overlay.wait_for()
    text = overlay.inner_text()
    for words in ("Submit the answer", "Skip this task", "unclear", "instructions", "ok", "spam", "abuse"):
        assert words in text
    screenshot(page, "workspace-hotkeys")
    page.keyboard.press("Escape")
    overlay.wait_for(state="detached")


def test_empty_queue_says_no_work(page, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "text_classes")
    page.goto(f"/#/projects/{project.id}/work")
    page.get_by_text("No work for you right now").wait_for()
    live_server.factory.texts(project, 1)
    page.get_by_role("button", name="Check now").focus()
    page.keyboard.press("Space")
    page.locator(".ws-interface[data-ready]").wait_for()


def test_refused_answer_stays_in_the_outbox(page, context, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    """Offline past the lease while a colleague answers the task: the server keeps the answer but says it does
    not count, and the workspace shows that (with the server's words) instead of dropping it."""
    project, _ = start(page, live_server, "text_classes", lease_seconds=10)
    live_server.factory.texts(project, 1)
    open_workspace(page, project)
    task_id = current_task(page)
    context.set_offline(True)
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.get_by_text("No work for you right now").or_(page.get_by_text("Offline, and this batch is done")).wait_for()
    page.wait_for_timeout(11_000)  # the lease (10 s) runs out
    with live_server.db.read() as s:
        org_id = s.get(Project, project.id).org_id  # type: ignore[union-attr]
    colleague = live_server.factory.person(_org(live_server, org_id), "annotator")
    url = live_server.url + "/api/v1"
    leased = httpx.post(f"{url}/projects/{project.id}/next", headers=colleague.headers).json()
    assert [t["task_id"] for t in leased] == [task_id]
    body = {"task_id": task_id, "client_id": "colleague-answer-1", "value": {"labels": ["ok"]}}
    assert httpx.post(f"{url}/projects/{project.id}/annotations", json=body, headers=colleague.headers).is_success
    context.set_offline(False)
    refused = page.locator(".ws-attention li.refused")
    refused.wait_for()
    assert "does not count" in refused.inner_text()
    assert "1 refused" in page.locator("#net-status").inner_text()
    page.reload()
    page.locator(".ws-attention li.refused").wait_for()
    screenshot(page, "workspace-refused-answer")
    stored = answers(live_server, project)
    assert sorted((a.value["labels"][0], a.counted) for a in stored) == [("ok", True), ("spam", False)]
    page.get_by_role("button", name="Dismiss").click()
    refused.wait_for(state="detached")


def test_late_answer_still_counts_and_is_reported(page, context, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "text_classes", lease_seconds=10)
    live_server.factory.texts(project, 2)
    open_workspace(page, project)
    context.set_offline(True)
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_timeout(11_000)
    context.set_offline(False)
    page.get_by_text("1 answer arrived after their lease ended").wait_for()
    wait_synced(page)
    (stored,) = answers(live_server, project)
    assert stored.late and stored.counted
    assert page.locator(".ws-interface").count() == 1  # still on the second task


def _org(live_server: LiveServer, org_id: int) -> Organization:
    with live_server.db.read() as s:
        org = s.get(Organization, org_id)
        assert org is not None
        s.expunge(org)
        return org


def test_reload_online_resumes_the_same_batch(page, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "text_classes")
    live_server.factory.texts(project, 4)
    open_workspace(page, project)
    first = current_task(page)
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    next_task_after(page, first)
    second = current_task(page)
    page.reload()
    page.locator(".ws-interface[data-ready]").wait_for()
    assert current_task(page) == second
    page.get_by_text("3 in batch").wait_for()
    wait_synced(page)
    with live_server.db.read() as s:
        held = s.scalar(sa.select(sa.func.count()).where(Lease.project_id == project.id, Lease.status == "active"))
    assert held == 3


def test_batch_is_topped_up_when_few_remain(page, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "text_classes", schema={"classes": [{"name": "ok"}], "spans": False})
    live_server.factory.texts(project, 26)
    open_workspace(page, project)
    page.get_by_text("20 in batch").wait_for()
    for _ in range(15):
        task = current_task(page)
        page.locator(f".ws-interface[data-task-id='{task}'] .class-button").wait_for()
        page.keyboard.press("1")
        page.keyboard.press("Enter")
        next_task_after(page, task)
    page.get_by_text("11 in batch").wait_for()  # 5 left, then the 6 the queue still had
    wait_synced(page)
    assert len(answers(live_server, project)) == 15
