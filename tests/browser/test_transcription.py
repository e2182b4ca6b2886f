"""transcription in the browser: real speech (pytest-audioeval's Hindi counting clip), played and segmented with
hotkeys while the text box keeps the focus, Devanagari and Tamil typed as an input method commits them, and
the segments stored with NFC text, times and languages."""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import pytest

from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_workspace_core import answers, current_task, next_task_after, open_workspace, start, wait_synced

CLIP = Path(__file__).resolve().parents[1] / "data" / "speech_hi_ginti.wav"  # 3.61 s, "एक दो तीन … दस."
SCHEMA = {"languages": ["ta", "hi", "en"]}
HINDI = "एक दो तीन चार पांच"
# "six … ten" in Tamil, plus சொல் written with the decomposed vowel sign ொ (U+0BC6 U+0BBE), as some input
# methods produce it: the server must store the composed form (U+0BCA).
TAMIL_TYPED = "ஆறு ஏழு எட்டு ஒன்பது பத்து ச\u0bc6\u0bbeல்"


def clip_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "speech"
    folder.mkdir()
    shutil.copy(CLIP, folder / CLIP.name)
    return folder


def open_transcription(page, project) -> float:  # type: ignore[no-untyped-def]
    """Open the workspace and wait for the player; returns the clip's duration as the browser knows it."""
    open_workspace(page, project)
    page.locator(".iface-tx .seg-text").first.wait_for()
    page.wait_for_function("document.activeElement?.classList.contains('seg-text')")  # ready to type at once
    return float(page.evaluate("document.querySelector('.iface-tx audio').duration"))


def audio_time(page) -> float:  # type: ignore[no-untyped-def]
    return float(page.evaluate("document.querySelector('.iface-tx audio').currentTime"))


def focused_segment(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.evaluate("document.activeElement.closest('.seg').dataset.index"))


def test_keyboard_only_transcript_in_two_scripts(page, live_server: LiveServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "transcription", schema=SCHEMA, instructions="Write what is said.")
    live_server.factory.files(project, clip_folder(tmp_path))
    duration = open_transcription(page, project)
    assert duration == pytest.approx(3.61, abs=0.1)
    task = current_task(page)
    text = page.locator(".seg-text").first
    assert text.get_attribute("spellcheck") == "false"

    # Play while the text box has the focus: the hotkey works while typing and types nothing.
    page.keyboard.press("Control+Space")
    page.wait_for_function("document.querySelector('.iface-tx audio').currentTime > 0.5")
    page.keyboard.press("Alt+p")
    paused_at = audio_time(page)
    assert page.evaluate("document.querySelector('.iface-tx audio').paused")
    assert 0.5 < paused_at < duration and text.input_value() == ""
    page.keyboard.press("Alt+ArrowDown")  # slower: 0.75×
    assert page.locator(".tx-rate").inner_text() == "0.75×"

    # Segment 1 starts where playback stopped and ends 2 s later; a new segment starts there.
    page.keyboard.press("Alt+[")
    for key in ("Alt+ArrowRight", "Alt+ArrowLeft", "Alt+ArrowRight"):  # +2 s −2 s +2 s
        page.keyboard.press(key)
    assert page.url.endswith(f"/projects/{project.id}/work")  # Alt+ArrowLeft was not the browser's "back"
    split = audio_time(page)
    assert split == pytest.approx(min(paused_at + 2, duration), abs=0.01)
    page.keyboard.press("Alt+]")
    page.keyboard.press("Alt+n")
    assert page.locator(".seg").count() == 2 and focused_segment(page) == 1
    page.keyboard.insert_text(TAMIL_TYPED)  # what an IME commits
    assert page.locator(".seg-text").nth(1).get_attribute("lang") == "ta"

    # Back to segment 1: Devanagari text, and its language set to Hindi from the keyboard.
    page.keyboard.press("Alt+k")
    assert focused_segment(page) == 0
    page.keyboard.insert_text(HINDI)
    page.keyboard.press("Shift+Tab")  # delete, play, then the language
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.classList.contains('seg-lang')")
    page.keyboard.type("h")  # type-ahead picks "hi"
    assert page.locator(".seg-text").first.get_attribute("lang") == "hi"
    screenshot(page, "workspace-transcription")
    page.keyboard.press("Control+Enter")
    next_task_after(page, task)
    wait_synced(page)

    (stored,) = answers(live_server, project)
    first, second = stored.value["segments"]
    assert first["text"] == HINDI and first["language"] == "hi"
    assert first["start"] == pytest.approx(paused_at, abs=0.002)
    assert first["end"] == pytest.approx(split, abs=0.002)
    assert second["text"] == unicodedata.normalize("NFC", TAMIL_TYPED) and second["language"] == "ta"
    assert "\u0bca" in second["text"] and "\u0bc6\u0bbe" not in second["text"]
    assert second["start"] == pytest.approx(split, abs=0.002)
    assert second["end"] == pytest.approx(duration, abs=0.05)
    assert page.js_errors == []


