"""The model in the loop through the services, with the real packaged image encoder on real Fashion-MNIST
images: people's settled answers train a head, gold judges it, the active version pre-labels, re-orders the
queue and (when allowed) settles what it is sure of, with audits that switch a class off when it fails."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

pytest.importorskip("onnxruntime")

from kolam.demo.datasets import iter_fashion_mnist
from kolam.services import gold, prelabel, resolve, training
from kolam.services.assignment import lease_tasks
from kolam.services.gold import GoldEntry
from kolam.services.review import submit_review
from kolam.services.submissions import Submission, submit
from kolam.store.db import Database
from kolam.store.tables import Consensus, Item, Prediction, Project, Task
from kolam.store.tables_learning import Embedding, ModelVersion
from tests.factories import Factory

N_ITEMS = 160
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Sneaker")
"""Four classes keep training a few seconds (the head's cost grows with classes); two of them look alike."""
SCHEMA = {"classes": [{"name": name} for name in CLASSES]}


@pytest.fixture
def fashion(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """160 real Fashion-MNIST test images of four classes as PNG files, and each one's true class by content hash."""
    folder = tmp_path / "fashion"
    folder.mkdir()
    truth = {}
    for png, label, index in iter_fashion_mnist():
        if label not in CLASSES:
            continue
        if len(truth) == N_ITEMS:
            break
        name = f"fm{index:05d}.png"
        (folder / name).write_bytes(png)
        truth[hashlib.sha256(png).hexdigest()] = label
    return folder, truth


def _truth_by_item(db: Database, project: Project, truth: dict[str, str]) -> dict[int, str]:
    with db.read() as s:
        rows = s.execute(sa.select(Item.id, Item.content_hash).where(Item.project_id == project.id)).all()
    return {item_id: truth[content_hash] for item_id, content_hash in rows}


def _label_some(db: Database, factory: Factory, project: Project, truth: dict[int, str], count: int) -> None:
    person = factory.person(project_org(db, project))
    leased = []
    while len(leased) < count:
        with db.write() as s:
            batch = lease_tasks(s, person.actor, project.id, count=min(100, count - len(leased)))
        assert batch, "the queue ran dry"
        leased += batch
    for task in leased:
        with db.write() as s:
            value = {"labels": [truth[task.task_id]]}
            submit(s, person.actor, project.id, Submission(task.task_id, str(uuid.uuid4()), value))


def project_org(db: Database, project: Project):  # type: ignore[no-untyped-def]
    from kolam.store.tables import Organization

    with db.read() as s:
        return s.get(Organization, project.org_id)


def test_settled_answers_train_a_model_that_prelabels_orders_and_auto_accepts(
    factory: Factory, db: Database, fashion: tuple[Path, dict[str, str]]
) -> None:
    folder, names = fashion
    org = factory.org()
    project = factory.project(org, "image_classes", schema=SCHEMA, overlap=1, learning={"min_train_items": 30})
    factory.files(project, folder)
    truth = _truth_by_item(db, project, names)
    ids = sorted(truth)
    gold_ids = ids[:30]
    with db.write() as s:
        gold.set_gold(s, None, project.id, [GoldEntry({"labels": [truth[i]]}, item_id=i) for i in gold_ids],
                      org_id=org.id)  # fmt: skip
        s.commit()

    # before any answer: a cold start orders the queue by clusters
    cold = prelabel.prelabel_project(db, factory.blobs, project.id)
    assert cold.model is None and cold.prioritised > 0
    with db.read() as s:
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(Embedding).where(Embedding.project_id == project.id))
            == N_ITEMS
        )

    _label_some(db, factory, project, truth, 100)
    resolve.resolve_project(db, project.id)
    assert training.should_retrain(db, project.id)
    summary = training.train_project(db, factory.blobs, project.id)
    assert summary.status == "active", summary.reason
    assert summary.gold == 30
    # a head on 100 real images and frozen EfficientNet-Lite0 features: far above chance (0.25)
    assert summary.metrics["gold"]["accuracy"] > 0.7
    assert summary.metrics["cross_validated"]["accuracy"] > 0.7
    with db.read() as s:
        version = s.scalar(sa.select(ModelVersion).where(ModelVersion.project_id == project.id))
        assert version is not None and version.status == "active" and version.version == 1
        assert len(version.confusion or []) == len(CLASSES)
        assert version.calibration and version.calibration["temperature"] > 0
        # 30 gold items are fewer than min_support (50): the out-of-fold predictions calibrate
        assert version.calibration["fitted_on"] == "out-of-fold"

    result = prelabel.prelabel_project(db, factory.blobs, project.id)
    assert result.model == "v1" and result.predicted == N_ITEMS and result.auto_accepted == 0
    with db.read() as s:
        predictions = s.execute(
            sa.select(Prediction.task_id, Prediction.value, Prediction.distribution).where(
                Prediction.project_id == project.id, Prediction.model_id.is_not(None)
            )
        ).all()
    assert len(predictions) == N_ITEMS
    right = sum(p.value["labels"][0] == truth[p.task_id] for p in predictions)
    assert right / N_ITEMS > 0.75
    assert all(abs(sum(p.distribution.values()) - 1) < 1e-3 for p in predictions)  # four classes: all kept

    # a retrain without new answers is not promoted over the same model (no better on gold)
    again = training.train_project(db, factory.blobs, project.id)
    assert again.status == "rejected" and "held-out gold" in again.reason


