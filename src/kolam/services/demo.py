"""The demo: an organization with a manager, three annotators and four projects on real data.

Fashion-MNIST's test set (10,000 images, shipped in the package) becomes an image_classes project; real
e-mail (SpamAssassin public corpus subset) a text_classes moderation project; short Tamil, Hindi and English
clips (their reference texts kept aside for WER checks) a transcription project; real photographs an
image_boxes project. Running it twice reuses what the first run made, and a project added since an earlier
run is created on the next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kolam.demo.datasets import (
    FASHION_MNIST_CLASSES,
    iter_fashion_mnist,
    iter_moderation_messages,
    iter_photos,
    iter_speech_clips,
)
from kolam.errors import NotFound
from kolam.formats import SourceRecord
from kolam.services import accounts, gold, imports, projects
from kolam.services.gold import GoldEntry
from kolam.services.projects import ProjectSettings
from kolam.store.blobs import BlobStore
from kolam.store.db import Database

ORG = "demo"
PASSWORD = "kolam-demo"
PEOPLE = (
    ("manager@demo.kolam", "Meena (manager)", "manager", ()),
    ("anbu@demo.kolam", "Anbu", "annotator", ("ta", "en")),
    ("priya@demo.kolam", "Priya", "annotator", ("hi", "en")),
    ("ravi@demo.kolam", "Ravi", "annotator", ("ta", "hi", "en")),
    ("lakshmi@demo.kolam", "Lakshmi (reviewer)", "reviewer", ()),
    ("client@demo.kolam", "Client (viewer)", "viewer", ()),
)
GOLD_EVERY = 25
"""One Fashion-MNIST image in this many is gold, answered from the data set's own label. (The e-mails' spam/ham
labels are coarser than the moderation schema, so they would mark a right "scam" wrong: no gold there.)"""
FASHION_QUALITY = {"adaptive": True, "max_overlap": 5, "target_confidence": 0.95, "floor_accuracy": 0.5}
FASHION_LEARNING = {"min_train_items": 50, "retrain_after": 100, "auto_accept": {"enabled": True}}
"""The model trains once 50 images are settled and again every 100; it labels alone only what it has earned
(a 99 % lower bound on precision per class), with 5 % of that audited by the reviewer."""
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
SPEECH_INSTRUCTIONS = """# Speech transcription
Write exactly what is said, in the script of the language spoken: Tamil in Tamil script, Hindi in
Devanagari, English in Latin letters (type them with your system's input method). Numbers as words.

* Make one segment per sentence; set its start and end on the waveform and tag its language.
* Mark the clip **unclear** if you cannot make out the words.

Most demo clips are synthetic voices (the Tamil ones are robotic); four English clips are a real voice.
"""
SPEECH_LANGUAGES = ["ta", "hi", "en"]
PHOTO_INSTRUCTIONS = """# Objects in photos
Draw one tight box around each whole object of a listed kind, then press its number to label it.

* Box what is visible, not what is hidden behind something else.
* One box per object; a group of trees or flowers that cannot be told apart gets one box.
* **Sky** and **water**: one box around the visible area.
"""
PHOTO_LABELS = [
    {"name": "building", "hotkey": "1", "description": "Houses, towers, pagodas, walls."},
    {"name": "tree", "hotkey": "2", "description": "Trees and bushes."},
    {"name": "flower", "hotkey": "3", "description": "A flower head, open or closed."},
    {"name": "insect", "hotkey": "4", "description": "Ladybirds, bees, butterflies and other insects."},
    {"name": "boat", "hotkey": "5", "description": "Boats and ships, however small."},
    {"name": "road", "hotkey": "6", "description": "Roads and paths."},
    {"name": "water", "hotkey": "7", "description": "Sea, lakes, rivers."},
    {"name": "sky", "hotkey": "8", "description": "Open sky, with or without clouds."},
    {"name": "plant", "hotkey": "9", "description": "Grass, stems and leaves that are not a tree."},
]


@dataclass
class DemoSetup:
    org_slug: str
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    projects: list[tuple[int, str, int]] = field(default_factory=list)
    created: bool = False
    new_projects: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class DemoProject:
    """One demo project: how to make it and where its items come from (``folder``: files written for import)."""

    name: str
    kind: str
    schema: dict[str, Any]
    instructions: str
    overlap: int
    source: str
    records: Callable[[Path, int | None], Iterator[SourceRecord]]
    folder: str | None = None
    quality: dict[str, Any] | None = None
    gold_ratio: float = 0.0
    gold: Callable[[int | None], list[GoldEntry]] | None = None
    learning: dict[str, Any] | None = None


def _fashion_records(folder: Path, limit: int | None) -> Iterator[SourceRecord]:
    for png, _label, index in iter_fashion_mnist(limit):
        path = folder / f"fmnist-test-{index:05d}.png"
        if not path.exists():
            path.write_bytes(png)
        yield SourceRecord(
            fields={"image": path.name, "id": f"fashion-mnist-test-{index}"},
            location=f"fashion-mnist test image {index}",
        )


def _fashion_gold(limit: int | None) -> list[GoldEntry]:
    """The data set's label as the known answer of every GOLD_EVERY-th image (kept out of the items' meta,
    which annotators receive: a gold item must look like any other)."""
    return [
        GoldEntry({"labels": [label]}, external_id=f"fashion-mnist-test-{index}")
        for _, label, index in iter_fashion_mnist(limit)
        if index % GOLD_EVERY == 0
    ]


def _moderation_records(_folder: Path, limit: int | None) -> Iterator[SourceRecord]:
    for i, msg in enumerate(iter_moderation_messages(limit)):
        yield SourceRecord(
            fields={"text": msg["text"], "id": msg["id"]},
            location=f"moderation message {i}",
        )


def _write_once(path: Path, data: bytes) -> None:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _speech_records(folder: Path, limit: int | None) -> Iterator[SourceRecord]:
    """Clips with their language in meta. The reference text stays in the package's manifest (by the item's
    external id) for WER checks: meta reaches annotators, and a reference there would hand them the answer."""
    for flac, clip in iter_speech_clips(limit):
        _write_once(folder / clip.file, flac)
        meta = {
            "language": clip.language,
            "duration": clip.duration,
            "synthetic": clip.synthetic,
            "voice": clip.voice,
            "source": clip.source,
            "licence": clip.licence,
        }
        yield SourceRecord(fields={"audio": clip.file, "id": clip.id, "meta": meta}, location=f"speech clip {clip.id}")


def _photo_records(folder: Path, limit: int | None) -> Iterator[SourceRecord]:
    for jpeg, photo in iter_photos(limit):
        _write_once(folder / photo.file, jpeg)
        meta = {"title": photo.title, "author": photo.author, "licence": photo.licence, "source": photo.source}
        yield SourceRecord(fields={"image": photo.file, "id": photo.id, "meta": meta}, location=f"photo {photo.id}")


DEMO_PROJECTS = (
    DemoProject(
        name="Fashion products",
        kind="image_classes",
        schema={"classes": [{"name": n, "hotkey": str((i + 1) % 10)} for i, n in enumerate(FASHION_MNIST_CLASSES)]},
        instructions=FASHION_INSTRUCTIONS,
        overlap=3,
        source="fashion-mnist t10k",
        records=_fashion_records,
        folder="fashion-mnist",
        quality=FASHION_QUALITY,
        gold_ratio=0.05,
        gold=_fashion_gold,
        learning=FASHION_LEARNING,
    ),
    DemoProject(
        name="E-mail moderation",
        kind="text_classes",
        schema={"classes": MODERATION_LABELS, "multi_label": True, "spans": True},
        instructions=MODERATION_INSTRUCTIONS,
        overlap=2,
        source="spamassassin subset",
        records=_moderation_records,
    ),
    DemoProject(
        name="Speech transcription",
        kind="transcription",
        schema={"languages": SPEECH_LANGUAGES},
        instructions=SPEECH_INSTRUCTIONS,
        overlap=2,
        source="demo speech clips (pytest-audioeval, alsa-utils, espeak-ng)",
        records=_speech_records,
        folder="speech",
    ),
    DemoProject(
        name="Photo objects",
        kind="image_boxes",
        schema={"labels": PHOTO_LABELS},
        instructions=PHOTO_INSTRUCTIONS,
        overlap=2,
        source="demo photos (scikit-learn samples, mate-backgrounds)",
        records=_photo_records,
        folder="photos",
    ),
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
        existing = {p.name: p.id for p in projects.list_projects(s, None, org.id)}
        org_id = org.id
    ids = []
    for spec in DEMO_PROJECTS:
        project_id = existing.get(spec.name)
        if project_id is None:
            project_id = _create(db, org_id, spec, work_dir, blobs, limit)
            setup.new_projects.append(project_id)
        ids.append(project_id)
    with db.read() as s:
        for project_id, spec in zip(ids, DEMO_PROJECTS, strict=True):
            setup.projects.append((project_id, spec.name, projects.project_counts(s, project_id)["tasks"]))
    return setup


def _create(db: Database, org_id: int, spec: DemoProject, work_dir: Path, blobs: BlobStore, limit: int | None) -> int:
    """Make the project and import its items; files are written under ``work_dir`` first, as an import reads paths."""
    settings = ProjectSettings(
        name=spec.name,
        instructions=spec.instructions,
        overlap=spec.overlap,
        gold_ratio=spec.gold_ratio,
        quality=spec.quality,
        learning=spec.learning,
    )
    with db.write() as s:
        project_id = projects.create_project(s, None, org_id, kind=spec.kind, schema=spec.schema, settings=settings).id
    folder = work_dir / spec.folder if spec.folder else work_dir
    folder.mkdir(parents=True, exist_ok=True)
    imports.import_records(
        db,
        None,
        project_id,
        spec.records(folder, limit),
        source=spec.source,
        format_name="demo",
        blobs=blobs,
        allowed_roots=[folder] if spec.folder else (),
        org_id=org_id,
    )
    entries = spec.gold(limit) if spec.gold else []
    if entries:
        with db.write() as s:
            gold.set_gold(s, None, project_id, entries, org_id=org_id)
    return project_id
