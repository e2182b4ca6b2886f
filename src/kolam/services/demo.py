"""The demo: an organization with a manager, three annotators and two projects on real data.

Fashion-MNIST's test set (10,000 images, shipped in the package) becomes an image_classes project; real
e-mail (SpamAssassin public corpus subset) becomes a text_classes moderation project. Running it twice
reuses what the first run made.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kolam.demo.datasets import FASHION_MNIST_CLASSES, iter_fashion_mnist, iter_moderation_messages
from kolam.errors import NotFound
from kolam.formats import SourceRecord
from kolam.services import accounts, imports, projects
from kolam.services.projects import ProjectSettings
from kolam.store.blobs import BlobStore
from kolam.store.db import Database
from kolam.store.tables import Project

ORG = "demo"
PASSWORD = "kolam-demo"
PEOPLE = (
    ("manager@demo.kolam", "Meena (manager)", "manager", ()),
    ("anbu@demo.kolam", "Anbu", "annotator", ("ta", "en")),
    ("priya@demo.kolam", "Priya", "annotator", ("hi", "en")),
    ("ravi@demo.kolam", "Ravi", "annotator", ("ta", "hi", "en")),
)
FASHION_INSTRUCTIONS = """# Fashion product photos
Choose the one class that fits the product. Press the number key shown on the button.

* **Shirt** has a collar or buttons; **T-shirt/top** has neither.
* **Pullover** is knitted and pulled over the head; **Coat** opens at the front.
"""
MODERATION_INSTRUCTIONS = """# E-mail moderation
Mark every policy the message breaks; mark **acceptable** if it breaks none. Highlight the words that show it.
"""
MODERATION_LABELS = [
    {"name": "acceptable", "hotkey": "1", "description": "Breaks no policy."},
    {"name": "spam", "hotkey": "2", "description": "Unsolicited bulk or commercial mail."},
    {"name": "scam", "hotkey": "3", "description": "Fraud, phishing, fake offers."},
    {"name": "adult", "hotkey": "4", "description": "Sexual content."},
    {"name": "abusive", "hotkey": "5", "description": "Insults, harassment, hate."},
]


@dataclass
class DemoSetup:
    org_slug: str
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    projects: list[tuple[int, str, int]] = field(default_factory=list)
    created: bool = False


def _fashion_records(folder: Path, limit: int | None) -> Iterator[SourceRecord]:
    folder.mkdir(parents=True, exist_ok=True)
    for png, label, index in iter_fashion_mnist(limit):
        path = folder / f"fmnist-test-{index:05d}.png"
        if not path.exists():
            path.write_bytes(png)
        yield SourceRecord(
            fields={"image": path.name, "id": f"fashion-mnist-test-{index}", "meta": {"source_label": label}},
            location=f"fashion-mnist test image {index}",
        )


def _moderation_records(limit: int | None) -> Iterator[SourceRecord]:
    for i, msg in enumerate(iter_moderation_messages(limit)):
        yield SourceRecord(
            fields={"text": msg["text"], "id": msg["id"], "meta": {"source_label": msg["label"]}},
            location=f"moderation message {i}",
        )


def set_up_demo(db: Database, blobs: BlobStore, work_dir: Path, *, limit: int | None = None) -> DemoSetup:
    """Create (or find) the demo organization, its people and its projects; import their data."""
    setup = DemoSetup(org_slug=ORG, logins=[(email, PASSWORD, role) for email, _, role, _ in PEOPLE])
    with db.write() as s:
        try:
            org = accounts.get_organization(s, ORG)
        except NotFound:
            org = accounts.create_organization(s, None, slug=ORG, name="Demo data firm")
            for email, name, role, skills in PEOPLE:
                accounts.add_member(
                    s, None, org.id, email=email, name=name, role=role, password=PASSWORD, skills=skills
                )
            setup.created = True
        existing = {p.name: p for p in projects.list_projects(s, None, org.id)}
        org_id = org.id
    fashion = existing.get("Fashion products") or _create_fashion(db, org_id)
    if fashion.name not in existing:
        folder = work_dir / "fashion-mnist"
        imports.import_records(
            db,
            None,
            fashion.id,
            _fashion_records(folder, limit),
            source="fashion-mnist t10k",
            format_name="demo",
            blobs=blobs,
            allowed_roots=[folder],
            org_id=org_id,
        )
    moderation = existing.get("E-mail moderation") or _create_moderation(db, org_id)
    if moderation.name not in existing:
        imports.import_records(
            db,
            None,
            moderation.id,
            _moderation_records(limit),
            source="spamassassin subset",
            format_name="demo",
            blobs=blobs,
            org_id=org_id,
        )
    with db.read() as s:
        for p in (fashion, moderation):
            setup.projects.append((p.id, p.name, projects.project_counts(s, p.id)["tasks"]))
    return setup


def _create_fashion(db: Database, org_id: int) -> Project:
    schema = {"classes": [{"name": name, "hotkey": str((i + 1) % 10)} for i, name in enumerate(FASHION_MNIST_CLASSES)]}
    with db.write() as s:
        return projects.create_project(
            s,
            None,
            org_id,
            kind="image_classes",
            schema=schema,
            settings=ProjectSettings(name="Fashion products", instructions=FASHION_INSTRUCTIONS, overlap=3),
        )


def _create_moderation(db: Database, org_id: int) -> Project:
    with db.write() as s:
        return projects.create_project(
            s,
            None,
            org_id,
            kind="text_classes",
            schema={"classes": MODERATION_LABELS, "multi_label": True, "spans": True},
            settings=ProjectSettings(name="E-mail moderation", instructions=MODERATION_INSTRUCTIONS, overlap=2),
        )