def test_auto_accept_settles_sure_items_never_gold_and_audits_switch_a_class_off(
    factory: Factory, db: Database, fashion: tuple[Path, dict[str, str]]
) -> None:
    folder, names = fashion
    org = factory.org()
    # a low target so that this small project earns thresholds; the mechanism is what is tested here
    learning = {"min_train_items": 30, "auto_accept": {"enabled": True, "target_precision": 0.6, "min_support": 10,
                                                        "audit_rate": 0.5}}  # fmt: skip
    project = factory.project(org, "image_classes", schema=SCHEMA, overlap=1, learning=learning)
    factory.files(project, folder)
    truth = _truth_by_item(db, project, names)
    gold_ids = sorted(truth)[:20]
    with db.write() as s:
        gold.set_gold(s, None, project.id, [GoldEntry({"labels": [truth[i]]}, item_id=i) for i in gold_ids],
                      org_id=org.id)  # fmt: skip
        s.commit()
    _label_some(db, factory, project, truth, 120)
    resolve.resolve_project(db, project.id)
    assert training.train_project(db, factory.blobs, project.id).status == "active"
    with db.read() as s:
        calibration = s.scalar(sa.select(ModelVersion.calibration).where(ModelVersion.project_id == project.id))
    # gold (20 ≥ min_support 10), which the model neither picked nor trained on, calibrates it
    assert calibration is not None and calibration["fitted_on"] == "gold"
    result = prelabel.prelabel_project(db, factory.blobs, project.id)
    assert result.auto_accepted > 0
    with db.read() as s:
        auto = s.execute(
            sa.select(Consensus.task_id, Consensus.value, Consensus.review_state, Consensus.review_reason).where(
                Consensus.project_id == project.id, Consensus.status == "auto"
            )
        ).all()
        states = dict(s.execute(sa.select(Task.item_id, Task.state).where(Task.project_id == project.id)).all())
    assert len(auto) == result.auto_accepted
    assert not {a.task_id for a in auto} & set(gold_ids)
    assert all(states[a.task_id] == "done" for a in auto)
    audited = [a for a in auto if a.review_state == "queued"]
    assert len(audited) == result.audits > 0 and all(a.review_reason == "audit" for a in audited)

    # a reviewer rejects the audited labels of one class: its precision estimate falls with each
    reviewer = factory.person(org, role="reviewer")
    by_class = Counter(a.value["labels"][0] for a in audited)
    wrong = by_class.most_common(1)[0][0]
    with db.read() as s:
        before = s.scalar(sa.select(ModelVersion.thresholds).where(ModelVersion.project_id == project.id))
    rejected = [a for a in audited if a.value["labels"][0] == wrong]
    for a in rejected:
        with db.write() as s:
            submit_review(s, reviewer.actor, project.id, a.task_id, verdict="reject")
    with db.read() as s:
        after = s.scalar(sa.select(ModelVersion.thresholds).where(ModelVersion.project_id == project.id))
        reopened = s.scalar(sa.select(Task.state).where(Task.item_id == rejected[0].task_id))
    entry = after["classes"][wrong]
    assert entry["audits"] == len(rejected) and entry["audits_correct"] == 0
    assert entry["lower_bound"] < before["classes"][wrong]["lower_bound"]
    # pooled thresholds (the default) keep a class while it is not shown worse than the target
    assert after["pooled_threshold"] is not None
    assert entry["enabled"] == (entry["upper_bound"] >= after["target"])
    assert reopened == "open"  # a rejected label goes back to people
    # a retrain starts with the audits of the versions before it (a window), not from nothing
    training.train_project(db, factory.blobs, project.id)
    with db.read() as s:
        newest = s.scalars(
            sa.select(ModelVersion).where(ModelVersion.project_id == project.id).order_by(ModelVersion.version.desc())
        ).first()
    assert newest is not None and newest.version == 2 and newest.thresholds is not None
    carried = newest.thresholds["classes"][wrong]
    assert (carried["audits"], carried["audits_carried"], carried["audits_correct_carried"]) == (0, len(rejected), 0)
    assert carried["enabled"] == (carried["upper_bound"] >= newest.thresholds["target"])
    if by_class[wrong] < 4:  # four audits, all wrong, are what show a class below 0.6 at 95 %
        return
    assert entry["enabled"] is False
    # the next prediction run gives the class's other auto-accepted items back to people
    again = prelabel.prelabel_project(db, factory.blobs, project.id)
    with db.read() as s:
        still = s.execute(
            sa.select(Consensus.task_id, Consensus.value).where(
                Consensus.project_id == project.id, Consensus.status == "auto"
            )
        ).all()
    assert again.revoked > 0
    assert all(row.value["labels"][0] != wrong for row in still)


