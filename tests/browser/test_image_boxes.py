"""image_boxes in the browser: boxes drawn with the keyboard on a real 2560×1600 photograph, shown zoomed on a
smaller display copy, stored in ORIGINAL pixels; a model's boxes accepted with Enter; limits, undo, mouse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kolam.demo.datasets import iter_photos
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_workspace_core import answers, current_task, next_task_after, open_workspace, start, wait_synced

SCHEMA = {"labels": [{"name": "ladybird", "hotkey": "l"}, {"name": "flower"}]}  # flower gets "1"
PHOTO = "ladybird.jpg"  # Debian mate-backgrounds, 2560 × 1600: bigger than any display copy (≤ 1280)


def photo_folder(tmp_path: Path, name: str = PHOTO) -> tuple[Path, int, int]:
    """One real photograph from the demo data in a fresh folder; returns the folder and its pixel size."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for data, photo in iter_photos():
        if photo.file == name:
            (folder / name).write_bytes(data)
            return folder, photo.width, photo.height
    raise AssertionError(f"{name} is not among the demo photos")


def open_boxes(page, project) -> float:  # type: ignore[no-untyped-def]
    """Open the workspace and wait for the picture; returns screen pixels per original pixel."""
    open_workspace(page, project)
    page.locator(".boxes-stage img[src^='blob:']").wait_for()
    page.wait_for_function("document.querySelector('.boxes-stage img').complete")
    return float(page.locator(".boxes-viewport").get_attribute("data-scale"))


