"""Reviewing boxes and transcripts: each annotator's boxes drawn over the image in their own colour with the
consensus, transcripts side by side; a correction made in the project's own editor, pre-filled and saved."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, screenshot, sign_in
from tests.browser.quality_data import call

ANSWERS = {
    "image_boxes": [
        {"boxes": [{"x": 10, "y": 10, "w": 40, "h": 30, "label": "car"}], "comment": "is that a car?"},
        {
            "boxes": [
                {"x": 12, "y": 11, "w": 38, "h": 31, "label": "car"},
                {"x": 60, "y": 40, "w": 20, "h": 20, "label": "person"},
            ]
        },
    ],
    "transcription": [
        {"segments": [{"start": 0.0, "end": 1.0, "text": "ek do teen", "language": "hi"}], "comment": "noisy"},
        {"segments": [{"start": 0.0, "end": 1.0, "text": "ek do tin", "language": "hi"}]},
    ],
}


def media_folder(tmp_path: Path, kind: str) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    if kind == "image_boxes":
        from kolam.demo.datasets import iter_photos

        for data, photo in iter_photos(limit=1):
            (folder / photo.file).write_bytes(data)
    else:
        wav = Path(__file__).resolve().parents[1] / "data" / "speech_hi_ginti.wav"
        (folder / wav.name).write_bytes(wav.read_bytes())
    return folder


@pytest.mark.parametrize("kind", ["image_boxes", "transcription"])
def test_review_boxes_and_transcripts(page: Any, live_server: LiveServer, tmp_path: Path, kind: str) -> None:
    org = live_server.org()
    manager = live_server.person(org, "manager")
    project = live_server.factory.project(org, kind, overlap=2, quality={"review_sample": 0.0})
    live_server.factory.files(project, media_folder(tmp_path, kind))
    for value in ANSWERS[kind]:
        person = live_server.person(org)
        (task,) = call(live_server, person, "POST", f"projects/{project.id}/next", params={"count": 1}).json()
        body = {"task_id": task["task_id"], "client_id": str(uuid.uuid4()), "value": value}
        call(live_server, person, "POST", f"projects/{project.id}/annotations", json=body)
    call(live_server, manager, "POST", f"projects/{project.id}/consensus/refresh")
    queue = call(live_server, manager, "GET", f"projects/{project.id}/review").json()
    assert [c["task_id"] for c in queue["items"]] == [task["task_id"]]
    consensus = queue["items"][0]["value"]

    sign_in(page, manager, org)
    page.goto(f"/#/projects/{project.id}/review/{task['task_id']}")
    page.locator("#verdict-accept").wait_for()
    assert page.locator("#answers .answer-card").count() == 3
    if kind == "image_boxes":
        page.wait_for_function("document.querySelector('.overlay-figure img').complete")
        drawn = 1 + 2 + len(consensus["boxes"])
        assert page.locator(".overlay-figure svg rect").count() == drawn
        assert page.locator(".overlay-figure svg rect.consensus").count() == len(consensus["boxes"])
        (listed,) = call(live_server, manager, "GET", f"projects/{project.id}/items").json()["items"]
        if listed["item"].get("width"):  # derived: boxes are drawn in the original's pixels, not the display copy's
            size = f"0 0 {listed['item']['width']} {listed['item']['height']}"
            assert page.locator(".overlay-figure svg").get_attribute("viewBox") == size
        strokes = {page.locator(".overlay-figure svg rect").nth(i).get_attribute("stroke") for i in range(3)}
        assert len(strokes) == 2  # one colour per annotator
        page.locator(".layers input").first.uncheck()
        assert page.locator(".overlay-figure svg rect").count() == drawn - 1
        page.keyboard.press("Escape")  # out of the checkbox: the verdict keys work again
    else:
        assert (
            "ek do teen" in page.locator("#answers").inner_text()
            and "ek do tin" in page.locator("#answers").inner_text()
        )
        assert page.locator(".review-item audio").count() == 1
    screenshot(page, f"review-item-{kind}")
    page.keyboard.press("c")
    page.locator("#review-editor .ws-interface[data-ready]").wait_for()
    screenshot(page, f"review-correct-{kind}")
    page.keyboard.press("Control+Enter")  # the consensus, unchanged, as the reviewer's answer
    page.wait_for_function(f"location.hash === '#/projects/{project.id}/review'")
    after = {c["task_id"]: c for c in call(live_server, manager, "GET", f"projects/{project.id}/consensus").json()}
    assert after[task["task_id"]]["status"] == "reviewed"
    assert page.js_errors == []
