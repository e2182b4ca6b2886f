"""Accessibility on every screen: each control has a name a screen reader can say, Tab reaches the controls,
and the focused control is visibly marked (outline or focus ring)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import LiveServer, sign_in
from tests.browser.test_workspace_core import CLASSES, fashion_folder

CONTROLS = 'button, input, select, textarea, a[href], [tabindex]:not([tabindex="-1"])'
UNNAMED = """selector => [...document.querySelectorAll(selector)]
  .filter(el => el.offsetParent !== null && el.type !== 'hidden')
  .filter(el => {
    const label = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.title
      || (el.labels && el.labels.length);
    const text = ['BUTTON', 'A'].includes(el.tagName) ? el.textContent.trim() : '';
    return !(label || text);
  })
  .map(el => el.outerHTML.slice(0, 120))"""

FOCUS_MARK = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || (s.boxShadow && s.boxShadow !== 'none');
  return {tag: el.tagName, ring, html: el.outerHTML.slice(0, 80)};
}"""


def tab_through(page, presses: int = 25) -> list[dict]:  # type: ignore[no-untyped-def]
    seen = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        mark = page.evaluate(FOCUS_MARK)
        if mark:
            seen.append(mark)
    return seen


def check_screen(page) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate(UNNAMED, CONTROLS) == []
    marks = tab_through(page)
    assert len(marks) >= 3, "Tab reaches hardly anything"
    unmarked = [m["html"] for m in marks if not m["ring"]]
    assert not unmarked, f"focused without a visible mark: {unmarked}"


@pytest.mark.parametrize("kind", ["image_classes", "text_classes", "image_boxes", "transcription"])
def test_workspace_controls_are_named_reachable_and_marked(
    page, live_server: LiveServer, tmp_path: Path, kind: str
) -> None:  # type: ignore[no-untyped-def]
    org = live_server.org()
    person = live_server.person(org)
    project = live_server.factory.project(org, kind, **({"schema": CLASSES} if kind == "image_classes" else {}))
    if kind == "image_classes":
        live_server.factory.files(project, fashion_folder(tmp_path, 2))
    elif kind == "text_classes":
        live_server.factory.texts(project, 2)
    elif kind == "image_boxes":
        from kolam.demo.datasets import iter_photos

        folder = tmp_path / "photos"
        folder.mkdir()
        for data, photo in iter_photos(limit=1):
            (folder / photo.file).write_bytes(data)
        live_server.factory.files(project, folder)
    else:
        wav = Path(__file__).resolve().parents[1] / "data" / "speech_hi_ginti.wav"
        folder = tmp_path / "clips"
        folder.mkdir()
        (folder / wav.name).write_bytes(wav.read_bytes())
        live_server.factory.files(project, folder)
    sign_in(page, person, org)
    page.get_by_role("heading", name="Projects").wait_for()
    page.goto(f"/#/projects/{project.id}/work")
    page.locator(".ws-interface[data-ready]").wait_for()
    check_screen(page)


@pytest.mark.parametrize("route", ["#/", "#/projects/new", "#/members", "#/projects/{id}", "#/projects/{id}/edit",
                                   "#/projects/{id}/import", "#/projects/{id}/items"])  # fmt: skip
def test_manager_pages_are_named_reachable_and_marked(page, live_server: LiveServer, route: str) -> None:  # type: ignore[no-untyped-def]
    org = live_server.org()
    manager = live_server.person(org, "manager")
    project = live_server.factory.project(org, "text_classes")
    live_server.factory.texts(project, 3)
    sign_in(page, manager, org)
    page.get_by_role("heading", name="Projects").wait_for()
    page.goto("/" + route.format(id=project.id))
    page.locator("#view h1").first.wait_for()
    page.wait_for_load_state("networkidle")
    check_screen(page)


@pytest.mark.parametrize("route", ["#/projects/{id}/review", "#/projects/{id}/review/{task}", "#/projects/{id}/quality",
                                   "#/projects/{id}/gold"])  # fmt: skip
def test_quality_pages_are_named_reachable_and_marked(page, live_server: LiveServer, route: str) -> None:  # type: ignore[no-untyped-def]
    from tests.browser.quality_data import call, review_project

    org = live_server.org()
    manager = live_server.person(org, "manager")
    project = review_project(live_server, org, manager)
    task = call(live_server, manager, "GET", f"projects/{project.id}/review").json()["items"][0]["task_id"]
    sign_in(page, manager, org)
    page.get_by_role("heading", name="Projects").wait_for()
    page.goto("/" + route.format(id=project.id, task=task))
    page.locator("#view h2").first.wait_for()
    page.wait_for_load_state("networkidle")
    check_screen(page)


def test_review_correction_editor_is_named_reachable_and_marked(page, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    from tests.browser.quality_data import call, review_project

    org = live_server.org()
    manager = live_server.person(org, "manager")
    project = review_project(live_server, org, manager)
    task = call(live_server, manager, "GET", f"projects/{project.id}/review").json()["items"][0]["task_id"]
    sign_in(page, manager, org)
    page.get_by_role("heading", name="Projects").wait_for()
    page.goto(f"/#/projects/{project.id}/review/{task}")
    page.locator("#verdict-accept").wait_for()
    page.keyboard.press("c")
    page.locator("#review-editor .ws-interface[data-ready]").wait_for()
    check_screen(page)
