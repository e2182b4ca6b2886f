"""Instructions render a safe subset of Markdown: structure shows, markup in the text never runs."""

from __future__ import annotations

from tests.browser.conftest import LiveServer
from tests.browser.test_workspace_core import open_workspace, start

INSTRUCTIONS = """# Moderation guide
Mark **spam** when it sells something; *abuse* for insults.

* One label per message
* Use `unclear` when unsure
<img src=x onerror="window.__pwned = 1"> and [the policy](https://example.org/policy)"""


def test_instructions_render_markdown_and_no_markup(page, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "text_classes", instructions=INSTRUCTIONS)
    live_server.factory.texts(project, 1)
    open_workspace(page, project)
    box = page.locator(".ws-instructions-text")
    assert box.locator("h3").inner_text() == "Moderation guide"
    assert box.locator("strong").inner_text() == "spam" and box.locator("em").inner_text() == "abuse"
    assert box.locator("li").all_inner_texts() == ["One label per message", "Use unclear when unsure"]
    assert box.locator("a").get_attribute("href") == "https://example.org/policy"
    assert box.locator("img").count() == 0 and '<img src=x onerror="window.__pwned = 1">' in box.inner_text()
    assert page.evaluate("window.__pwned") is None
