"""Rows for tests, made through the same services the app uses."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from kolam.formats import SourceRecord
from kolam.services import accounts, auth, imports, projects
from kolam.services.context import Actor
from kolam.services.item_records import CONTENT_FIELD
from kolam.services.projects import ProjectSettings
from kolam.settings import Settings
from kolam.store.blobs import BlobStore
from kolam.store.db import Database
from kolam.store.tables import Organization, Prediction, Project, Task

SCHEMAS: dict[str, dict[str, Any]] = {
    "image_classes": {"classes": [{"name": "cat", "hotkey": "1"}, {"name": "dog", "hotkey": "2"}]},
    "text_classes": {"classes": [{"name": "ok"}, {"name": "spam"}, {"name": "abuse"}], "multi_label": True},
    "image_boxes": {"labels": [{"name": "car"}, {"name": "person"}]},
    "transcription": {"languages": ["ta", "hi", "en"]},
}
_seq = itertools.count(1)


@dataclass
class Person:
    actor: Actor
    token: str
    email: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Factory:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.blobs = BlobStore(settings.effective_blob_url)

    def org(self, slug: str | None = None) -> Organization:
        with self.db.write() as s:
            return accounts.create_organization(s, None, slug=slug or f"org{next(_seq)}", name="Test org")

    def person(self, org: Organization, role: str = "annotator", skills: tuple[str, ...] = ()) -> Person:
        email = f"{role}{next(_seq)}@{org.slug}.test"
        with self.db.write() as s:
            member = accounts.add_member(s, None, org.id, email=email, role=role, password="password123", skills=skills)
            secret, _ = auth.create_token(s, None, org.id, user_id=member.user_id, name="test")
            actor = auth.resolve_token(s, secret)
        return Person(actor=actor, token=secret, email=email)

    def project(
        self, org: Organization, kind: str = "text_classes", schema: dict[str, Any] | None = None, **settings: Any
    ) -> Project:
        settings.setdefault("name", f"project {next(_seq)}")
        with self.db.write() as s:
            return projects.create_project(
                s, None, org.id, kind=kind, schema=schema or SCHEMAS[kind], settings=ProjectSettings(**settings)
            )

    def files(self, project: Project, path: Path) -> int:
        """Import real files: a folder of media, or a .jsonl/.json/.csv file; returns the import's id."""
        report = imports.import_path(
            self.db, None, project.id, path, blobs=self.blobs, allowed_roots=[path.parent], org_id=project.org_id
        )
        return report.import_id

    def prediction(self, project: Project, task_id: int, value: dict[str, Any], confidence: float = 0.9) -> None:
        """A model's answer for a task (the model in the loop writes these; tests stand in for it here)."""
        with self.db.write() as s:
            s.add(
                Prediction(
                    project_id=project.id,
                    task_id=task_id,
                    model_version="test-model@1",
                    value=value,
                    confidence=confidence,
                    created_at=datetime.now(UTC),
                )
            )
            s.commit()

    def task_ids(self, project: Project) -> list[int]:
        with self.db.read() as s:
            return list(s.scalars(sa.select(Task.item_id).where(Task.project_id == project.id).order_by(Task.item_id)))

    def texts(self, project: Project, n: int, *, prefix: str = "text", priority: int | None = None) -> None:
        records = (
            SourceRecord(
                {
                    "text": f"{prefix} {i}",
                    "id": f"{prefix}-{i}",
                    **({"priority": priority} if priority is not None else {}),
                },
                f"test {i}",
            )
            for i in range(n)
        )
        imports.import_records(
            self.db,
            None,
            project.id,
            records,
            source="test",
            format_name="test",
            blobs=self.blobs,
            org_id=project.org_id,
        )

    def named_items(self, project: Project, names: list[str]) -> None:
        """Items referring to URLs (never fetched) of the project's media, with ``names`` as external ids."""
        field = CONTENT_FIELD[project.kind]
        records = (
            SourceRecord({field: name if field == "text" else f"https://media.example/{name}", "id": name}, f"test {i}")
            for i, name in enumerate(names)
        )
        imports.import_records(
            self.db, None, project.id, records, source="test", format_name="test", blobs=self.blobs,
            org_id=project.org_id,
        )  # fmt: skip

    def image_urls(self, project: Project, n: int) -> None:
        """Image items referring to URLs (nothing is downloaded)."""
        records = (SourceRecord({"image": f"https://img.example/{i}.png"}, f"test {i}") for i in range(n))
        imports.import_records(
            self.db,
            None,
            project.id,
            records,
            source="test",
            format_name="test",
            blobs=self.blobs,
            org_id=project.org_id,
        )