def test_draft_transcript_accepted_and_empty_text_refused(page, live_server: LiveServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "transcription", schema=SCHEMA)
    live_server.factory.files(project, clip_folder(tmp_path))
    (task_id,) = live_server.factory.task_ids(project)
    draft = [
        {"start": 0.1, "end": 1.9, "text": "एक दो तीन चार पांच", "language": "hi"},
        {"start": 1.9, "end": 3.5, "text": "छह सात आठ नौ दस", "language": "hi"},
    ]
    live_server.factory.prediction(project, task_id, {"segments": draft}, 0.6)
    open_transcription(page, project)
    assert page.locator(".seg-text").nth(1).input_value() == draft[1]["text"]
    # Alt+L plays segment 1 on a loop: past 1.5 s it comes back to its start (0.1 s) instead of running on.
    page.keyboard.press("Alt+l")
    audio = "document.querySelector('.iface-tx audio')"
    page.wait_for_function(f"{audio}.currentTime > 1.5")
    page.wait_for_function(f"{audio}.currentTime < 1.0 && !{audio}.paused", timeout=5000)
    page.keyboard.press("Alt+l")  # again: stop
    assert page.evaluate(f"{audio}.paused")
    # Segment 2 emptied: Enter is refused with a message, and the task stays.
    page.keyboard.press("Alt+j")
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.press("Control+Enter")
    page.locator("#toast.error").wait_for()
    assert "Segment 2 has no text" in page.locator("#toast").inner_text()
    page.keyboard.press("Alt+Delete")  # no second segment after all
    assert page.locator(".seg").count() == 1
    page.keyboard.press("Control+Enter")
    next_task_after(page, task_id)
    wait_synced(page)
    (stored,) = answers(live_server, project)
    assert stored.value["segments"] == [draft[0]]


def test_peaks_computed_in_the_browser_match_the_servers(page, live_server: LiveServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The fallback for items without a peaks file (URL-only audio) draws the same waveform the job makes."""
    project, _ = start(page, live_server, "transcription", schema=SCHEMA)
    live_server.factory.files(project, clip_folder(tmp_path))
    open_transcription(page, project)
    ours, theirs = page.evaluate(
        """async (projectId) => {
            const [task] = await (await fetch(`/api/v1/projects/${projectId}/leases`)).json();
            const server = await (await fetch(task.item.peaks_url)).json();
            const { computePeaks } = await import('/static/js/interfaces/waveform.js');
            const blob = await (await fetch(task.item.content_url)).blob();
            return [await computePeaks(blob, server.rate), server];
        }""",
        project.id,
    )
    assert ours["duration"] == pytest.approx(theirs["duration"], abs=0.02)
    assert abs(len(ours["peaks"]) - len(theirs["peaks"])) <= 1
    pairs = list(zip(ours["peaks"], theirs["peaks"], strict=False))
    assert max(p for p, _ in pairs) == pytest.approx(max(q for _, q in pairs), abs=0.02)
    assert sum(abs(p - q) for p, q in pairs) / len(pairs) < 0.02
