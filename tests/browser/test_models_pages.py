"""The model in the loop in a real browser, with a real model: Fashion-MNIST images answered by people train
the packaged encoder's head (POST …/models/train), and the pages show what it learnt — the models page, the
quality report's confused pairs with the managers' notes, those notes in the annotator's workspace, and the
project form's Learning settings."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

pytest.importorskip("onnxruntime")

from kolam.demo.datasets import iter_fashion_mnist
from kolam.services import model_versions, resolve
from kolam.services.assignment import lease_tasks
from kolam.services.submissions import Submission, submit
from kolam.store.tables import Item, Organization, Prediction, Project, Task
from tests.browser.conftest import LiveServer, screenshot, sign_in
from tests.browser.quality_data import MODERATION, call
from tests.browser.test_accessibility import check_screen
from tests.browser.test_manager_pages import tab_to
from tests.browser.test_workspace_core import current_task, next_task_after, open_workspace
from tests.factories import Person

# Four classes, three of them easily mixed up: a small head trains in seconds and still confuses something.
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Shirt"]
IMAGES, GOLD, FIRST, LATER = 96, 12, 48, 24  # the rest stays open for the workspace
INSTALL = "pip install 'kolam[ml]'"


@dataclass
class Trained:
    org: Organization
    manager: Person
    project: Project
    truth: dict[int, str]  # item id → its true class


def _answer(server: LiveServer, person: Person, project: Project, truth: dict[int, str], count: int) -> None:
    """An annotator answers `count` tasks with their true class, through the services (no job is queued)."""
    with server.db.write() as s:
        leased = lease_tasks(s, person.actor, project.id, count=count)
    assert len(leased) == count
    for task in leased:
        with server.db.write() as s:
            submit(
                s,
                person.actor,
                project.id,
                Submission(task.task_id, str(uuid.uuid4()), {"labels": [truth[task.task_id]]}),
            )
    resolve.resolve_project(server.db, project.id)


@pytest.fixture(scope="module")
def trained(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """A trained version: FIRST answers train it, its background pre-labelling predicts every item, then LATER
    answers settle items it predicted before seeing them (its mistakes there are the report's examples)."""
    folder = tmp_path_factory.mktemp("fashion4")
    by_hash: dict[str, str] = {}
    for png, label, index in iter_fashion_mnist(limit=400):
        if label in CLASSES and len(by_hash) < IMAGES:
            (folder / f"fm-{index:05d}.png").write_bytes(png)
            by_hash[hashlib.sha256(png).hexdigest()] = label
    org = live_server.org()
    manager, annotator = live_server.person(org, "manager"), live_server.person(org)
    learning = {"min_train_items": 20, "auto_accept": {"target_precision": 0.6, "min_support": 10}}
    schema = {"classes": [{"name": c} for c in CLASSES]}
    project = live_server.factory.project(org, "image_classes", schema, overlap=1, learning=learning)
    live_server.factory.files(project, folder)
    with live_server.db.read() as s:
        rows = s.execute(sa.select(Item.id, Item.content_hash).where(Item.project_id == project.id)).all()
    truth = {r.id: by_hash[r.content_hash] for r in rows}
    gold = [{"item_id": i, "value": {"labels": [truth[i]]}} for i in sorted(truth)[:GOLD]]
    call(live_server, manager, "PUT", f"projects/{project.id}/gold", json={"gold": gold})
    _answer(live_server, annotator, project, truth, FIRST)
    out = call(live_server, manager, "POST", f"projects/{project.id}/models/train", params={"background": "false"})
    assert out.json()["result"]["status"] == "active", out.text
    deadline = time.monotonic() + 60
    while True:  # promotion queued a pre-labelling run in the server's job consumer
        status = call(live_server, manager, "GET", f"projects/{project.id}/models/status").json()
        if status["predicted"] >= status["items"]:
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.5)
    _answer(live_server, annotator, project, truth, LATER)
    return Trained(org, manager, project, truth)


def open_pairs(server: LiveServer, project: Project) -> Counter[tuple[str, str]]:
    """How many open tasks the model places between each pair of classes (its two likeliest)."""
    with server.db.read() as s:
        rows = s.execute(
            sa.select(Prediction.task_id, Prediction.distribution)
            .join(Task, Task.item_id == Prediction.task_id)
            .where(Prediction.project_id == project.id, Prediction.model_id.is_not(None), Task.state == "open")
        ).all()
    pairs: Counter[tuple[str, str]] = Counter()
    for row in rows:
        if not row.distribution or len(row.distribution) < 2:
            continue
        a, b = (k for k, _ in sorted(row.distribution.items(), key=lambda kv: -kv[1])[:2])
        pairs[(a, b) if a < b else (b, a)] += 1
    return pairs


