"""Active learning through Kolam's services: labels needed to reach 98 % of the all-labels head on Fashion-MNIST
when the real database, ``train_project`` and ``prelabel_project`` do the work.

``bench_active_learning.py`` runs the same experiment on the pure functions; this one drives the services:

1. a fresh SQLite database, an org, an ``image_classes`` project of Fashion-MNIST's ten classes (overlap 1,
   learning ``{"min_train_items": 30, "active_learning": <strategy>, "pseudo_labels": <flag>,
   "route_confused": false}``); the first ``--pool`` training images are imported through
   ``services.imports.import_records`` as URL records (``{"id": "train-00042", "image": "https://…"}``: real
   ``Item``/``Task`` rows, no bytes), and their cached EfficientNet-Lite0 embeddings
   (``fashion_embeddings.py``) are written with ``services.embeddings._save`` under the encoder name the
   service expects, so ``ensure_embeddings`` finds nothing to embed;
2. each round the chosen tasks get their TRUE label from one simulated annotator: ``Annotation`` and
   ``AnswerLabel`` rows and the task marked done (answers 1, no open slot), as the submit path leaves them but
   written in bulk (the submit path itself is ``bench_annotate.py``'s subject), then ``resolve.resolve_project``
   writes the consensus (one answer: status ``agreed``). Then ``train_project`` (timed), the active version's
   calibrated head scored on the 10,000 test embeddings, ``prelabel_project`` (timed), and the next batch is the
   ``--batch`` open tasks of highest ``Task.priority`` (ties by item id): Kolam's own active-learning choice.
   Round 0 takes the cold-start order ``prelabel_project`` writes before any model (k-means representatives:
   2 % of the open tasks, at most 500, the rest by item id). ``--random`` picks uniformly instead and never
   runs ``prelabel_project``.
3. the goal is ``--share`` (98 %) of the accuracy of the head trained on ALL pool labels, computed once with the
   pure ``SoftmaxHead`` exactly as ``services/training._projection`` + ``_fit`` do (standardise, whitened PCA to
   ≤ 256 components fitted on the embeddings, C 0.05, unit weights: every label there is agreed, confidence 1);
   with every item labelled there is nothing to pseudo-label, so this is what ``train_project`` would deploy.

Stops after ``--rounds`` rounds or once the test accuracy has reached the goal twice.

    python benchmarks/bench_training_service.py --pool 10000 --rounds 3     # a quick check
    python benchmarks/bench_training_service.py                              # pool 20,000, until the goal
    python benchmarks/bench_training_service.py --random
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import loadavg, machine, record, say
from fashion_embeddings import embeddings, embeddings_prefix, labels

from kolam.formats import SourceRecord
from kolam.learning.calibration import softmax
from kolam.learning.heads import SoftmaxHead
from kolam.services import accounts, imports, projects, resolve
from kolam.services.embeddings import _save, encoder_name
from kolam.services.model_versions import active_version, load_arrays
from kolam.services.prelabel import prelabel_project
from kolam.services.projects import ProjectSettings
from kolam.services.training import COMPONENTS, HEAD_C, train_project
from kolam.store.blobs import BlobStore
from kolam.store.db import Database, create_database
from kolam.store.migrate import upgrade
from kolam.store.tables import Annotation, AnswerLabel, Item, Task, User
from kolam.store.types import utcnow

NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
K = len(NAMES)
SAVE_CHUNK = 5_000


def build(db: Database, blobs: BlobStore, pool: int, strategy: str, pseudo_labels: bool) -> tuple[int, int]:
    """The org, the project, one annotator and ``pool`` URL items imported by the real service."""
    learning = {
        "min_train_items": 30,
        "active_learning": strategy,
        "pseudo_labels": pseudo_labels,
        "route_confused": False,
    }
    with db.write() as s:
        org = accounts.create_organization(s, None, slug="bench", name="bench")
        schema = {"classes": [{"name": n} for n in NAMES], "multi_label": False}
        project = projects.create_project(
            s, None, org.id, kind="image_classes", schema=schema,
            settings=ProjectSettings(name="fashion", overlap=1, learning=learning),
        )  # fmt: skip
        org_id, project_id = org.id, project.id
    records = (
        SourceRecord({"id": f"train-{i:05d}", "image": f"https://data.example/fashion/train/{i:05d}.png"}, f"line {i}")
        for i in range(pool)
    )
    imports.import_records(
        db, None, project_id, records, source="bench", format_name="bench", blobs=blobs, org_id=org_id
    )
    with db.write() as s:
        s.execute(
            sa.insert(User),
            [{"email": "annotator@bench", "name": "", "is_active": True, "is_admin": False, "created_at": utcnow()}],
        )
        user_id = s.scalar(sa.select(User.id).where(User.email == "annotator@bench"))
        s.commit()
    assert user_id is not None
    return project_id, int(user_id)


def item_ids(db: Database, project_id: int, pool: int) -> NDArray[np.int64]:
    """Item id of every pool row (row i is the record ``train-{i:05d}``)."""
    with db.read() as s:
        rows = s.execute(sa.select(Item.external_id, Item.id).where(Item.project_id == project_id)).all()
    out = np.zeros(pool, dtype=np.int64)
    for external, item_id in rows:
        out[int(str(external).split("-")[1])] = item_id
    assert (out > 0).all(), "an import record has no item"
    return out


def write_answers(
    db: Database, project_id: int, user_id: int, ids: NDArray[np.int64], truth: NDArray[np.int64], first_id: int
) -> None:  # fmt: skip
    """One true answer per task, as the submit path leaves it (annotation, label index row, task done)."""
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {"id": first_id + j, "project_id": project_id, "task_id": int(t), "user_id": user_id,
         "client_id": f"bench-{int(t)}", "schema_version": 1, "version": 1, "is_current": True, "counted": True,
         "late": False, "value": {"labels": [NAMES[int(c)]], "unclear": False, "comment": ""},
         "lead_time_ms": 1000, "time_spent_ms": 900, "created_at": now}
        for j, (t, c) in enumerate(zip(ids, truth, strict=True))
    ]  # fmt: skip
    label_rows = [
        {"annotation_id": r["id"], "label": r["value"]["labels"][0], "project_id": project_id, "task_id": r["task_id"]}
        for r in rows
    ]
    with db.write() as s:
        s.execute(sa.insert(Annotation), rows)
        s.execute(sa.insert(AnswerLabel), label_rows)
        s.execute(
            sa.update(Task)
            .where(Task.item_id.in_([int(t) for t in ids]))
            .values(state="done", answers_count=1, open_slots=0, updated_at=now)
        )
        s.commit()


def next_batch(db: Database, project_id: int, batch: int) -> NDArray[np.int64]:
    """Kolam's active-learning choice: the open tasks of highest priority, ties by item id."""
    with db.read() as s:
        picked = s.scalars(
            sa.select(Task.item_id)
            .where(Task.project_id == project_id, Task.state == "open", Task.is_gold.is_(False))
            .order_by(Task.priority.desc(), Task.item_id)
            .limit(batch)
        ).all()
    return np.array(picked, dtype=np.int64)


