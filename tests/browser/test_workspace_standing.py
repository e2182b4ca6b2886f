"""The workspace and the annotator's standing: the qualification test's banner counts answers as they reach the
server, and a paused annotator is told why (not shown an error) until a manager resumes them from the report."""

from __future__ import annotations

import uuid
from typing import Any

from tests.browser.conftest import LiveServer, screenshot, sign_in
from tests.browser.quality_data import MODERATION, call


def test_qualification_banner_counts_the_test(page: Any, live_server: LiveServer) -> None:
    org = live_server.org()
    manager = live_server.person(org, "manager")
    quality = {"qualification": {"enabled": True, "items": 3, "pass_accuracy": 0.6}}
    project = live_server.factory.project(org, "text_classes", MODERATION, quality=quality)
    live_server.factory.texts(project, 6, prefix="post")
    gold = [{"external_id": f"post-{i}", "value": {"labels": ["ok"]}} for i in range(4)]
    call(live_server, manager, "PUT", f"projects/{project.id}/gold", json={"gold": gold})
    annotator = live_server.person(org)

    sign_in(page, annotator, org)
    page.goto(f"/#/projects/{project.id}/work")
    page.locator(".ws-interface[data-ready]").wait_for()
    banner = page.locator(".ws-standing")
    banner.filter(has_text="Qualification test: 0 of 3 answered").wait_for()
    assert "60 % correct needed" in banner.inner_text()
    screenshot(page, "workspace-qualification")
    page.keyboard.press("1")  # ok
    page.keyboard.press("Enter")
    banner.filter(has_text="1 of 3 answered").wait_for()
    standing = call(live_server, annotator, "GET", f"projects/{project.id}/standing").json()
    assert (standing["status"], standing["answered"]) == ("testing", 1)
    assert page.js_errors == []


def test_paused_annotator_is_told_why_and_resumed_from_the_report(page: Any, live_server: LiveServer) -> None:
    org = live_server.org()
    manager = live_server.person(org, "manager")
    quality = {"floor_accuracy": 0.7, "floor_min_gold": 2}
    project = live_server.factory.project(org, "text_classes", MODERATION, gold_ratio=0.5, quality=quality)
    live_server.factory.texts(project, 10, prefix="post")
    gold = [{"external_id": f"post-{i}", "value": {"labels": ["ok"]}} for i in range(10)]
    call(live_server, manager, "PUT", f"projects/{project.id}/gold", json={"gold": gold})
    sloppy = live_server.person(org)
    for _ in range(10):  # every item is gold, every answer wrong: paused after two
        leased = call(live_server, sloppy, "POST", f"projects/{project.id}/next", ok=False, params={"count": 1})
        if leased.status_code == 403:
            break
        for task in leased.json():
            body = {"task_id": task["task_id"], "client_id": str(uuid.uuid4()), "value": {"labels": ["spam"]}}
            call(live_server, sloppy, "POST", f"projects/{project.id}/annotations", json=body)
    refused = call(live_server, sloppy, "POST", f"projects/{project.id}/next", ok=False, params={"count": 1})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "paused"

    sign_in(page, sloppy, org)
    page.goto(f"/#/projects/{project.id}/work")
    panel = page.locator(".ws-refusal[data-code=paused]")
    panel.wait_for()
    assert "You are paused on this project" in panel.inner_text()
    assert "below the floor of 70%" in panel.inner_text()
    page.locator(".ws-standing", has_text="Paused").wait_for()
    screenshot(page, "workspace-paused")
    assert page.js_errors == []

    page.context.clear_cookies()
    page.evaluate("localStorage.clear()")
    sign_in(page, manager, org)
    page.goto(f"/#/projects/{project.id}/quality")
    resume = page.locator("button.resume")
    resume.wait_for()
    resume.focus()
    page.keyboard.press("Enter")
    page.locator("#quality-annotators", has_text="active").wait_for()
    assert page.locator("button.resume").count() == 0
    assert call(live_server, sloppy, "POST", f"projects/{project.id}/next", params={"count": 1}).status_code == 200
