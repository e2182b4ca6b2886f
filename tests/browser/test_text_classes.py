"""text_classes (moderation) in the browser: classes by key, spans marked with the keyboard and the mouse in
Tamil, Hindi and emoji text, offsets stored as Python counts them (code points)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_workspace_core import (
    answers,
    current_task,
    next_task_after,
    open_workspace,
    start,
    wait_synced,
)

TEXT = "வணக்கம் 👋 नमस्ते, buy cheap spam"
POLICY = {
    "classes": [
        {"name": "ok", "hotkey": "1", "description": "Nothing against the policy"},
        {"name": "spam", "hotkey": "2", "description": "Selling or scams"},
        {"name": "abuse", "hotkey": "3"},
    ],
    "multi_label": True,
    "spans": True,
}


def _texts(live_server: LiveServer, project, tmp_path: Path, texts: list[str]) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "texts.jsonl"
    path.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
    live_server.factory.files(project, path)


def test_keyboard_only_classes_and_spans(page, live_server: LiveServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "text_classes", schema=POLICY, instructions="Mark spam and abuse.")
    _texts(live_server, project, tmp_path, [TEXT, "second text"])
    open_workspace(page, project)
    task = current_task(page)
    assert page.locator(".tc-text").inner_text() == TEXT
    page.wait_for_function("document.activeElement.classList.contains('tc-text')")  # focus starts on the text
    page.keyboard.press("2")  # spam
    page.keyboard.press("End")
    for _ in range(4):
        page.keyboard.press("Shift+ArrowLeft")  # "spam", behind a Tamil word, an emoji and Hindi
    page.keyboard.press("h")
    page.keyboard.press("3")  # abuse, then mark the first (Tamil) word with it
    page.keyboard.press("Control+Home")
    page.keyboard.press("Control+Shift+ArrowRight")
    page.keyboard.press("h")
    items = page.locator(".tc-spans li")
    assert items.count() == 2
    screenshot(page, "workspace-text_classes")
    page.keyboard.press("Enter")
    next_task_after(page, task)
    wait_synced(page)
    (stored,) = answers(live_server, project)
    start_spam = TEXT.index("spam")
    assert stored.value["labels"] == ["spam", "abuse"]
    assert stored.value["spans"] == [
        {"start": 0, "end": len("வணக்கம்"), "label": "abuse"},
        {"start": start_spam, "end": start_spam + 4, "label": "spam"},
    ]
    assert page.js_errors == []


def test_mouse_selection_delete_and_undo(page, live_server: LiveServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "text_classes", schema=POLICY)
    _texts(live_server, project, tmp_path, [TEXT])
    open_workspace(page, project)
    task = current_task(page)
    # Select "नमस्ते" with the mouse (a real DOM selection, as a drag makes), then mark it.
    page.evaluate(
        """word => {
          const el = document.querySelector('.tc-text');
          const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
          let node = walker.nextNode();
          while (node && !node.data.includes(word)) node = walker.nextNode();
          const at = node.data.indexOf(word);
          const range = document.createRange();
          range.setStart(node, at); range.setEnd(node, at + word.length);
          getSelection().removeAllRanges(); getSelection().addRange(range);
          el.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
        }""",
        "नमस्ते",
    )
    page.keyboard.press("2")
    page.keyboard.press("h")
    assert page.locator(".tc-spans li").count() == 1
    page.get_by_role("button", name="Delete span 1: spam").press("Enter")
    assert page.locator(".tc-spans li").count() == 0
    page.locator(".tc-text").focus()
    page.keyboard.press("Control+z")  # the span is back
    assert page.locator(".tc-spans li").count() == 1
    page.keyboard.press("Enter")
    next_task_after(page, task)
    wait_synced(page)
    (stored,) = answers(live_server, project)
    at = TEXT.index("नमस्ते")
    assert stored.value["spans"] == [{"start": at, "end": at + len("नमस्ते"), "label": "spam"}]


def test_prediction_with_spans_accepted_with_enter(page, live_server: LiveServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "text_classes", schema=POLICY)
    _texts(live_server, project, tmp_path, [TEXT])
    (task_id,) = live_server.factory.task_ids(project)
    at = TEXT.index("spam")
    suggested = {"labels": ["spam"], "spans": [{"start": at, "end": at + 4, "label": "spam"}]}
    live_server.factory.prediction(project, task_id, suggested, 0.64)
    open_workspace(page, project)
    assert "64%" in page.locator(".ws-suggestion").inner_text()
    assert page.locator(".tc-text mark").inner_text() == "spam"
    page.keyboard.press("Enter")
    next_task_after(page, task_id)
    wait_synced(page)
    (stored,) = answers(live_server, project)
    assert stored.value["labels"] == suggested["labels"] and stored.value["spans"] == suggested["spans"]