def tasks_in_pair(server: LiveServer, project: Project, pair: tuple[str, str]) -> set[int]:
    with server.db.read() as s:
        rows = s.execute(
            sa.select(Prediction.task_id, Prediction.distribution).where(
                Prediction.project_id == project.id, Prediction.model_id.is_not(None)
            )
        ).all()
    return {
        r.task_id
        for r in rows
        if r.distribution and tuple(sorted(sorted(r.distribution, key=lambda k: -r.distribution[k])[:2])) == pair
    }


def test_models_page_shows_the_active_version_its_confusion_and_auto_accept(
    page: Any, live_server: LiveServer, trained: Trained
) -> None:
    pid = trained.project.id
    status = call(live_server, trained.manager, "GET", f"projects/{pid}/models/status").json()
    versions = call(live_server, trained.manager, "GET", f"projects/{pid}/models").json()
    active = status["active"]
    sign_in(page, trained.manager, trained.org)
    page.get_by_role("heading", name="Projects").wait_for()
    page.goto(f"/#/projects/{pid}")
    page.locator("nav.tabs a", has_text="Model").click()  # linked from the project's tab bar
    page.locator("#models[aria-busy=false]").wait_for()
    assert page.locator("#h-active").inner_text() == f"Active model: version {active['version']}"
    facts = page.locator("#model-active").inner_text()
    gold = active["metrics"]["gold"]
    assert f"({gold['correct']} of {gold['n']})" in facts and "lower bound" in facts
    assert f"on {active['training']['items']} items settled by people" in facts
    semi = active["metrics"].get("semi_supervised")
    if semi is None:
        assert "off (or nothing unlabelled to learn from)" in facts
    elif semi["used"]:
        assert f"{semi['pseudo_labels']} unlabelled items where the model and its neighbours agree" in facts
    else:
        assert "not used: cross-validated" in facts
    assert page.locator("#ml-extra").count() == 0  # the ml extra is installed here
    assert page.locator("#model-versions tbody tr").count() == len(versions)
    assert (
        page.locator(f"#model-versions tr[data-version='{active['version']}'] .status")
        .inner_text()
        .startswith("active")
    )
    assert page.locator(f"#model-versions tr[data-version='{active['version']}'] button.promote").count() == 0
    for i, people in enumerate(active["classes"]):
        for j, model in enumerate(active["classes"]):
            cell = page.locator(f"#model-confusion td[data-row='{people}'][data-col='{model}']")
            assert cell.inner_text() == str(active["confusion"][i][j])
    assert sum(map(sum, active["confusion"])) == active["training"]["items"]
    assert (
        page.locator("#auto-accept-classes tbody tr").count() == len(status["auto_accept"]["classes"]) == len(CLASSES)
    )
    assert "Off:" in page.locator("#auto-accept-policy").inner_text()
    assert "retrains after 200 more items" in page.locator("#model-policy").inner_text()
    screenshot(page, "models-page")
    check_screen(page)

    # a server without the ml extra says what is off and how to install it
    def without_extra(route: Any) -> None:
        body = route.fetch().json()
        off = ["image and box pre-labelling"]
        body["ml_extra"] = {"installed": False, "missing": ["onnxruntime"], "features_off": off, "install": INSTALL}
        route.fulfill(json=body)

    page.route("**/models/status", without_extra)
    page.reload()
    page.locator("#ml-extra").wait_for()
    assert "image and box pre-labelling" in page.locator("#ml-extra").inner_text()
    assert page.locator("#ml-install").inner_text() == INSTALL
    screenshot(page, "models-page-no-extra")
    assert page.js_errors == []

    page.unroute("**/models/status")
    viewer = live_server.person(trained.org, "viewer")  # reads the page, acts on nothing
    page.context.clear_cookies()
    page.evaluate("localStorage.clear()")
    sign_in(page, viewer, trained.org)
    page.goto(f"/#/projects/{pid}/models")
    page.locator("#models[aria-busy=false]").wait_for()
    assert page.locator("#h-active").inner_text() == f"Active model: version {active['version']}"
    assert page.locator("#train-now, #prelabel-now, button.promote, #model-policy a").count() == 0


