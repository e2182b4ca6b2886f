"""The quality report (numbers as in its JSON; pseudonyms for the client's viewer), the quality settings form,
and the gold page, in a real browser."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import LiveServer, screenshot, sign_in
from tests.browser.quality_data import MODERATION, call, report_project
from tests.browser.test_manager_pages import tab_to


def pct(p: float) -> str:
    return f"{100 * p:.1f}".rstrip("0").rstrip(".") + " %"


def test_quality_report_matches_its_json(page: Any, live_server: LiveServer) -> None:
    org = live_server.org()
    manager = live_server.person(org, "manager")
    project, contrarian = report_project(live_server, org, manager)
    report = call(live_server, manager, "GET", f"projects/{project.id}/quality").json()

    sign_in(page, manager, org)
    page.goto(f"/#/projects/{project.id}/quality")
    page.locator("#quality[aria-busy=false]").wait_for()
    assert page.locator("#q-settled .big").inner_text() == str(report["summary"]["items_settled"])
    assert page.locator("#q-answers .big").inner_text() == str(report["summary"]["answers"])
    gold = report["gold"]
    assert gold["answers"] == 3 and gold["correct"] == 2
    assert f"{gold['correct']} of {gold['answers']} answers" in page.locator("#quality-gold").inner_text()
    bar = page.locator("#quality-gold .ci").first.get_attribute("aria-label") or ""
    assert pct(gold["accuracy"]) in bar and pct(gold["interval"][0]) in bar and pct(gold["interval"][1]) in bar
    assert page.locator(".chart .sr-only tbody tr").count() == len(report["consensus"]["histogram"])
    assert page.locator("#quality-annotators tbody tr").count() == len(report["annotators"])
    assert contrarian.email in page.locator("#quality-annotators").inner_text()
    cells = page.locator("#confusion td[data-row=spam][data-col=abuse]")
    i, j = report["confusion"]["classes"].index("spam"), report["confusion"]["classes"].index("abuse")
    assert cells.inner_text() == str(report["confusion"]["counts"][i][j])
    policy = page.locator("#quality-policy").inner_text()
    assert "Consensus: " in policy and "0 % of settled items are sampled" in policy and "no test" in policy
    page.locator("#refresh-consensus").click()
    page.locator("#refresh-status", has_text="Consensus refreshed").wait_for()
    screenshot(page, "quality-report")

    viewer = live_server.person(org, "viewer")
    page.context.clear_cookies()
    page.evaluate("localStorage.clear()")
    sign_in(page, viewer, org)
    page.goto(f"/#/projects/{project.id}/quality")
    page.locator("#quality[aria-busy=false]").wait_for()
    names = page.locator("#quality-annotators tbody th").all_inner_texts()
    assert f"a{contrarian.actor.user_id}" in names
    assert all(n.startswith("a") and "@" not in n for n in names)
    assert page.locator("#refresh-consensus").count() == 0 and page.locator("button.resume").count() == 0
    assert page.locator("#q-settled .big").inner_text() == str(report["summary"]["items_settled"])
    screenshot(page, "quality-report-viewer")
    assert page.js_errors == []


def test_quality_settings_form(page: Any, live_server: LiveServer) -> None:
    org = live_server.org()
    manager = live_server.person(org, "manager")
    project = live_server.factory.project(org, "text_classes", MODERATION, overlap=2)
    live_server.factory.texts(project, 2)
    sign_in(page, manager, org)
    page.goto(f"/#/projects/{project.id}/edit")
    page.locator("#quality-settings").wait_for()
    quality = call(live_server, manager, "GET", f"projects/{project.id}").json()["quality"]
    assert page.locator("select[name='quality.method']").input_value() == quality["method"]
    tab_to(page, "select[name='quality.method']", limit=120)
    page.keyboard.type("mace")
    tab_to(page, "input[name='quality.adaptive']")
    page.keyboard.press("Space")
    tab_to(page, "input[name='quality.max_overlap']")
    page.keyboard.type("1")  # below the project's overlap of 2: the API refuses it
    page.keyboard.press("Enter")
    error = page.locator("input[name='quality.max_overlap'] + .field-error")
    error.wait_for()
    assert "max_overlap" in error.inner_text()
    assert page.evaluate("document.activeElement.name") == "quality.max_overlap"
    screenshot(page, "quality-settings-error")
    page.keyboard.press("Control+a")
    page.keyboard.type("4")
    tab_to(page, "input[name='quality.qualification.enabled']")
    page.keyboard.press("Space")
    tab_to(page, "input[name='quality.qualification.items']")
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    page.locator("#form-status", has_text="Saved").wait_for()
    quality = call(live_server, manager, "GET", f"projects/{project.id}").json()["quality"]
    assert (quality["method"], quality["adaptive"], quality["max_overlap"]) == ("mace", True, 4)
    assert quality["qualification"]["enabled"] is True and quality["qualification"]["items"] == 3
    page.reload()
    page.locator("#quality-settings").wait_for()
    assert page.locator("select[name='quality.method']").input_value() == "mace"
    assert page.locator("input[name='quality.max_overlap']").input_value() == "4"


def test_gold_page(page: Any, live_server: LiveServer) -> None:
    org = live_server.org()
    manager = live_server.person(org, "manager")
    project = live_server.factory.project(org, "text_classes", MODERATION)
    live_server.factory.texts(project, 4, prefix="post")
    sign_in(page, manager, org)
    page.goto(f"/#/projects/{project.id}/gold")
    page.locator("#gold-count", has_text="0 gold items").wait_for()
    page.locator("#gold-input").focus()
    lines = [
        '{"external_id": "post-0", "value": {"labels": ["spam"]}}',
        "",
        '{"external_id": "post-1", "value": {"labels": ["cow"]}}',
    ]
    page.locator("#gold-input").fill("\n".join(lines))
    tab_to(page, "#gold-save")
    page.keyboard.press("Enter")
    error = page.locator("#gold-input + #gold-error")
    error.wait_for()
    page.wait_for_function("document.getElementById('gold-error').textContent.length > 0")
    assert "Line 3" in error.inner_text() and "gold[1]" in error.inner_text() and "cow" in error.inner_text()
    assert page.locator("#gold-input").get_attribute("aria-invalid") == "true"
    screenshot(page, "gold-error")
    page.locator("#gold-input").fill("\n".join([lines[0], '{"external_id": "post-1", "value": {"labels": ["ok"]}}']))
    page.locator("#gold-save").focus()
    page.keyboard.press("Enter")
    page.locator("#gold-count", has_text="2 gold items").wait_for()
    assert page.locator("#gold-list tbody tr").count() == 2
    listed = call(live_server, manager, "GET", f"projects/{project.id}/gold").json()
    assert sorted(g["value"]["labels"][0] for g in listed) == ["ok", "spam"]
    screenshot(page, "gold")
    page.locator("#gold-list button").first.click()
    page.locator("#gold-count", has_text="1 gold item.").wait_for()
    assert len(call(live_server, manager, "GET", f"projects/{project.id}/gold").json()) == 1
