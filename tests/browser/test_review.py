"""The review flow in a real browser, by keyboard only: the queue, an item accepted, one corrected with the
project's own class picker, one rejected with a note; then the verdicts checked through the API and database."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kolam.store.tables import Review
from tests.browser.conftest import LiveServer, screenshot, sign_in
from tests.browser.quality_data import call, review_project

ITEM_HASH = r"/^#\/projects\/\d+\/review\/\d+$/"


def open_item_task_id(page: Any) -> int:
    page.wait_for_function(f"{ITEM_HASH}.test(location.hash)")
    page.locator("#verdict-accept").wait_for()
    return int(page.evaluate("location.hash.split('/').pop()"))


def test_review_flow_by_keyboard(page: Any, live_server: LiveServer) -> None:
    org = live_server.org()
    manager = live_server.person(org, "manager")
    project = review_project(live_server, org, manager)
    queue = call(live_server, manager, "GET", f"projects/{project.id}/review").json()
    assert sum(queue["counts"].values()) == 3

    sign_in(page, manager, org)
    page.goto(f"/#/projects/{project.id}/review")
    rows = page.locator("#review-queue tbody tr")
    rows.first.wait_for()
    assert rows.count() == 3
    assert "(3)" in page.locator("#review-reasons button[data-reason=all]").inner_text()
    screenshot(page, "review-queue")
    page.keyboard.press("j")
    assert page.locator("#review-queue tr.current").get_attribute("data-task-id") == str(queue["items"][1]["task_id"])
    page.keyboard.press("k")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")

    # 1: accept
    accepted = open_item_task_id(page)
    assert accepted == queue["items"][0]["task_id"]
    assert page.locator("#answers .answer-card").count() == 3  # the consensus and two annotators
    assert page.locator("#consensus dd[data-key=confidence]").inner_text().endswith("%")
    assert page.locator("#posterior tbody tr").count() >= 1
    page.keyboard.press("?")
    page.locator("#hotkey-help").wait_for()
    assert "Accept the consensus" in page.locator("#hotkey-help").inner_text()
    page.keyboard.press("Escape")
    screenshot(page, "review-item")
    page.keyboard.press("a")

    # 2: correct with a new class, in the project's own interface
    page.wait_for_function(f"location.hash.endsWith('/review/{accepted}') === false")
    corrected = open_item_task_id(page)
    page.keyboard.press("c")
    page.locator("#review-editor .ws-interface[data-ready]").wait_for()
    editor = page.locator("#review-editor")
    assert editor.locator(".class-button[aria-pressed=true]").count() == 1  # pre-filled with the consensus
    page.keyboard.press("3")  # abuse
    assert editor.locator(".class-button[data-label=abuse]").get_attribute("aria-pressed") == "true"
    screenshot(page, "review-correct")
    page.keyboard.press("Control+Enter")

    # 3: reject with a note
    page.wait_for_function(f"location.hash.endsWith('/review/{corrected}') === false")
    rejected = open_item_task_id(page)
    page.keyboard.press("n")
    page.keyboard.type("all answers missed the link")
    page.keyboard.press("Escape")
    page.keyboard.press("r")
    page.wait_for_function(f"location.hash === '#/projects/{project.id}/review'")
    page.locator("#review-status", has_text="Nothing waits for review").wait_for()

    consensus = {c["task_id"]: c for c in call(live_server, manager, "GET", f"projects/{project.id}/consensus").json()}
    assert consensus[accepted]["status"] == "reviewed" and consensus[accepted]["confidence"] == 1.0
    assert consensus[corrected]["value"]["labels"] == ["abuse"] and consensus[corrected]["status"] == "reviewed"
    assert consensus[rejected]["review_state"] == "none"
    with live_server.db.read() as s:
        verdicts = {
            r.task_id: (r.verdict, r.note) for r in s.scalars(sa.select(Review).where(Review.project_id == project.id))
        }
    assert verdicts == {
        accepted: ("accept", ""),
        corrected: ("correct", ""),
        rejected: ("reject", "all answers missed the link"),
    }
    items = call(live_server, manager, "GET", f"projects/{project.id}/items").json()["items"]
    reopened = next(i for i in items if i["item"]["id"] == rejected)
    assert reopened["task"]["state"] == "open"
    assert page.js_errors == []