def test_with_adaptive_overlap_the_model_is_the_prior_so_one_agreeing_answer_can_settle_an_item(
    factory: Factory, db: Database, fashion: tuple[Path, dict[str, str]]
) -> None:
    folder, names = fashion
    org = factory.org()
    quality = {"adaptive": True, "max_overlap": 3, "target_confidence": 0.95}
    project = factory.project(org, "image_classes", schema=SCHEMA, overlap=1, quality=quality,
                              learning={"min_train_items": 30})  # fmt: skip
    factory.files(project, folder)
    truth = _truth_by_item(db, project, names)
    _label_some(db, factory, project, truth, 100)
    resolve.resolve_project(db, project.id)
    assert training.train_project(db, factory.blobs, project.id).status == "active"
    prelabel.prelabel_project(db, factory.blobs, project.id)
    with db.read() as s:
        untouched = sa.select(Task.item_id).where(
            Task.project_id == project.id, Task.state == "open", Task.answers_count == 0
        )
        open_ids = set(s.scalars(untouched))
        predictions = {
            p.task_id: p
            for p in s.scalars(sa.select(Prediction).where(Prediction.project_id == project.id)).all()
            if p.task_id in open_ids
        }
    sure = [t for t, p in predictions.items() if p.confidence >= 0.99 and p.value["labels"][0] == truth[t]]
    unsure = [t for t, p in predictions.items() if p.confidence < 0.6]
    assert sure and unsure
    person = factory.person(org)
    answered: dict[int, str] = {}
    while len(answered) < len(open_ids):  # answer the untouched tasks once, truthfully
        with db.write() as s:
            batch = lease_tasks(s, person.actor, project.id, count=50)
        if not batch:
            break
        for task in batch:
            if task.task_id not in open_ids:
                continue  # leases expire unanswered; only first answers are looked at
            with db.write() as s:
                value = {"labels": [truth[task.task_id]]}
                submit(s, person.actor, project.id, Submission(task.task_id, str(uuid.uuid4()), value))
            answered[task.task_id] = truth[task.task_id]
    with db.read() as s:
        tasks = {t.item_id: t for t in s.scalars(sa.select(Task).where(Task.project_id == project.id)).all()}
    # an answer agreeing with a sure model settles the item; where the model is unsure, one answer is not enough
    assert all(tasks[t].state == "done" and tasks[t].answers_count == 1 for t in sure if t in answered)
    assert all(tasks[t].answers_wanted >= 2 for t in unsure if t in answered)


