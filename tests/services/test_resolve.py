"""Consensus for every project kind, through the services, on SQLite and PostgreSQL: classes (single and
multi-label), boxes and transcripts; gold and verdicts as anchors; settings validation; gold made ordinary."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from kolam.errors import Invalid
from kolam.services import gold, resolve
from kolam.services.assignment import lease_tasks
from kolam.services.gold import GoldEntry
from kolam.services.projects import ProjectSettings, update_project
from kolam.services.submissions import Submission, submit
from kolam.store.db import Database
from kolam.store.tables import AnnotatorScore, Consensus, Project, Task
from tests.factories import Factory, Person


def answer_all(db: Database, person: Person, project: Project, value_of: Any, count: int = 50) -> None:
    with db.write() as s:
        leased = lease_tasks(s, person.actor, project.id, count=count)
    for task in leased:
        with db.write() as s:
            sub = Submission(task_id=task.task_id, client_id=str(uuid.uuid4()), value=value_of(task.item))
            submit(s, person.actor, project.id, sub)


def consensus_by_external_id(db: Database, project: Project) -> dict[str, Consensus]:
    from kolam.store.tables import Item

    with db.read() as s:
        rows = s.execute(
            sa.select(Item.external_id, Consensus)
            .join(Consensus, Consensus.task_id == Item.id)
            .where(Consensus.project_id == project.id)
        ).all()
        return {ext: row for ext, row in rows}


def run_resolve(db: Database, project: Project) -> resolve.ResolveSummary:
    return resolve.resolve_project(db, project.id)


def test_boxes_are_fused_and_each_annotator_gets_a_box_f1(factory: Factory, db: Database):
    org = factory.org()
    project = factory.project(org, "image_boxes", overlap=3)
    factory.named_items(project, ["street-1", "street-2"])
    car = {"x": 100, "y": 50, "w": 200, "h": 100, "label": "car"}
    people = [factory.person(org) for _ in range(3)]

    def drawn(shift: float, extra: bool = False):
        def value(item: dict[str, Any]) -> dict[str, Any]:
            boxes = [{**car, "x": car["x"] + shift}]
            if extra:
                boxes.append({"x": 500, "y": 500, "w": 30, "h": 30, "label": "person"})
            return {"boxes": boxes}

        return value

    answer_all(db, people[0], project, drawn(0))
    answer_all(db, people[1], project, drawn(6))
    answer_all(db, people[2], project, drawn(-6, extra=True))  # a stray box nobody else saw

    summary = run_resolve(db, project)

    assert summary.items == 2 and summary.answers == 6
    fused = consensus_by_external_id(db, project)["street-1"]
    (box,) = fused.value["boxes"]  # the stray box had one vote of three: dropped
    assert box["label"] == "car" and box["x"] == pytest.approx(100, abs=0.01) and box["w"] == 200
    assert fused.method == "box_fusion" and fused.confidence == pytest.approx(1.0)
    with db.read() as s:
        scores = {r.user_id: r for r in s.scalars(sa.select(AnnotatorScore))}
    assert scores[people[0].actor.user_id].skill == pytest.approx(1.0)
    stray = scores[people[2].actor.user_id]
    assert stray.skill == pytest.approx(2 / 3)  # 1 of 2 boxes right, 1 of 1 found
    assert stray.detail is not None
    assert (stray.detail["precision"], stray.detail["recall"]) == (0.5, 1.0)
    assert 0.9 < stray.detail["mean_iou"] < 1.0  # shifted 6 px against a fused box 200 px wide


def test_transcripts_are_combined_word_by_word_in_the_clips_language(factory: Factory, db: Database):
    org = factory.org()
    project = factory.project(org, "transcription", overlap=3)
    factory.named_items(project, ["clip-1"])  # the item's media do not matter to the consensus
    said = ["வணக்கம் நண்பர்களே இன்று", "வணக்கம் நண்பர்களே இன்று", "வணக்கம் நண்பர் இன்று"]
    for text in said:
        person = factory.person(org)
        answer_all(
            db,
            person,
            project,
            lambda item, t=text: {"segments": [{"start": 0.0, "end": 2.5, "text": t, "language": "ta"}]},
        )

    run_resolve(db, project)

    row = consensus_by_external_id(db, project)["clip-1"]
    (segment,) = row.value["segments"]
    assert segment["text"] == "வணக்கம் நண்பர்களே இன்று" and segment["language"] == "ta"
    assert (segment["start"], segment["end"]) == (0.0, 2.5)
    assert row.method == "rover" and row.status == "aggregated"
    assert 2 / 3 < row.confidence < 1.0
    with db.read() as s:
        details = sorted(
            (r.detail["wer_to_consensus"], r.detail["cer_to_consensus"]) for r in s.scalars(sa.select(AnnotatorScore))
        )
    assert details[:2] == [(0.0, 0.0), (0.0, 0.0)]
    # one word of three, and a few letters of the clip's
    assert details[2][0] == pytest.approx(1 / 3, abs=1e-4) and 0 < details[2][1] < 0.2


def test_multi_label_classes_are_decided_per_class(factory: Factory, db: Database):
    org = factory.org()
    project = factory.project(org, "text_classes", overlap=3)  # multi_label: ok, spam, abuse
    factory.texts(project, 1, prefix="message")
    for labels in (["spam", "abuse"], ["spam", "abuse"], ["spam"]):
        answer_all(db, factory.person(org), project, lambda item, ls=labels: {"labels": ls})

    run_resolve(db, project)

    (row,) = consensus_by_external_id(db, project).values()
    assert sorted(row.value["labels"]) == ["abuse", "spam"]
    assert row.posterior is not None and row.posterior["spam"] > row.posterior["abuse"] > 0.5 > row.posterior["ok"]


def test_gold_anchors_the_estimate_and_is_not_given_a_consensus(factory: Factory, db: Database):
    org = factory.org()
    manager = factory.person(org, "manager")
    project = factory.project(org, "image_classes", overlap=2, gold_ratio=0.5)
    factory.named_items(project, ["a", "b", "c"])
    with db.write() as s:
        gold.set_gold(s, manager.actor, project.id, [GoldEntry({"labels": ["dog"]}, external_id="a")])
    # Two annotators who always disagree: gold says which one to trust.
    right, wrong = factory.person(org), factory.person(org)
    answer_all(db, right, project, lambda item: {"labels": ["dog"]})
    answer_all(db, wrong, project, lambda item: {"labels": ["cat"]})

    run_resolve(db, project)

    rows = consensus_by_external_id(db, project)
    assert set(rows) == {"b", "c"}
    assert all(r.value == {"labels": ["dog"]} for r in rows.values())
    with db.read() as s:
        scores = {r.user_id: r for r in s.scalars(sa.select(AnnotatorScore))}
    assert (scores[right.actor.user_id].gold_answered, scores[right.actor.user_id].gold_correct) == (1, 1)
    assert (scores[wrong.actor.user_id].gold_answered, scores[wrong.actor.user_id].gold_correct) == (1, 0)
    assert scores[right.actor.user_id].skill > scores[wrong.actor.user_id].skill


def test_gold_made_ordinary_again_wants_the_projects_overlap(factory: Factory, db: Database):
    org = factory.org()
    manager = factory.person(org, "manager")
    project = factory.project(org, "image_classes", overlap=2)
    factory.named_items(project, ["a"])
    with db.write() as s:
        gold.set_gold(s, manager.actor, project.id, [GoldEntry({"labels": ["dog"]}, external_id="a")])
    with db.read() as s:
        task = s.scalar(sa.select(Task).where(Task.project_id == project.id))
        assert task is not None and task.is_gold and task.answers_wanted == gold.GOLD_SLOTS
        task_id = task.item_id
    with db.write() as s:
        assert gold.remove_gold(s, manager.actor, project.id, [task_id]) == 1
    with db.read() as s:
        task = s.get(Task, task_id)
        assert task is not None
        assert (task.is_gold, task.answers_wanted, task.open_slots, task.state) == (False, 2, 2, "open")


@pytest.mark.parametrize(
    ("quality", "field"),
    [
        ({"method": "best"}, "quality.method"),
        ({"target_confidence": 1.0}, "quality.target_confidence"),
        ({"qualification": {"enabled": True, "scope": "skill:"}}, "quality.qualification.scope"),
        ({"surprise": 1}, "quality.surprise"),
        ({"adaptive": True, "max_overlap": 2}, "quality.max_overlap"),
    ],
    ids=["unknown-method", "certainty", "empty-skill", "unknown-field", "max-below-overlap"],
)
def test_a_bad_quality_policy_is_refused_naming_the_field(factory: Factory, db: Database, quality, field):
    org = factory.org()
    project = factory.project(org, "image_classes", overlap=3)
    with db.write() as s, pytest.raises(Invalid) as caught:
        update_project(s, None, project.id, settings=ProjectSettings(quality=quality), org_id=org.id)
    assert caught.value.field == field
