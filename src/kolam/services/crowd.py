"""A project's answers as the consensus methods of every kind read them, and what they estimate of annotators."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Answer:
    """One counted, current answer: whose, to which item, and its value."""

    task_id: int
    user_id: int
    value: dict[str, Any]


@dataclass
class Crowd:
    """A project's answers as the algorithms want them: items and annotators numbered from 0."""

    answers: list[Answer]
    tasks: list[int]
    users: list[int]
    settled: set[int]
    anchors: dict[int, dict[str, Any]]
    gold: set[int]

    @property
    def task_index(self) -> dict[int, int]:
        return {task_id: i for i, task_id in enumerate(self.tasks)}

    @property
    def user_index(self) -> dict[int, int]:
        return {user_id: i for i, user_id in enumerate(self.users)}


@dataclass(frozen=True)
class Estimate:
    """One annotator's estimated quality: a skill in [0, 1], a confusion matrix (class projects), and the
    figures behind the skill (boxes: precision, recall, mean IoU; transcripts: WER and CER to consensus)."""

    skill: float | None
    confusion: list[Any] | None = None
    detail: dict[str, float] | None = None


Skills = dict[int, Estimate]


def flags(answers: Iterable[Answer]) -> dict[int, bool]:
    """Items an annotator flagged: marked unclear, or commented on (a reviewer should read the comment)."""
    flagged: dict[int, bool] = defaultdict(bool)
    for a in answers:
        flagged[a.task_id] |= bool(a.value.get("unclear")) or bool(a.value.get("comment"))
    return flagged
