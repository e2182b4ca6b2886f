"""Quality control over HTTP, on SQLite and PostgreSQL: gold and qualification, the accuracy floor, adaptive
overlap, consensus, review verdicts, the quality report and the export's consensus."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from kolam.quality.methods import DEFAULT_METHOD
from kolam.services import quality_report
from kolam.settings import Settings
from tests.factories import Factory, Person

CLASSES = {"classes": [{"name": "cat", "hotkey": "1"}, {"name": "dog", "hotkey": "2"}]}


def api(project_id: int, path: str = "") -> str:
    return f"/api/v1/projects/{project_id}{path}"


def work(
    client: TestClient, person: Person, project_id: int, answer: Callable[[dict[str, Any]], dict[str, Any]], count: int
) -> list[dict[str, Any]]:
    """Lease up to ``count`` tasks and answer each with ``answer(task)``; returns the tasks answered."""
    leased = client.post(api(project_id, f"/next?count={count}"), headers=person.headers)
    assert leased.status_code == 200, leased.text
    for task in leased.json():
        body = {"task_id": task["task_id"], "client_id": str(uuid.uuid4()), "value": answer(task)}
        response = client.post(api(project_id, "/annotations"), headers=person.headers, json=body)
        assert response.status_code == 201, response.text
    return list(leased.json())


def label(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda task: {"labels": [name]}


def truth_of(task: dict[str, Any]) -> str:
    """The demo truth of these tests: items named cat-* are cats."""
    return "cat" if task["item"]["external_id"].startswith("cat") else "dog"


def truthful(task: dict[str, Any]) -> dict[str, Any]:
    return {"labels": [truth_of(task)]}


@pytest.fixture
def settings(tmp_path, db) -> Settings:
    """No job threads: consensus is refreshed only when a test asks, so skills (and so decisions) are known."""
    return Settings(data_dir=tmp_path / "data", database_url=str(db.engine.url), job_workers=0)


@pytest.fixture
def setup(app_client: TestClient, factory: Factory):
    org = factory.org()
    manager = factory.person(org, "manager")
    return org, manager


def test_gold_items_are_set_by_external_id_and_validated_against_the_schema(app_client: TestClient, factory, setup):
    org, manager = setup
    project = factory.project(org, "image_classes", CLASSES)
    factory.named_items(project, ["cat-1", "dog-1"])

    bad = app_client.put(
        api(project.id, "/gold"),
        headers=manager.headers,
        json={"gold": [{"external_id": "cat-1", "value": {"labels": ["cow"]}}]},
    )
    assert bad.status_code == 422
    assert "gold[0]" in bad.json()["error"]["message"] and "cow" in bad.json()["error"]["message"]
    missing = app_client.put(
        api(project.id, "/gold"),
        headers=manager.headers,
        json={"gold": [{"external_id": "nope", "value": {"labels": ["cat"]}}]},
    )
    assert missing.status_code == 404

    ok = app_client.put(
        api(project.id, "/gold"),
        headers=manager.headers,
        json={"gold": [{"external_id": "cat-1", "value": {"labels": ["cat"]}}]},
    )
    assert ok.json() == {"count": 1}
    listed = app_client.get(api(project.id, "/gold"), headers=manager.headers).json()
    assert [g["value"] for g in listed] == [{"labels": ["cat"], "unclear": False, "comment": ""}]
    annotator = factory.person(org)
    assert app_client.put(api(project.id, "/gold"), headers=annotator.headers, json={"gold": []}).status_code == 403


def test_qualification_serves_only_gold_then_passes_or_fails(app_client: TestClient, factory, setup):
    org, manager = setup
    quality = {"qualification": {"enabled": True, "items": 4, "pass_accuracy": 0.8}}
    project = factory.project(org, "image_classes", CLASSES, quality=quality)
    factory.named_items(project, [f"cat-{i}" for i in range(6)] + [f"dog-{i}" for i in range(6)])
    gold = [{"external_id": f"cat-{i}", "value": {"labels": ["cat"]}} for i in range(3)]
    gold += [{"external_id": f"dog-{i}", "value": {"labels": ["dog"]}} for i in range(3)]
    assert app_client.put(api(project.id, "/gold"), headers=manager.headers, json={"gold": gold}).status_code == 200
    good, bad = factory.person(org), factory.person(org)

    status = app_client.get(api(project.id, "/standing"), headers=good.headers).json()
    assert status["status"] == "not_started" and status["required"] is True
    test_tasks = work(app_client, good, project.id, truthful, 20)
    assert len(test_tasks) == 4  # only the test's gold items, however many were asked for
    assert {t["item"]["external_id"] for t in test_tasks} <= {g["external_id"] for g in gold}
    assert app_client.get(api(project.id, "/standing"), headers=good.headers).json()["status"] == "passed"
    real = work(app_client, good, project.id, truthful, 20)
    assert {t["item"]["external_id"] for t in real} >= {f"cat-{i}" for i in range(3, 6)}

    work(app_client, bad, project.id, lambda t: {"labels": ["cat"]}, 20)  # the test is cat-0..2 then dog-0: 3/4 < 80 %
    refused = app_client.post(api(project.id, "/next?count=5"), headers=bad.headers)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "qualification_failed"
    me = next(m for m in app_client.get("/api/v1/members", headers=manager.headers).json() if m["email"] == bad.email)
    retake = app_client.post(api(project.id, f"/annotators/{me['user_id']}/retake"), headers=manager.headers)
    assert retake.status_code == 204
    assert app_client.get(api(project.id, "/standing"), headers=bad.headers).json()["status"] == "not_started"


def test_an_annotator_below_the_floor_on_ongoing_gold_is_paused_until_a_manager_resumes(
    app_client: TestClient, factory, setup, db
):
    org, manager = setup
    quality = {"floor_accuracy": 0.7, "floor_min_gold": 3}
    project = factory.project(org, "image_classes", CLASSES, gold_ratio=0.5, quality=quality)
    factory.named_items(project, [f"cat-{i}" for i in range(10)] + [f"dog-{i}" for i in range(10)])
    gold = [{"external_id": f"dog-{i}", "value": {"labels": ["dog"]}} for i in range(10)]
    app_client.put(api(project.id, "/gold"), headers=manager.headers, json={"gold": gold})
    sloppy = factory.person(org)

    for _ in range(10):
        leased = app_client.post(api(project.id, "/next?count=2"), headers=sloppy.headers)
        if leased.status_code == 403:
            break
        for task in leased.json():
            body = {"task_id": task["task_id"], "client_id": str(uuid.uuid4()), "value": {"labels": ["cat"]}}
            app_client.post(api(project.id, "/annotations"), headers=sloppy.headers, json=body)
    refused = app_client.post(api(project.id, "/next?count=1"), headers=sloppy.headers)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "paused"
    assert "below the floor of 70%" in refused.json()["error"]["message"]
    report = app_client.get(api(project.id, "/quality"), headers=manager.headers).json()
    (row,) = [a for a in report["annotators"] if a["status"] == "paused"]
    assert row["gold"]["accuracy"] == 0.0 and row["paused_reason"]
    events = app_client.get("/api/v1/audit?object_type=user&limit=1000", headers=manager.headers).json()
    pauses = [e for e in events if e["action"] == "annotator.pause"]
    assert len(pauses) == 1 and pauses[0]["details"]["project_id"] == project.id

    resumed = app_client.post(api(project.id, f"/annotators/{row['user_id']}/resume"), headers=manager.headers)
    assert resumed.status_code == 204
    assert app_client.post(api(project.id, "/next?count=1"), headers=sloppy.headers).status_code == 200


def test_adaptive_overlap_asks_for_more_answers_only_where_the_crowd_disagrees(app_client: TestClient, factory, setup):
    org, _ = setup
    quality = {"adaptive": True, "max_overlap": 4, "target_confidence": 0.9}
    project = factory.project(org, "image_classes", CLASSES, overlap=2, quality=quality)
    factory.named_items(project, ["cat-agreed", "cat-disputed"])
    people = [factory.person(org) for _ in range(5)]

    def answers(person_index: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
        def answer(task: dict[str, Any]) -> dict[str, Any]:
            if task["item"]["external_id"] == "cat-disputed" and person_index == 1:
                return {"labels": ["dog"]}
            return {"labels": ["cat"]}

        return answer

    for i, person in enumerate(people):
        work(app_client, person, project.id, answers(i), 5)
    items = app_client.get(api(project.id, "/items"), headers=setup[1].headers).json()["items"]
    by_name = {i["item"]["external_id"]: i for i in items}
    # No skill estimates yet: everyone counts as 70 % right. Agreeing answers: 2 → p(cat) = .49/.58 = .845,
    # 3 → .927 ≥ .9, done. Disputed (cat, dog, cat, cat): after 4 answers .845, still unsure at the maximum.
    assert by_name["cat-agreed"]["task"]["answers_count"] == 3
    assert by_name["cat-agreed"]["task"]["state"] == "done"
    assert by_name["cat-disputed"]["task"]["answers_count"] == 4
    assert by_name["cat-disputed"]["task"]["state"] == "done"
    consensus = {
        c["task_id"]: c for c in app_client.get(api(project.id, "/consensus"), headers=setup[1].headers).json()
    }
    agreed, disputed = (consensus[by_name[n]["item"]["id"]] for n in ("cat-agreed", "cat-disputed"))
    assert agreed["value"] == disputed["value"] == {"labels": ["cat"]}
    assert agreed["confidence"] == pytest.approx(0.343 / 0.37, abs=1e-4) and agreed["review_state"] == "none"
    assert disputed["confidence"] == pytest.approx(0.1029 / 0.1218, abs=1e-4)
    assert (disputed["review_state"], disputed["review_reason"]) == ("queued", "low_confidence")
    assert agreed["method"] == f"adaptive:{DEFAULT_METHOD}"
    assert len(work(app_client, people[0], project.id, answers(0), 5)) == 0  # nothing left to answer


def test_consensus_review_and_report(app_client: TestClient, factory, setup):
    org, manager = setup
    quality = {"target_confidence": 0.9, "review_sample": 0.0}
    # gold_ratio 0.5: the one gold item is in each 20-task batch unless 20 draws all miss (p ≈ 1e-6)
    project = factory.project(org, "image_classes", CLASSES, overlap=3, gold_ratio=0.5, quality=quality)
    names = [f"cat-{i}" for i in range(6)] + [f"dog-{i}" for i in range(6)]
    factory.named_items(project, names)
    app_client.put(
        api(project.id, "/gold"),
        headers=manager.headers,
        json={"gold": [{"external_id": "dog-5", "value": {"labels": ["dog"]}}]},
    )
    good = [factory.person(org) for _ in range(2)]
    contrarian = factory.person(org)
    for person in good:
        work(app_client, person, project.id, truthful, 20)
    work(
        app_client,
        contrarian,
        project.id,
        lambda t: (
            {"labels": ["cat"], "comment": "blurry"} if t["item"]["external_id"] == "dog-0" else {"labels": ["cat"]}
        ),
        20,
    )

    refreshed = app_client.post(api(project.id, "/consensus/refresh"), headers=manager.headers)
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["items"] == 11 and refreshed.json()["annotators"] == 3
    consensus = {c["task_id"]: c for c in app_client.get(api(project.id, "/consensus"), headers=manager.headers).json()}
    items = {
        i["item"]["id"]: i["item"]["external_id"]
        for i in app_client.get(api(project.id, "/items"), headers=manager.headers).json()["items"]
    }
    for task_id, row in consensus.items():
        assert row["value"]["labels"] == [truth_of({"item": {"external_id": items[task_id]}})]
        assert 0.5 <= row["confidence"] <= 1.0
    assert "dog-5" not in {items[t] for t in consensus}  # gold has its answer already

    queue = app_client.get(api(project.id, "/review"), headers=manager.headers).json()
    flagged = [c for c in queue["items"] if c["review_reason"] == "flagged"]
    assert [items[c["task_id"]] for c in flagged] == [c["external_id"] for c in flagged] == ["dog-0"]
    assert queue["counts"]["flagged"] == 1
    annotator = factory.person(org)
    assert app_client.get(api(project.id, "/review"), headers=annotator.headers).status_code == 403

    detail = app_client.get(api(project.id, f"/review/{flagged[0]['task_id']}"), headers=manager.headers).json()
    assert len(detail["answers"]) == 3 and detail["consensus"]["value"] == {"labels": ["dog"]}
    assert {a["value"].get("comment", "") for a in detail["answers"]} == {"", "blurry"}
    bad = app_client.post(
        api(project.id, f"/review/{flagged[0]['task_id']}"),
        headers=manager.headers,
        json={"verdict": "correct", "value": {"labels": ["cow"]}},
    )
    assert bad.status_code == 422
    verdict = app_client.post(
        api(project.id, f"/review/{flagged[0]['task_id']}"),
        headers=manager.headers,
        json={"verdict": "accept", "note": "ok"},
    )
    assert verdict.status_code == 201 and verdict.json()["reason"] == "flagged"
    after = app_client.get(api(project.id, "/review"), headers=manager.headers).json()
    assert after["counts"]["flagged"] == 0
    app_client.post(api(project.id, "/consensus/refresh"), headers=manager.headers)
    reviewed = next(
        c
        for c in app_client.get(api(project.id, "/consensus"), headers=manager.headers).json()
        if c["task_id"] == flagged[0]["task_id"]
    )
    assert reviewed["status"] == "reviewed" and reviewed["confidence"] == 1.0  # a refresh keeps the verdict

    report = app_client.get(api(project.id, "/quality"), headers=manager.headers).json()
    assert report["summary"]["items_settled"] == report["summary"]["items"] == 11  # gold apart
    assert report["summary"]["human_answers_per_settled_item"]["mean"] == 3.0
    assert report["gold"]["answers"] == 3 and report["gold"]["correct"] == 2
    assert report["agreement"]["available"] and report["agreement"]["krippendorff_alpha"] is not None
    assert report["confusion"]["classes"] == ["cat", "dog"]
    assert report["confusion"]["counts"][1][0] == 5  # the contrarian's dogs called cats (dog-0..4; dog-5 is gold)
    assert report["review"]["verdicts"] == {"accept": 1}
    contrarian_row = next(
        a
        for a in report["annotators"]
        if a["annotator"] == contrarian.email or a.get("user_id") == contrarian.actor.user_id
    )
    assert contrarian_row["agreement_with_consensus"] < 0.6
    assert contrarian_row["reviewed"] == {"answers": 1, "correct": 0}
    assert contrarian_row["gold"]["by_class"] == [
        {"class": "dog", "answers": 1, "accuracy": 0.0, "interval": [0.0, pytest.approx(0.7935, abs=1e-4)]}
    ]
    confusion = contrarian_row["confusion"]  # rows: true class; the contrarian says "cat" to everything
    assert len(confusion) == 2 and confusion[1][0] > confusion[1][1]

    viewer = factory.person(org, "viewer")
    refused = app_client.post(api(project.id, "/consensus/refresh"), headers=viewer.headers)
    assert refused.status_code == 403  # the client's seat reads; a refresh writes
    seen = app_client.get(api(project.id, "/quality"), headers=viewer.headers).json()
    assert all(
        a["annotator"].startswith("a") and "@" not in a["annotator"] and "user_id" not in a for a in seen["annotators"]
    )

    lines = app_client.get(api(project.id, "/export?format=jsonl"), headers=manager.headers).content.splitlines()
    records = {r["external_id"]: r for r in map(orjson.loads, lines)}
    assert records["cat-0"]["consensus"]["value"] == {"labels": ["cat"]}
    assert records["cat-0"]["consensus"]["method"] == DEFAULT_METHOD
    assert records["dog-0"]["consensus"]["status"] == "reviewed"
    assert records["dog-5"]["consensus"]["method"] == "gold"


def test_a_big_projects_report_is_the_snapshot_its_last_refresh_made(
    app_client: TestClient, factory, setup, db, monkeypatch: pytest.MonkeyPatch
):
    org, manager = setup
    project = factory.project(org, "image_classes", CLASSES, overlap=2)
    factory.named_items(project, ["cat-1", "dog-1"])
    for person in (factory.person(org), factory.person(org)):
        work(app_client, person, project.id, truthful, 5)
    monkeypatch.setattr(quality_report, "LIVE_LIMIT", 3)  # 4 answers: "big"

    live = app_client.get(api(project.id, "/quality"), headers=manager.headers).json()  # no snapshot yet: built
    assert live["summary"]["answers"] == 4 and live["summary"]["items_with_consensus"] == 0
    app_client.post(api(project.id, "/consensus/refresh"), headers=manager.headers)
    snapshot = app_client.get(api(project.id, "/quality"), headers=manager.headers).json()
    assert snapshot["summary"]["items_with_consensus"] == 2 and snapshot["as_of"] > live["as_of"]
    work(app_client, factory.person(org), project.id, truthful, 5)  # nothing left to answer: same report
    again = app_client.get(api(project.id, "/quality"), headers=manager.headers).json()
    assert again["as_of"] == snapshot["as_of"]
    viewer = app_client.get(api(project.id, "/quality"), headers=factory.person(org, "viewer").headers).json()
    assert {a["annotator"] for a in viewer["annotators"]} == {f"a{a['user_id']}" for a in snapshot["annotators"]}
    assert all("user_id" not in a for a in viewer["annotators"])
