"""Manager pages in a real browser: a project made with the keyboard, its schema edited, a file imported,
the dashboard after answers, members, items; and the client's viewer, who sees dashboards and exports only.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.browser.conftest import LiveServer, screenshot, sign_in
from tests.factories import Person


def tab_to(page: Any, selector: str, limit: int = 60) -> None:  # the keyboard's way to a control: Tab
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def api(server: LiveServer, person: Person, method: str, path: str, **kwargs: Any) -> Any:
    r = httpx.request(method, f"{server.url}/api/v1/{path}", headers=person.headers, timeout=30, **kwargs)
    assert r.status_code < 300, r.text
    return r.json()


def answer_some(server: LiveServer, person: Person, project_id: int, times: list[int]) -> None:
    leased = api(server, person, "POST", f"projects/{project_id}/next", params={"count": len(times)})
    batch = [
        {"task_id": t["task_id"], "client_id": str(uuid.uuid4()), "value": {"labels": ["ok"]}, "time_spent_ms": ms}
        for t, ms in zip(leased, times, strict=True)
    ]
    results = api(server, person, "POST", f"projects/{project_id}/annotations/batch", json={"annotations": batch})
    assert all(r["ok"] for r in results["results"])


def create_project_with_keyboard(page: Any) -> int:
    page.locator("#projects, .page-head").first.wait_for()
    page.keyboard.press("n")
    page.wait_for_function("location.hash === '#/projects/new'")
    page.wait_for_function("document.activeElement.name === 'name'")
    page.keyboard.type("Moderation batch")
    page.keyboard.press("Tab")
    page.keyboard.type("Text")  # the select's type-ahead picks "Text classes (moderation)"
    assert page.evaluate("document.activeElement.value") == "text_classes"
    page.keyboard.press("Tab")
    page.keyboard.type("Flag abuse; highlight the words.")
    page.keyboard.press("Tab")
    page.keyboard.type("2")  # overlap (Tab selected the old value)
    tab_to(page, "input[name=required_skills]")
    page.keyboard.type("ta")
    tab_to(page, ".schema-row input.label-name")
    page.keyboard.type("ok")
    tab_to(page, "#add-label")
    page.keyboard.press("Enter")
    page.keyboard.type("abuse")
    page.keyboard.press("Enter")  # Enter in a text field submits the form
    page.wait_for_function("/^#\\/projects\\/\\d+\\/import$/.test(location.hash)")
    return int(page.evaluate("location.hash.split('/')[2]"))


def edit_schema_with_keyboard(page: Any, project_id: int) -> None:
    page.goto(f"/#/projects/{project_id}/edit")
    page.locator("#project-form").wait_for()
    # an error from the API lands next to the field it names
    tab_to(page, "input[name=overlap]")
    page.keyboard.type("99")
    page.keyboard.press("Enter")
    error = page.locator("input[name=overlap] + .field-error")
    error.wait_for()
    assert "overlap" in error.inner_text()
    assert page.evaluate("document.activeElement.name") == "overlap"  # the focus went to the field at fault
    page.keyboard.press("Control+a")
    page.keyboard.type("2")
    tab_to(page, "#add-label")
    page.keyboard.press("Enter")
    page.keyboard.type("spam")
    page.keyboard.press("Tab")  # its hotkey, suggested as 3
    page.keyboard.type("s")
    tab_to(page, "button[aria-label='Move policy label 3 up']")
    page.keyboard.press("Enter")  # spam moves above abuse
    tab_to(page, "#schema-json-toggle", limit=80)
    page.keyboard.press("Enter")
    raw = json.loads(page.locator("#schema-json").input_value())
    assert [c["name"] for c in raw["classes"]] == ["ok", "spam", "abuse"]
    page.keyboard.press("Shift+Tab")  # back to the toggle: the form again
    page.keyboard.press("Enter")
    page.locator(".schema-row").first.wait_for()
    screenshot(page, "manager-project-edit")
    page.locator("input[name=name]").focus()
    page.keyboard.press("Enter")
    page.locator("#form-status", has_text="schema version 2").wait_for()


def test_manager_pages(page: Any, live_server: LiveServer, tmp_path: Path) -> None:
    org = live_server.org()
    manager = live_server.person(org, "manager")
    sign_in(page, manager, org)
    project_id = create_project_with_keyboard(page)
    project = api(live_server, manager, "GET", f"projects/{project_id}")
    assert (project["kind"], project["overlap"], project["required_skills"]) == ("text_classes", 2, ["ta"])
    assert [(c["name"], c.get("hotkey")) for c in project["schema"]["classes"]] == [("ok", "1"), ("abuse", "2")]
    assert project["schema"]["multi_label"] is True and project["schema"]["spans"] is True

    edit_schema_with_keyboard(page, project_id)
    project = api(live_server, manager, "GET", f"projects/{project_id}")
    assert [(c["name"], c.get("hotkey")) for c in project["schema"]["classes"]] == [
        ("ok", "1"),
        ("spam", "s"),
        ("abuse", "2"),
    ]

    # import: a .jsonl of 40 texts and one duplicate line; progress runs to done, then the report
    source = tmp_path / "posts.jsonl"
    lines = [{"id": f"post-{i}", "text": f"post number {i}"} for i in range(40)] + [
        {"id": "again", "text": "post number 3"}
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in lines))
    page.goto(f"/#/projects/{project_id}/import")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "fine"}\n{"text": \n')
    page.locator("#import-file").set_input_files(str(broken))
    page.locator("#import-start").focus()
    page.keyboard.press("Enter")
    failure = page.locator("#import-error, #import-report")  # refused at once, or failed in the background
    failure.wait_for()
    assert "line 2" in failure.inner_text()
    page.locator("#import-file").set_input_files(str(source))
    page.locator("#import-start").focus()
    page.keyboard.press("Enter")
    page.locator("#import-report").wait_for()
    assert "done" in page.locator("#import-status").inner_text()
    assert page.locator("#import-summary").inner_text().startswith("41 records read · 40 items created · 1 duplicates")
    assert "posts.jsonl line 41" in page.locator("#import-duplicates tbody").inner_text()
    screenshot(page, "manager-import")

    a, b = (live_server.person(org, "annotator", ("ta",)) for _ in range(2))
    answer_some(live_server, a, project_id, [1200, 3000, 1800])
    answer_some(live_server, b, project_id, [2500, 900])
    page.goto(f"/#/projects/{project_id}")
    page.locator("#annotators").wait_for()
    assert page.locator("#card-answers .big").inner_text() == "5"
    chart = page.locator(".chart svg[role=img]")
    assert "5 in all" in (chart.get_attribute("aria-label") or "")
    assert page.locator(".chart .sr-only tbody tr").count() == 48
    rows = page.locator("#annotators tbody tr")
    assert rows.count() == 2
    assert a.email in rows.nth(0).inner_text()
    formats = api(live_server, manager, "GET", "export-formats")
    assert page.locator("#exports a").count() == len(formats)
    href = page.locator("#exports a").first.get_attribute("href")
    assert href and href.startswith(f"/api/v1/projects/{project_id}/export?format=")
    screenshot(page, "manager-dashboard")

    page.goto("/#/")
    row = page.locator(f"#projects tr[data-project-id='{project_id}']")
    row.wait_for()
    assert "2 of 40 done" in row.inner_text()
    assert {"Dashboard", "Start working", "Items", "Import", "Edit", "Export"} <= set(
        row.locator("a").all_inner_texts()
    )
    screenshot(page, "manager-projects")

    page.goto("/#/members")
    page.locator("#add-member").wait_for()
    new_email = f"newcomer-{uuid.uuid4().hex[:6]}@example.org"
    page.get_by_label("E-mail").fill(new_email)
    page.get_by_label("Role", exact=True).select_option("reviewer")
    page.get_by_label("Skills", exact=True).fill("ta, hi")
    page.get_by_label("E-mail").press("Enter")
    password = page.locator("#new-password").inner_text()
    assert len(password) >= 8
    page.locator("#members tr", has_text=new_email).wait_for()
    members = api(live_server, manager, "GET", "members")
    added = next(m for m in members if m["email"] == new_email)
    assert (added["role"], added["skills"]) == ("reviewer", ["hi", "ta"])
    login = httpx.post(f"{live_server.url}/api/v1/auth/login", json={"email": new_email, "password": password})
    assert login.status_code == 200, login.text
    page.get_by_label(f"Role of {new_email}").select_option("annotator")
    page.get_by_role("button", name=f"Save {new_email}").click()
    page.wait_for_function("(e) => document.getElementById('toast').textContent.includes(e)", arg=new_email)
    assert (
        next(m for m in api(live_server, manager, "GET", "members") if m["email"] == new_email)["role"] == "annotator"
    )
    screenshot(page, "manager-members")

    page.goto(f"/#/projects/{project_id}/items")
    page.locator("article.item").first.wait_for()
    assert page.locator("article.item").count() == 25
    page.locator("#load-more").click()
    page.wait_for_function("document.querySelectorAll('article.item').length === 40")
    assert page.locator("#load-more").is_hidden()
    page.locator("#item-filters select[name=annotator]").select_option(str(a.actor.user_id))
    page.locator("#item-filters button[type=submit]").click()
    page.wait_for_function("document.querySelectorAll('article.item').length === 3")
    assert a.email in page.locator("article.item").first.inner_text()
    screenshot(page, "manager-items")
    assert page.js_errors == []


def test_viewer_sees_dashboards_and_exports_only(page: Any, live_server: LiveServer) -> None:
    org = live_server.org()
    project = live_server.factory.project(org, "text_classes")
    live_server.factory.texts(project, 3)
    annotator = live_server.person(org)
    answer_some(live_server, annotator, project.id, [1500])
    viewer = live_server.person(org, "viewer")
    sign_in(page, viewer, org)
    row = page.locator(f"#projects tr[data-project-id='{project.id}']")
    row.wait_for()
    links = row.locator("a").all_inner_texts()
    assert "Dashboard" in links and "Export" in links
    assert not {"Edit", "Import", "Items", "Start working"} & set(links)
    assert "Members" not in page.locator("#nav").inner_text()
    assert page.locator("#new-project").count() == 0
    page.keyboard.press("n")  # no "new project" key for a viewer
    assert page.evaluate("location.hash") in ("", "#/")
    row.get_by_role("link", name=project.name, exact=True).click()
    page.locator("#annotators").wait_for()
    assert page.locator(".chart svg[role=img]").count() == 1
    assert f"a{annotator.actor.user_id}" in page.locator("#annotators").inner_text()
    assert annotator.email not in page.locator("#annotators").inner_text()
    assert page.locator("#exports a").count() >= 1
    assert page.locator("nav.tabs a").all_inner_texts() == ["Dashboard", "Quality"]
    page.goto(f"/#/projects/{project.id}/edit")
    page.locator("p.error[role=alert]").wait_for()
    assert page.locator("#project-form").count() == 0
    assert page.js_errors == []


def test_schema_editor_per_kind_and_raw_json(page: Any, live_server: LiveServer) -> None:
    org = live_server.org()
    manager = live_server.person(org, "manager")
    sign_in(page, manager, org)
    made = {}
    for kind, fill in [
        ("transcription", lambda: page.locator("#schema-languages").fill("ta, hi, en")),
        ("image_boxes", lambda: page.get_by_label("Box label 1 name").fill("car")),
    ]:
        page.goto("/#/projects/new")
        page.locator("input[name=name]").fill(f"{kind} project")
        page.locator("select[name=kind]").select_option(kind)
        fill()
        page.locator("#save-project").click()
        page.wait_for_function("/^#\\/projects\\/\\d+\\/import$/.test(location.hash)")
        made[kind] = int(page.evaluate("location.hash.split('/')[2]"))
    speech = api(live_server, manager, "GET", f"projects/{made['transcription']}")
    assert speech["schema"]["languages"] == ["ta", "hi", "en"]
    boxes = api(live_server, manager, "GET", f"projects/{made['image_boxes']}")
    assert [label["name"] for label in boxes["schema"]["labels"]] == ["car"]

    # the raw schema: edited as JSON and saved as it stands; a bad hotkey is reported at the schema
    page.goto(f"/#/projects/{made['image_boxes']}/edit")
    page.locator("#schema-json-toggle").click()
    raw = json.loads(page.locator("#schema-json").input_value())
    raw["labels"].append({"name": "person", "hotkey": "P"})
    page.locator("#schema-json").fill(json.dumps(raw))
    page.locator("#save-project").click()
    page.locator("fieldset.schema + .field-error").wait_for()
    raw["labels"][-1]["hotkey"] = "p"
    page.locator("#schema-json").fill(json.dumps(raw))
    page.locator("#save-project").click()
    page.locator("#form-status", has_text="schema version 2").wait_for()
    boxes = api(live_server, manager, "GET", f"projects/{made['image_boxes']}")
    assert [(label["name"], label.get("hotkey")) for label in boxes["schema"]["labels"]] == [
        ("car", "1"),
        ("person", "p"),
    ]
    assert page.js_errors == []