def test_quality_report_shows_confused_pairs_and_saves_a_note(
    page: Any, live_server: LiveServer, trained: Trained
) -> None:
    pid = trained.project.id
    pairs = call(live_server, trained.manager, "GET", f"projects/{pid}/quality").json()["confused_pairs"]
    assert pairs and pairs[0]["model"] is not None  # the model confuses something among shirts and tops
    sign_in(page, trained.manager, trained.org)
    page.goto(f"/#/projects/{pid}/quality")
    page.locator("#quality[aria-busy=false]").wait_for()
    entries = page.locator("#confused-pairs li.pair")
    assert entries.count() == len(pairs)
    first = pairs[0]
    model_row = entries.first.locator("tr[data-side=model] td")
    assert model_row.nth(0).inner_text() == str(first["model"]["count"])
    assert model_row.nth(2).inner_text() == str(first["model"]["first_as_second"])
    with_examples = [i for i, p in enumerate(pairs) if p["examples"]]
    assert with_examples, "items settled after the model predicted them should show its mistakes"
    example = pairs[with_examples[0]]["examples"][0]
    assert trained.truth[example["item_id"]] == example["people"] != example["model"]

    a, b = first["classes"]
    editor = page.get_by_label(f"Note for annotators on {a} vs {b}", exact=True)
    editor.focus()
    page.keyboard.type("Buttons down the front and a collar: the shirt.")
    page.keyboard.press("Control+Enter")
    entries.first.locator(".note-status", has_text="Saved").wait_for()
    notes = call(live_server, trained.manager, "GET", f"projects/{pid}/guidelines").json()
    assert {"classes": sorted([a, b]), "note": "Buttons down the front and a collar: the shirt."} in notes
    screenshot(page, "quality-confused-pairs")
    check_screen(page)

    link = entries.nth(with_examples[0]).locator(f"a[href$='/review/{example['item_id']}']")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(f"location.hash === '#/projects/{pid}/review/{example['item_id']}'")
    page.locator("#verdict-accept").wait_for()
    page.go_back()
    page.locator("#quality[aria-busy=false]").wait_for()
    assert page.get_by_label(f"Note for annotators on {a} vs {b}", exact=True).input_value().startswith("Buttons down")
    assert page.js_errors == []


def test_workspace_shows_the_note_on_a_task_between_the_two_classes(
    page: Any, live_server: LiveServer, trained: Trained
) -> None:
    pair, _ = open_pairs(live_server, trained.project).most_common(1)[0]
    note = f"Between {pair[0]} and {pair[1]}: look at the sleeves."
    guideline = {"classes": list(pair), "note": note}
    call(live_server, trained.manager, "PUT", f"projects/{trained.project.id}/guidelines", json=guideline)
    in_pair = tasks_in_pair(live_server, trained.project, pair)
    sign_in(page, live_server.person(trained.org), trained.org)
    page.get_by_role("heading", name="Projects").wait_for()
    open_workspace(page, trained.project)
    panel = page.locator(".ws-guidelines")
    for _ in range(IMAGES - FIRST - LATER):  # every task still open
        task = current_task(page)
        if task in in_pair:
            break
        page.keyboard.press("Enter")  # accept the model's suggestion and move on
        next_task_after(page, task)
    else:
        raise AssertionError(f"no open task the model places between {pair}")
    panel.wait_for()
    assert note in panel.inner_text()
    assert panel.locator(f"li[data-pair='{pair[0]}|{pair[1]}']").count() == 1
    screenshot(page, "workspace-guideline")
    check_screen(page)
    panel.get_by_role("button", name="Hide these notes for this task").focus()
    page.keyboard.press("Enter")
    panel.wait_for(state="hidden")
    assert current_task(page) == task  # hiding the note did not submit the task
    assert page.js_errors == []


