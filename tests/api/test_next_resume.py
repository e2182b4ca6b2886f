"""`next?resume=true`: a browser starting afresh gets the tasks it holds and new ones, in one round trip."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Factory


def test_resume_returns_held_tasks_first_then_tops_up(app_client: TestClient, factory: Factory) -> None:
    org = factory.org()
    annotator = factory.person(org)
    other = factory.person(org)
    project = factory.project(org, "text_classes")
    factory.texts(project, 10)
    url = f"/api/v1/projects/{project.id}/next"
    held = [t["task_id"] for t in app_client.post(f"{url}?count=3", headers=annotator.headers).json()]

    fresh = app_client.post(f"{url}?count=5&resume=true", headers=annotator.headers).json()
    ids = [t["task_id"] for t in fresh]
    assert ids[:3] == held and len(set(ids)) == 5  # the three held, then two new ones

    again = app_client.post(f"{url}?count=4&resume=true", headers=annotator.headers).json()
    assert sorted(t["task_id"] for t in again) == sorted(ids)  # holding 5 ≥ 4: nothing new is leased
    theirs = app_client.post(f"{url}?count=10", headers=other.headers).json()
    assert len(theirs) == 5 and not {t["task_id"] for t in theirs} & set(ids)
