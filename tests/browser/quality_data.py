"""Data for the quality pages' browser tests, made through the API as annotators and managers would."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from kolam.store.tables import Organization, Project
from tests.browser.conftest import LiveServer
from tests.factories import Person

# single-label moderation classes: agreement, confusion and the class chips all apply
MODERATION = {"classes": [{"name": "ok"}, {"name": "spam"}, {"name": "abuse"}], "multi_label": False, "spans": False}


def call(
    server: LiveServer, person: Person, method: str, path: str, *, ok: bool = True, **kwargs: Any
) -> httpx.Response:
    r = httpx.request(method, f"{server.url}/api/v1/{path}", headers=person.headers, timeout=30, **kwargs)
    if ok:
        assert r.status_code < 300, r.text
    return r


def answer_all(
    server: LiveServer, person: Person, project_id: int, answer: Callable[[dict[str, Any]], dict[str, Any]]
) -> list[dict[str, Any]]:
    """Lease up to 20 tasks and answer each; returns the tasks."""
    leased = call(server, person, "POST", f"projects/{project_id}/next", params={"count": 20}).json()
    for task in leased:
        body = {"task_id": task["task_id"], "client_id": str(uuid.uuid4()), "value": answer(task)}
        call(server, person, "POST", f"projects/{project_id}/annotations", json=body)
    return leased


def review_project(server: LiveServer, org: Organization, manager: Person, items: int = 3) -> Project:
    """Moderation texts, each answered by two annotators, all queued for review: post-0 disputed, the rest flagged
    by a comment."""
    project = server.factory.project(
        org, "text_classes", MODERATION, overlap=2, quality={"target_confidence": 0.9, "review_sample": 0.0}
    )
    server.factory.texts(project, items, prefix="post")
    first, second = server.person(org), server.person(org)
    answer_all(server, first, project.id, lambda t: {"labels": ["ok"], "comment": "a link?"})
    answer_all(
        server, second, project.id, lambda t: {"labels": ["spam" if t["item"]["external_id"] == "post-0" else "ok"]}
    )
    call(server, manager, "POST", f"projects/{project.id}/consensus/refresh")
    return project


def report_project(server: LiveServer, org: Organization, manager: Person) -> tuple[Project, Person]:
    """Items answered by three annotators (one contrarian) with one gold item; returns the contrarian too."""
    project = server.factory.project(
        org, "text_classes", MODERATION, overlap=3, gold_ratio=0.5, quality={"review_sample": 0.0}
    )
    server.factory.texts(project, 8, prefix="post")
    gold = [{"external_id": "post-7", "value": {"labels": ["spam"]}}]
    call(server, manager, "PUT", f"projects/{project.id}/gold", json={"gold": gold})
    truth = lambda t: {"labels": ["spam" if int(t["item"]["external_id"][5:]) % 2 else "ok"]}  # noqa: E731
    for _ in range(2):
        answer_all(server, server.person(org), project.id, truth)
    contrarian = server.person(org)
    answer_all(server, contrarian, project.id, lambda t: {"labels": ["abuse"]})
    call(server, manager, "POST", f"projects/{project.id}/consensus/refresh")
    return project, contrarian