def test_learning_settings_on_the_project_form(page: Any, live_server: LiveServer) -> None:
    org = live_server.org()
    manager = live_server.person(org, "manager")
    project = live_server.factory.project(org, "text_classes", MODERATION)
    sign_in(page, manager, org)
    page.goto(f"/#/projects/{project.id}/edit")
    page.locator("#learning-settings").wait_for()
    assert page.locator("select[name='learning.backend']").input_value() == "builtin"
    assert page.locator("select[name='learning.active_learning']").input_value() == "cluster-margin"
    assert page.locator("input[name='learning.pseudo_labels']").is_checked()
    assert page.locator("input[name='learning.external_url']").is_hidden()
    tab_to(page, "select[name='learning.backend']", limit=150)
    page.keyboard.type("External")  # the URL and token fields appear
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "learning.external_url"
    page.keyboard.press("Enter")  # no URL yet: said at the URL field, before anything is sent
    url_error = page.locator("input[name='learning.external_url'] + .field-error")
    url_error.wait_for()
    assert page.evaluate("document.activeElement.name") == "learning.external_url"
    page.keyboard.type("http://127.0.0.1:9/predict")
    tab_to(page, "input[name='learning.external_token']")
    page.keyboard.type("s3cret")
    tab_to(page, "input[name='learning.retrain_after']")
    page.keyboard.press("Control+a")
    page.keyboard.type("5")  # under the minimum of 10: the API refuses it and names the field
    page.keyboard.press("Enter")
    error = page.locator("input[name='learning.retrain_after'] + .field-error")
    error.wait_for()
    assert "learning.retrain_after" in error.inner_text()
    assert page.evaluate("document.activeElement.name") == "learning.retrain_after"
    screenshot(page, "learning-settings-error")
    page.keyboard.press("Control+a")
    page.keyboard.type("300")
    tab_to(page, "input[name='learning.auto_accept.enabled']")
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    page.locator("#form-status", has_text="Saved").wait_for()
    learning = call(live_server, manager, "GET", f"projects/{project.id}").json()["learning"]
    assert (learning["backend"], learning["external_url"]) == ("external", "http://127.0.0.1:9/predict")
    assert learning["retrain_after"] == 300
    assert (learning["active_learning"], learning["pseudo_labels"]) == ("cluster-margin", True)
    assert learning["external_token"] == "********" and learning["auto_accept"]["enabled"] is True
    page.reload()
    page.locator("#learning-settings").wait_for()
    assert page.locator("input[name='learning.external_token']").input_value() == "********"
    page.locator("#save-project").click()  # the mask goes back: the stored token stays
    page.locator("#form-status", has_text="Saved").wait_for()
    assert (
        call(live_server, manager, "GET", f"projects/{project.id}").json()["learning"]["external_token"] == "********"
    )
    assert page.js_errors == []


def test_models_page_shows_what_a_box_version_learnt(page: Any, live_server: LiveServer) -> None:
    """A box version's metrics are the detector's corrections and its crop head's out-of-fold accuracy (as
    ``services.box_training`` stores them; the training itself is tested with the real detector elsewhere)."""
    org = live_server.org()
    manager = live_server.person(org, "manager")
    project = live_server.factory.project(org, "image_boxes")
    metrics = {
        "proposals": 120, "kept": 84, "relabelled": 1, "rescored": 2,
        "crop_head": {"boxes": 40, "judged_on": 30, "accuracy": 0.9, "best_single_label": 0.6},
    }  # fmt: skip
    with live_server.db.write() as s:
        row = model_versions.add_version(
            s, project.id, "builtin:nanodet-m", metrics=metrics, training={"items": 150, "gold_held_out": 0}
        )
        model_versions.promote(s, row)
        s.commit()
    sign_in(page, manager, org)
    page.goto(f"/#/projects/{project.id}/models")
    page.locator("#models[aria-busy=false]").wait_for()
    facts = page.locator("#model-active").inner_text()
    assert "people kept 84 of 120 detector boxes; detector classes renamed: 1, given a higher minimum score: 2" in facts
    assert "crop head 90" in facts and "on 30 boxes (the most common label alone: 60" in facts
    cell = page.locator(f"#model-versions tr[data-version='{row.version}'] td").nth(4)
    assert cell.inner_text().startswith("90") and cell.inner_text().endswith("(crop head)")
    check_screen(page)
    assert page.js_errors == []


def test_train_prelabel_and_promote_buttons(page: Any, live_server: LiveServer, trained: Trained) -> None:
    """Last: it adds a version and changes the active one."""
    pid = trained.project.id
    before = call(live_server, trained.manager, "GET", f"projects/{pid}/models").json()
    sign_in(page, trained.manager, trained.org)
    page.goto(f"/#/projects/{pid}/models")
    page.locator("#models[aria-busy=false]").wait_for()
    page.locator("#train-now").focus()
    page.keyboard.press("Enter")
    status = page.locator("#models-status")
    status.filter(has_text="Training queued").wait_for()
    status.filter(has_text=f"Version {before[0]['version'] + 1} trained").wait_for(timeout=120_000)
    versions = call(live_server, trained.manager, "GET", f"projects/{pid}/models").json()
    assert len(versions) == len(before) + 1
    assert page.locator("#model-versions tbody tr").count() == len(versions)

    waiting = next(v for v in versions if v["status"] != "active" and v["status"] != "failed")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"tr[data-version='{waiting['version']}'] button.promote").click()
    page.locator(f"tr[data-version='{waiting['version']}'][data-status=active]").wait_for()
    now = call(live_server, trained.manager, "GET", f"projects/{pid}/models/status").json()
    assert now["active"]["version"] == waiting["version"]
    assert page.locator("#h-active").inner_text() == f"Active model: version {waiting['version']}"

    page.locator("#prelabel-now").click()
    status.filter(has_text="Pre-labelling queued").wait_for()
    status.filter(has_text=f"now {now['items']} of {now['items']} items are predicted").wait_for(timeout=30_000)
    screenshot(page, "models-page-after-promote")
    assert page.js_errors == []
