"""Hotkeys follow the key's place when the layout types another character: a Tamil layout left on, or macOS's
Option key, must not switch the annotator's hotkeys off."""

from __future__ import annotations

from pathlib import Path

from tests.browser.conftest import LiveServer
from tests.browser.test_workspace_core import CLASSES, fashion_folder, open_workspace, start

PRESS = """([key, code, alt]) => document.querySelector('.ws-interface [tabindex], .ws-interface button, body')
  .dispatchEvent(new KeyboardEvent('keydown', {key, code, altKey: alt, bubbles: true, cancelable: true}))"""


def test_class_hotkey_with_a_tamil_layout_and_option_letters(page, live_server: LiveServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "image_classes", schema=CLASSES)
    live_server.factory.files(project, fashion_folder(tmp_path, 1))
    open_workspace(page, project)
    page.evaluate(PRESS, ["௨", "Digit2", False])  # Tamil digit two on the "2" key: class "trouser"
    assert page.locator(".class-button[aria-pressed='true']").inner_text().endswith("trouser")
    page.evaluate(PRESS, ["Í", "KeyS", False])  # not a hotkey as typed, and no binding on plain "s": nothing
    assert page.locator(".class-button[aria-pressed='true']").inner_text().endswith("trouser")
    page.evaluate(PRESS, ["ந", "Digit1", False])
    assert page.locator(".class-button[aria-pressed='true']").inner_text().endswith("top")