def shown_boxes(page) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The boxes as the overlay holds them (its viewBox is the original's pixel grid)."""
    boxes: list[dict[str, Any]] = page.evaluate(
        """() => [...document.querySelectorAll('.boxes-stage svg .box-rect')].map(r => ({
            x: +r.getAttribute('x'), y: +r.getAttribute('y'),
            w: +r.getAttribute('width'), h: +r.getAttribute('height')}))"""
    )
    return boxes


def on_screen(page, index: int, width: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Box `index` measured on the screen and converted with the picture's on-screen size, independently of
    the interface's own arithmetic."""
    measured: dict[str, float] = page.evaluate(
        """([i, width]) => {
            const img = document.querySelector('.boxes-stage img').getBoundingClientRect();
            const r = document.querySelectorAll('.boxes-stage svg .box-rect')[i].getBoundingClientRect();
            const k = width / img.width;
            return {x: (r.left - img.left) * k, y: (r.top - img.top) * k, w: r.width * k, h: r.height * k};
        }""",
        [index, width],
    )
    return measured


def test_keyboard_only_box_after_zoom_is_stored_in_original_pixels(  # type: ignore[no-untyped-def]
    page, live_server: LiveServer, tmp_path: Path
) -> None:
    project, _ = start(page, live_server, "image_boxes", schema=SCHEMA, instructions="Box every ladybird.")
    folder, width, height = photo_folder(tmp_path)
    live_server.factory.files(project, folder)
    fit = open_boxes(page, project)
    assert fit < 1  # the photo is shown smaller than its original
    assert f"{width}×{height} px original" in page.locator(".boxes-status").inner_text()
    task = current_task(page)
    for key in ("+", "+", "+"):  # zoom 1.5³ = 3.375× around the centre
        page.keyboard.press(key)
    scale = float(page.locator(".boxes-viewport").get_attribute("data-scale"))
    assert scale == pytest.approx(fit * 3.375)
    assert "o loads the original" in page.locator(".boxes-status").inner_text()
    assert page.evaluate("document.querySelector('.boxes-stage img').naturalWidth") < width  # the display copy
    page.keyboard.press("n")  # a new box in the middle of what is visible
    (b0,) = shown_boxes(page)
    # 5 + 10 - 10 + 10 = 15 screen px right, 3 down; Alt+ArrowLeft must not be the browser's "back" here.
    for key in ["ArrowRight"] * 5 + ["ArrowDown"] * 3 + ["Alt+ArrowRight", "Alt+ArrowLeft", "Alt+ArrowRight"]:
        page.keyboard.press(key)
    for key in ["Shift+ArrowRight"] * 4 + ["Shift+ArrowUp"] * 2:  # 4 px wider, 2 px shorter
        page.keyboard.press(key)
    page.keyboard.press("l")
    assert page.url.endswith(f"/projects/{project.id}/work")  # Alt+arrows did not navigate
    expected = {
        "x": b0["x"] + 15 / scale,
        "y": b0["y"] + 3 / scale,
        "w": b0["w"] + 4 / scale,
        "h": b0["h"] - 2 / scale,
    }
    screen = on_screen(page, 0, width)
    for key, value in expected.items():
        assert screen[key] == pytest.approx(value, abs=0.5 / scale + 0.01), key
    assert "1. ladybird" in page.locator(".boxes-item").inner_text()
    # Zoomed past the display copy's detail: "o" swaps in the original; Ctrl+arrows pan. The box stays put.
    page.keyboard.press("o")
    page.wait_for_function(f"document.querySelector('.boxes-stage img').naturalWidth === {width}")
    page.keyboard.press("Control+ArrowLeft")
    page.keyboard.press("Control+ArrowUp")
    screen = on_screen(page, 0, width)
    for key, value in expected.items():
        assert screen[key] == pytest.approx(value, abs=0.5 / scale + 0.01), key
    screenshot(page, "workspace-image_boxes")
    page.keyboard.press("Enter")
    next_task_after(page, task)
    wait_synced(page)
    (stored,) = answers(live_server, project)
    (box,) = stored.value["boxes"]
    assert box["label"] == "ladybird"
    for key, value in expected.items():
        assert box[key] == pytest.approx(value, abs=0.051), key  # rounded to 0.1 original px
    assert box["x"] >= 0 and box["x"] + box["w"] <= width and box["y"] + box["h"] <= height
    assert page.js_errors == []


def test_prediction_shown_and_accepted_with_enter(page, live_server: LiveServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "image_boxes", schema=SCHEMA)
    folder, width, _ = photo_folder(tmp_path)
    live_server.factory.files(project, folder)
    (task_id,) = live_server.factory.task_ids(project)
    predicted = [{"x": 1100.0, "y": 600.0, "w": 420.0, "h": 300.0, "label": "ladybird"}]
    live_server.factory.prediction(project, task_id, {"boxes": predicted}, 0.8)
    open_boxes(page, project)
    assert "80%" in page.locator(".ws-suggestion").inner_text()
    screen = on_screen(page, 0, width)
    for key in ("x", "y", "w", "h"):
        assert screen[key] == pytest.approx(predicted[0][key], abs=2), key
    page.keyboard.press("Enter")
    next_task_after(page, task_id)
    wait_synced(page)
    (stored,) = answers(live_server, project)
    assert stored.value["boxes"] == predicted


def test_limit_delete_undo_and_empty_answer(page, live_server: LiveServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "image_boxes", schema={**SCHEMA, "max_boxes": 1})
    folder, _, _ = photo_folder(tmp_path, "china.jpg")
    (folder / "flower.jpg").write_bytes(next(d for d, p in iter_photos() if p.file == "flower.jpg"))
    live_server.factory.files(project, folder)
    open_boxes(page, project)
    first = current_task(page)
    page.keyboard.press("n")
    page.keyboard.press("n")  # over the project's limit: refused, and said so
    assert "at most 1 box" in page.locator(".boxes-status").inner_text()
    assert len(shown_boxes(page)) == 1
    page.keyboard.press("Delete")
    assert shown_boxes(page) == []
    page.keyboard.press("Control+z")
    assert len(shown_boxes(page)) == 1
    page.keyboard.press("Control+Shift+Z")
    assert shown_boxes(page) == []
    page.keyboard.press("Control+z")
    page.keyboard.press("Enter")
    next_task_after(page, first)
    second = current_task(page)
    page.locator(".boxes-stage img[src^='blob:']").wait_for()
    page.keyboard.press("Enter")  # no boxes: "nothing to box" is an answer
    next_task_after(page, second)
    wait_synced(page)
    stored = {a.task_id: a.value["boxes"] for a in answers(live_server, project)}
    assert len(stored[first]) == 1 and stored[first][0]["label"] == "ladybird"
    assert stored[second] == []
    assert page.js_errors == []


def test_mouse_draw_and_move_after_zoom(page, live_server: LiveServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "image_boxes", schema=SCHEMA)
    folder, width, _ = photo_folder(tmp_path)
    live_server.factory.files(project, folder)
    open_boxes(page, project)
    task = current_task(page)
    page.keyboard.press("+")
    page.keyboard.press("+")
    img = page.locator(".boxes-stage img").bounding_box()
    vp = page.locator(".boxes-viewport").bounding_box()
    k = width / img["width"]
    x0, y0 = vp["x"] + 100, vp["y"] + 80
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 150, y0 + 90, steps=5)
    page.mouse.up()
    page.mouse.move(x0 + 75, y0 + 45)  # grab the middle and move it 40 px right, 20 down
    page.mouse.down()
    page.mouse.move(x0 + 115, y0 + 65, steps=5)
    page.mouse.up()
    handle = page.locator(".handle-se").bounding_box()  # the bottom-right handle: 30 px wider, 20 taller
    hx, hy = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    page.mouse.move(hx, hy)
    page.mouse.down()
    page.mouse.move(hx + 30, hy + 20, steps=5)
    page.mouse.up()
    page.keyboard.press("1")
    expected = {"x": (x0 + 40 - img["x"]) * k, "y": (y0 + 20 - img["y"]) * k, "w": 180 * k, "h": 110 * k}
    page.keyboard.press("Enter")
    next_task_after(page, task)
    wait_synced(page)
    (stored,) = answers(live_server, project)
    (box,) = stored.value["boxes"]
    assert box["label"] == "flower"
    for key, value in expected.items():
        assert box[key] == pytest.approx(value, abs=1.5 * k), key


def test_box_list_and_labels_reachable_by_keyboard(page, live_server: LiveServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "image_boxes", schema=SCHEMA)
    folder, _, _ = photo_folder(tmp_path, "china.jpg")
    live_server.factory.files(project, folder)
    (task_id,) = live_server.factory.task_ids(project)
    predicted = [
        {"x": 10.0, "y": 20.0, "w": 100.0, "h": 50.0, "label": "ladybird"},
        {"x": 300.0, "y": 100.0, "w": 80.0, "h": 120.0, "label": "ladybird"},
    ]
    live_server.factory.prediction(project, task_id, {"boxes": predicted}, 0.5)
    open_boxes(page, project)
    page.wait_for_function("document.activeElement.classList.contains('boxes-viewport')")
    for _ in range(4):  # viewport → label "ladybird" → label "flower" → box 1 → box 2
        page.keyboard.press("Tab")
    focused = page.evaluate("[document.activeElement.className, getComputedStyle(document.activeElement).boxShadow]")
    assert focused[0] == "boxes-item" and focused[1] != "none"  # a visible focus ring
    page.keyboard.press("Space")  # selects box 2
    assert page.locator(".boxes-item[aria-pressed='true']").inner_text().startswith("2.")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")  # the "flower" label button: Space gives the selected box that label
    page.keyboard.press("Space")
    assert page.locator(".boxes-item").nth(1).inner_text().startswith("2. flower")
    page.keyboard.press("[")  # box 1, then delete it; focus stays in the panel
    page.keyboard.press("Delete")
    assert page.locator(".boxes-item").count() == 1
    page.keyboard.press("Escape")  # back to the image (Enter on a button presses that button)
    assert page.evaluate("document.activeElement.classList.contains('boxes-viewport')")
    page.keyboard.press("Enter")
    next_task_after(page, task_id)
    wait_synced(page)
    (stored,) = answers(live_server, project)
    assert stored.value["boxes"] == [{**predicted[1], "label": "flower"}]
    assert page.js_errors == []