def test_few_answers_and_many_unlabelled_items_train_with_pseudo_labels_and_order_one_unsure_item_a_cluster(
    factory: Factory, db: Database, fashion: tuple[Path, dict[str, str]]
) -> None:
    folder, names = fashion
    org = factory.org()
    project = factory.project(org, "image_classes", schema=SCHEMA, overlap=1, learning={"min_train_items": 30})
    factory.files(project, folder)
    truth = _truth_by_item(db, project, names)
    gold_ids = sorted(truth)[:20]
    with db.write() as s:
        gold.set_gold(s, None, project.id, [GoldEntry({"labels": [truth[i]]}, item_id=i) for i in gold_ids],
                      org_id=org.id)  # fmt: skip
        s.commit()
    _label_some(db, factory, project, truth, 40)  # 100 items stay unlabelled
    resolve.resolve_project(db, project.id)
    summary = training.train_project(db, factory.blobs, project.id)
    assert summary.status == "active", summary.reason
    semi = summary.metrics["semi_supervised"]
    # both ways were cross-validated on the same folds; the kept one is never the worse on accuracy
    assert set(semi) >= {"used", "accuracy_with", "accuracy_without"}
    if semi["used"]:
        assert semi["accuracy_with"] >= semi["accuracy_without"]
        assert 0 < semi["pseudo_labels"] <= 100  # never gold, never an answered item
    assert summary.metrics["cross_validated"]["accuracy"] == max(semi["accuracy_with"], semi["accuracy_without"])

    result = prelabel.prelabel_project(db, factory.blobs, project.id)
    assert result.prioritised > 0
    with db.read() as s:
        rows = s.execute(
            sa.select(Task.item_id, Task.priority, Prediction.confidence)
            .join(Prediction, Prediction.task_id == Task.item_id)
            .where(Task.project_id == project.id, Task.state == "open", Task.is_gold.is_(False),
                   Prediction.model_id.is_not(None))
        ).all()  # fmt: skip
    assert len(rows) == N_ITEMS - 40 - len(gold_ids)
    # cluster-margin (the default): every open item here fits in one batch, lifted above the margin order
    lifted = [r for r in rows if r.priority > prelabel.sampling.PRIORITY_LEVELS]
    assert len(lifted) == min(prelabel.DIVERSE_BATCH, len(rows))
    assert len({r.priority for r in lifted}) == len(lifted)  # in the order picked


def test_cluster_margin_lifts_a_batch_of_unsure_items_one_per_clump_above_the_margin_order() -> None:
    import numpy as np

    rng = np.random.default_rng(3)
    n = 2000
    centres = rng.normal(scale=20, size=(8, 4))
    clump = rng.integers(8, size=n)
    x = (centres[clump] + rng.normal(size=(n, 4))).astype(np.float32)
    p = rng.dirichlet(np.ones(3) * 0.3, size=n)
    tasks = prelabel._Tasks(
        ids=np.arange(n, dtype=np.int64), open=np.ones(n, dtype=bool), gold=np.zeros(n, dtype=bool),
        untouched=np.ones(n, dtype=bool), settled=np.zeros(n, dtype=bool), priority=np.zeros(n, dtype=np.int64),
        overlap=1, adaptive=False,
    )  # fmt: skip
    order = prelabel._queue_order("cluster-margin", p, x, tasks)
    assert order is not None
    lifted = np.flatnonzero(order > prelabel.sampling.PRIORITY_LEVELS)
    assert lifted.size == prelabel.DIVERSE_BATCH
    margin = prelabel.sampling.margin(p)
    candidates = np.argsort(-margin, kind="stable")[: 10 * prelabel.DIVERSE_BATCH]
    assert np.isin(lifted, candidates).all()  # only unsure items are lifted
    assert set(clump[lifted].tolist()) == set(range(8))  # from every clump
    rest = np.setdiff1d(np.arange(n), lifted)
    # below the batch, the least sure come first
    assert np.corrcoef(order[rest], margin[rest])[0, 1] > 0.99
    plain = prelabel._queue_order("margin", p, x, tasks)
    assert plain is not None and plain.max() <= prelabel.sampling.PRIORITY_LEVELS
    # before any model: at least one batch of cluster representatives (2 % of 2,000 would be only 40)
    cold = prelabel._queue_order("cluster-margin", None, x, tasks)
    assert cold is not None
    picked = np.flatnonzero(cold > prelabel.sampling.PRIORITY_LEVELS)
    assert picked.size == prelabel.DIVERSE_BATCH and set(clump[picked].tolist()) == set(range(8))