def test_accuracy(db: Database, blobs: BlobStore, project_id: int, x: NDArray[np.float32], y: NDArray[Any]) -> float:
    """Accuracy of the project's active version (its calibrated head) on the test embeddings."""
    with db.read() as s:
        version = active_version(s, project_id)
        assert version is not None and version.artifact_key, "no active version"
        key = version.artifact_key
    arrays = load_arrays(blobs, key)
    temperature = float(arrays.pop("temperature")) if "temperature" in arrays else 1.0
    head = SoftmaxHead.from_arrays(arrays)
    p = softmax(head.logits(x) / temperature)
    return float((p.argmax(axis=1) == y).mean())


def reference_accuracy(
    x_pool: NDArray[np.float32], y_pool: NDArray[Any], x_test: NDArray[np.float32], y_test: NDArray[Any]
) -> float:
    """The head on every pool label, as ``training._projection`` + ``_fit`` build it (no unlabelled rows left)."""
    components = max(1, min(COMPONENTS, x_pool.shape[0] // 2))
    head = SoftmaxHead(n_components=components, c=HEAD_C).fit_projection(x_pool)
    head.fit(x_pool, y_pool, K, sample_weight=np.ones(y_pool.size), keep_projection=True)
    return float((head.predict(x_test) == y_test).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=20_000, help="the first N training images are the pool")
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--rounds", type=int, default=40, help="most training rounds")
    parser.add_argument("--seed", type=int, default=20261128, help="for --random")
    parser.add_argument(
        "--strategy", default="cluster-margin", choices=["cluster-margin", "hybrid", "margin", "entropy", "random"]
    )
    parser.add_argument("--pseudo-labels", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--random", action="store_true", help="pick batches uniformly, not by the queue's order")
    parser.add_argument("--share", type=float, default=0.98, help="share of the all-labels accuracy to reach")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (the machine is shared)")
    args = parser.parse_args()
    with threadpool_limits(args.threads):
        run(args)


def run(args: argparse.Namespace) -> None:
    started, load_before = time.perf_counter(), loadavg()
    x_pool = embeddings_prefix("train", args.pool)
    y_pool = labels("train")[: args.pool]
    x_test, y_test = embeddings("t10k"), labels("t10k")
    t0 = time.perf_counter()
    full = reference_accuracy(x_pool, y_pool, x_test, y_test)
    goal = args.share * full
    say(
        f"all {args.pool:,} labels (pure head): accuracy {full:.4f} ({time.perf_counter() - t0:.0f} s); goal {goal:.4f}"
    )
    encoder = encoder_name("image_classes")
    assert encoder is not None
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = create_database(f"sqlite:///{tmp}/kolam.db")
        upgrade(db)
        blobs = BlobStore(f"{tmp}/blobs")
        t0 = time.perf_counter()
        project_id, user_id = build(db, blobs, args.pool, args.strategy, args.pseudo_labels)
        ids = item_ids(db, project_id, args.pool)
        import_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for start in range(0, args.pool, SAVE_CHUNK):
            part = slice(start, start + SAVE_CHUNK)
            _save(db, project_id, encoder, [int(i) for i in ids[part]], x_pool[part])
        embed_s = time.perf_counter() - t0
        say(f"imported {args.pool:,} items in {import_s:.1f} s, wrote their embeddings in {embed_s:.1f} s")
        row_of = {int(item): i for i, item in enumerate(ids)}
        rng = np.random.default_rng(args.seed)
        order = rng.permutation(ids)
        labelled: set[int] = set()
        cold_s: float | None = None
        if args.random:
            chosen = order[: args.batch]
        else:
            t0 = time.perf_counter()
            prelabel_project(db, blobs, project_id)
            cold_s = time.perf_counter() - t0
            chosen = next_batch(db, project_id, args.batch)
            say(f"cold-start order: {cold_s:.1f} s")
        passed, answer_id = 0, 1
        for round_no in range(args.rounds):
            truth = y_pool[[row_of[int(t)] for t in chosen]]
            t0 = time.perf_counter()
            write_answers(db, project_id, user_id, chosen, truth, answer_id)
            answer_id += chosen.size
            summary_r = resolve.resolve_project(db, project_id)
            resolve_s = time.perf_counter() - t0
            labelled.update(int(t) for t in chosen)
            t0 = time.perf_counter()
            summary = train_project(db, blobs, project_id)
            train_s = time.perf_counter() - t0
            accuracy = test_accuracy(db, blobs, project_id, x_test, y_test)
            semi = summary.metrics.get("semi_supervised") or {}
            prelabel_s: float | None = None
            if args.random:
                chosen = np.array([t for t in order if int(t) not in labelled][: args.batch], dtype=np.int64)
            else:
                t0 = time.perf_counter()
                prelabel_project(db, blobs, project_id)
                prelabel_s = time.perf_counter() - t0
                chosen = next_batch(db, project_id, args.batch)
            row = {
                "round": round_no,
                "labels": len(labelled),
                "consensus": summary_r.items,
                "status": summary.status,
                "version": summary.version,
                "accuracy": round(accuracy, 4),
                "cv_accuracy": round(float(summary.metrics.get("cross_validated", {}).get("accuracy", math.nan)), 4),
                "pseudo_used": semi.get("used"),
                "pseudo_labels": semi.get("pseudo_labels"),
                "cv_with": semi.get("accuracy_with"),
                "cv_without": semi.get("accuracy_without"),
                "resolve_s": round(resolve_s, 2),
                "train_s": round(train_s, 2),
                "prelabel_s": None if prelabel_s is None else round(prelabel_s, 2),
            }
            rows.append(row)
            say(f"round {round_no}: {row}")
            passed += accuracy >= goal
            if passed >= 2 or chosen.size == 0:
                break
        db.dispose()
    to_goal = next((r["labels"] for r in rows if r["accuracy"] >= goal), None)
    mode = "random" if args.random else args.strategy
    print(
        f"\npool {args.pool:,}; batches of {args.batch}; picks: {mode}; pseudo-labels allowed: {args.pseudo_labels}; "
        f"all pool labels: {100 * full:.2f} %; goal (×{args.share}): {100 * goal:.2f} %\n"
    )
    print("| labels | test accuracy | pseudo-labels used (count) | CV acc. without / with | train s | prelabel s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        used = "—" if r["pseudo_used"] is None else ("yes" if r["pseudo_used"] else "no")
        if r["pseudo_used"]:
            used += f" ({r['pseudo_labels']:,})"
        cv = "—" if r["cv_without"] is None else f"{100 * r['cv_without']:.1f} / {100 * r['cv_with']:.1f} %"
        pre = "—" if r["prelabel_s"] is None else f"{r['prelabel_s']:.1f}"
        print(f"| {r['labels']:,} | {100 * r['accuracy']:.2f} % | {used} | {cv} | {r['train_s']:.1f} | {pre} |")
    seconds = round(time.perf_counter() - started, 1)
    reached = f"{to_goal:,}" if to_goal is not None else "not reached"
    print(f"\nlabels to goal: {reached}\n{seconds} s, loadavg {load_before} → {loadavg()}")
    record(
        "training_service",
        {
            "args": vars(args),
            "full_accuracy": round(full, 4),
            "goal": round(goal, 4),
            "labels_to_goal": to_goal,
            "import_s": round(import_s, 2),
            "embeddings_write_s": round(embed_s, 2),
            "cold_start_s": None if cold_s is None else round(cold_s, 2),
            "rounds": rows,
            "seconds": seconds,
            "loadavg_before": load_before,
            "machine": machine(),
        },
        quiet=True,
    )


if __name__ == "__main__":
    main()
