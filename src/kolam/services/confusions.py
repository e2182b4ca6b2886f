"""The most confused class pairs of a project, from both sides: the model against people's settled answers
(its out-of-fold confusion) and annotators against the consensus. Each pair comes with example items and the
manager's guideline note, so the report can show "denim jacket vs navy shirt" and what to do about it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.learning.confusion import ConfusedPair, confused_pairs
from kolam.services import guidelines
from kolam.services.model_versions import active_version
from kolam.store.tables import Consensus, Item, Prediction

TOP = 10
EXAMPLES = 5
EXAMPLE_SCAN = 50_000
"""At most this many predicted-and-settled items are scanned for examples (the newest), so big projects stay fast."""


def _pairs(counts: list[list[int]] | None, classes: list[str]) -> dict[tuple[str, str], ConfusedPair]:
    if not counts or len(counts) != len(classes):
        return {}
    return {guidelines.pair_key(classes[p.a], classes[p.b]): p for p in confused_pairs(counts, min_count=3, top=TOP)}


def _side(pair: ConfusedPair | None, names: tuple[str, str], classes: list[str]) -> dict[str, Any] | None:
    if pair is None:
        return None
    first_is_a = classes[pair.a] == names[0]
    return {
        "count": pair.count,
        "rate": round(pair.rate, 4),
        "first_as_second": pair.a_as_b if first_is_a else pair.b_as_a,
        "second_as_first": pair.b_as_a if first_is_a else pair.a_as_b,
    }


def _examples(
    session: Session, project_id: int, wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Items the model labelled one class of a pair while people settled the other."""
    rows = session.execute(
        sa.select(Prediction.task_id, Prediction.value, Consensus.value.label("settled"), Item.external_id, Item.meta)
        .join(Consensus, Consensus.task_id == Prediction.task_id)
        .join(Item, Item.id == Prediction.task_id)
        .where(
            Prediction.project_id == project_id,
            Prediction.model_id.is_not(None),
            Consensus.status.in_(("agreed", "aggregated", "reviewed")),
        )
        .order_by(Prediction.task_id.desc())
        .limit(EXAMPLE_SCAN)
    ).all()
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        model = (row.value.get("labels") or [None])[0]
        people = (row.settled.get("labels") or [None])[0]
        if model is None or people is None or model == people:
            continue
        key = guidelines.pair_key(model, people)
        if key in wanted and len(found.setdefault(key, [])) < EXAMPLES:
            found[key].append(
                {"item_id": row.task_id, "external_id": row.external_id, "model": model, "people": people}
            )
    return found


def confused_pairs_section(
    session: Session, project_id: int, classes: list[str] | None, people_counts: list[list[int]] | None
) -> list[dict[str, Any]]:
    """The ranked pairs (worst rate on either side first) with counts per side, examples and notes."""
    if not classes:
        return []
    version = active_version(session, project_id)
    model_classes = list(version.classes) if version is not None else []
    model = _pairs(version.confusion if version is not None else None, model_classes)
    people = _pairs(people_counts, classes)
    keys = sorted(
        set(model) | set(people),
        key=lambda k: -max(model[k].rate if k in model else 0.0, people[k].rate if k in people else 0.0),
    )[:TOP]
    notes = guidelines.notes(session, project_id)
    examples = _examples(session, project_id, set(keys)) if keys and version is not None else {}
    return [
        {
            "classes": list(key),
            "model": _side(model.get(key), key, model_classes),
            "people": _side(people.get(key), key, classes),
            "examples": examples.get(key, []),
            "note": notes.get(key),
        }
        for key in keys
    ]
