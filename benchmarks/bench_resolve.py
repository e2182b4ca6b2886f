"""A consensus refresh at scale: how long the job takes and how long it holds the write lock.

A project of N text items × 5 answers (5 classes, 1,000 simulated annotators of known confusion, the crowd of
``bench_quality.py``) is made on SQLite: items through the real import, answers written in bulk (the submit
path's speed is ``bench_annotate.py``'s subject, not this one's). Then ``resolve_project`` runs as the job
does, timed in its phases, while a second thread keeps committing small write transactions the way
annotators' submits do, to show the longest any of them waited. The quality report is timed after.

    python benchmarks/bench_resolve.py                 # 200,000 items, 1,000,000 answers
    python benchmarks/bench_resolve.py --items 20000   # quicker
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_quality import simulate
from common import loadavg, machine, record, say

from kolam.formats import SourceRecord
from kolam.services import accounts, imports, projects, quality_report, resolve
from kolam.services.projects import ProjectSettings
from kolam.store.blobs import BlobStore
from kolam.store.db import Database, create_database
from kolam.store.migrate import upgrade
from kolam.store.tables import Annotation, AnswerLabel, Consensus, Task, User
from kolam.store.types import utcnow

CLASSES = [f"class_{i}" for i in range(5)]


def build(db: Database, blobs: BlobStore, items: int, annotators: int, seed: int) -> tuple[int, np.ndarray]:
    with db.write() as s:
        org = accounts.create_organization(s, None, slug="bench", name="bench")
        schema = {"classes": [{"name": c} for c in CLASSES], "multi_label": False}
        project = projects.create_project(
            s, None, org.id, kind="text_classes", schema=schema, settings=ProjectSettings(name="resolve", overlap=5)
        )
        org_id, project_id = org.id, project.id
    records = (SourceRecord({"text": f"item {i}", "id": f"i{i}"}, f"item {i}") for i in range(items))
    imports.import_records(
        db, None, project_id, records, source="bench", format_name="bench", blobs=blobs, org_id=org_id
    )
    crowd = simulate(items, 5, annotators, len(CLASSES), seed)
    now = utcnow()
    with db.write() as s:
        s.execute(
            sa.insert(User),
            [{"email": f"a{i}@bench", "name": "", "is_active": True, "is_admin": False, "created_at": now}
             for i in range(annotators)],
        )  # fmt: skip
        users = s.scalars(sa.select(User.id).order_by(User.id)).all()
        first_item = s.scalar(sa.select(sa.func.min(Task.item_id)).where(Task.project_id == project_id))
        s.commit()
    assert first_item is not None
    rows = [
        {"id": i + 1, "project_id": project_id, "task_id": first_item + int(t), "user_id": users[int(w)],
         "client_id": f"c{i}",
         "schema_version": 1, "version": 1, "is_current": True, "counted": True, "late": False,
         "value": {"labels": [CLASSES[int(label)]], "unclear": False, "comment": ""}, "created_at": now}
        for i, (t, w, label) in enumerate(zip(crowd["tasks"], crowd["workers"], crowd["labels"], strict=True))
    ]  # fmt: skip
    labels = [
        {"annotation_id": r["id"], "label": r["value"]["labels"][0], "project_id": project_id, "task_id": r["task_id"]}
        for r in rows
    ]  # what the submit path writes beside each counted answer
    for start in range(0, len(rows), 50_000):
        with db.write() as s:
            s.execute(sa.insert(Annotation), rows[start : start + 50_000])
            s.execute(sa.insert(AnswerLabel), labels[start : start + 50_000])
            s.commit()
    with db.write() as s:
        s.execute(
            sa.update(Task).where(Task.project_id == project_id).values(state="done", answers_count=5, open_slots=0)
        )
        s.commit()
    return project_id, crowd["truth"]


class WriterProbe(threading.Thread):
    """Small write transactions in a loop, as submits are: the longest wait is what an annotator would feel."""

    def __init__(self, db: Database) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.stop = threading.Event()
        self.waits: list[float] = []

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            with self.db.write() as s:
                s.execute(sa.text("UPDATE organizations SET name = name WHERE id = 1"))
                s.commit()
            self.waits.append(time.perf_counter() - started)
            time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--annotators", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = create_database(f"sqlite:///{tmp}/kolam.db")
        upgrade(db)
        say(f"building {args.items:,} items × 5 answers …")
        started = time.perf_counter()
        project_id, truth = build(db, BlobStore(f"{tmp}/blobs"), args.items, args.annotators, args.seed)
        say(f"built in {time.perf_counter() - started:.1f} s")
        probe = WriterProbe(db)
        probe.start()
        started = time.perf_counter()
        summary = resolve.resolve_project(db, project_id)
        took = time.perf_counter() - started
        probe.stop.set()
        probe.join()
        with db.read() as s:
            consensus = dict(
                s.execute(sa.select(Consensus.task_id, Consensus.value).where(Consensus.project_id == project_id)).all()
            )
            first = min(consensus)
            started = time.perf_counter()
            report = quality_report.quality_report(s, None, project_id, org_id=1)
            report_s = time.perf_counter() - started
        right = sum(v["labels"][0] == CLASSES[int(truth[t - first])] for t, v in consensus.items())
        waits = np.array(probe.waits)
        result = {
            "items": args.items,
            "answers": summary.answers,
            "annotators": summary.annotators,
            "method": summary.method,
            "resolve_s": round(took, 2),
            "accuracy": round(right / len(consensus), 4),
            "queued_for_review": summary.queued_for_review,
            "probe_writes": int(waits.size),
            "probe_wait_p50_ms": round(float(np.percentile(waits, 50)) * 1000, 1),
            "probe_wait_max_ms": round(float(waits.max()) * 1000, 1),
            "report_s": round(report_s, 2),
            "report_alpha": report["agreement"]["krippendorff_alpha"],
            "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "loadavg": loadavg(),
            "machine": machine(),
        }
        record("resolve", result)
        db.dispose()


if __name__ == "__main__":
    main()
