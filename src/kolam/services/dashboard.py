"""A project's progress for its managers and the client: counts, answers per hour, each annotator's pace.

Everything is aggregated by the database (GROUP BY along the annotation and lease indexes), so the page
costs a few grouped scans whatever the project's size. An "answer" is a first version (an edit is the same
answer again and is not counted twice); its time is the active time the browser measured (time_spent_ms).
Annotators are named for those who manage the organization's members; anyone else (reviewers, the
client's viewer) sees the pseudonym exports use (``a17``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kolam.errors import Invalid
from kolam.services.context import Actor
from kolam.services.projects import get_project, project_counts
from kolam.store.tables import Annotation, Lease, User
from kolam.store.types import utcnow

MAX_HOURS = 24 * 31
_HOUR_TEXT = "%Y-%m-%d %H:00:00"


@dataclass(frozen=True)
class HourCount:
    hour: datetime
    answers: int


@dataclass(frozen=True)
class AnnotatorStats:
    user_id: int
    name: str
    email: str | None
    answers: int
    recent_answers: int
    active_ms: int
    answers_per_hour: float | None
    median_time_ms: float | None
    mean_time_ms: float | None
    skips: int
    last_answer_at: datetime | None


@dataclass(frozen=True)
class Dashboard:
    project_id: int
    hours: int
    since: datetime
    counts: dict[str, int]
    answers_per_hour: list[HourCount]
    annotators: list[AnnotatorStats]


def pseudonym(user_id: int) -> str:
    """The name an annotator goes by for those who may not see members (the rule exports follow)."""
    return f"a{user_id}"


def hour_bucket(column: Any, dialect: str) -> sa.ColumnElement[str]:
    """The UTC hour a timestamp falls in, as text ``YYYY-MM-DD HH:00:00`` on either database.

    SQLite stores naive UTC text that strftime reads; PostgreSQL stores timestamptz, truncated in UTC.
    """
    if dialect == "sqlite":
        return sa.func.strftime(_HOUR_TEXT, column, type_=sa.String)
    utc = sa.func.timezone(sa.literal_column("'UTC'"), column)
    return sa.func.to_char(
        sa.func.date_trunc(sa.literal_column("'hour'"), utc), sa.literal_column("'YYYY-MM-DD HH24:00:00'"),
        type_=sa.String,
    )  # fmt: skip


def project_dashboard(
    session: Session, actor: Actor, project_id: int, *, hours: int = 48, now: datetime | None = None
) -> Dashboard:
    """The dashboard of the actor's organization's project over the last ``hours`` (the current one included)."""
    actor.require("stats.read")
    if not 1 <= hours <= MAX_HOURS:
        raise Invalid(f"hours must be between 1 and {MAX_HOURS}", field="hours")
    project = get_project(session, actor, project_id)
    now = (now or utcnow()).astimezone(UTC)
    since = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    dialect = session.get_bind().dialect.name
    return Dashboard(
        project_id=project.id,
        hours=hours,
        since=since,
        counts=project_counts(session, project.id),
        answers_per_hour=_per_hour(session, project.id, since, hours, dialect),
        annotators=_annotators(session, project.id, since, reveal=actor.can("members.manage")),
    )


_first_answers = (Annotation.version == 1,)


def _per_hour(session: Session, project_id: int, since: datetime, hours: int, dialect: str) -> list[HourCount]:
    """Every hour of the window, those without answers at zero (a chart needs the gaps)."""
    bucket = hour_bucket(Annotation.created_at, dialect).label("hour")
    rows = session.execute(
        sa.select(bucket, sa.func.count())
        .where(Annotation.project_id == project_id, Annotation.created_at >= since, *_first_answers)
        .group_by(bucket)
    ).all()
    found = {datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC): int(n) for text, n in rows}
    buckets = (since + timedelta(hours=i) for i in range(hours))
    return [HourCount(hour=h, answers=found.get(h, 0)) for h in buckets]


def _annotators(session: Session, project_id: int, since: datetime, *, reveal: bool) -> list[AnnotatorStats]:
    """Each person who answered or skipped: counts and times by one GROUP BY, medians by a window."""
    a = Annotation
    totals = {
        row.user_id: row
        for row in session.execute(
            sa.select(
                a.user_id,
                sa.func.count().label("answers"),
                sa.func.sum(sa.case((a.created_at >= since, 1), else_=0)).label("recent"),
                sa.func.count(a.time_spent_ms).label("timed"),
                sa.func.sum(a.time_spent_ms).label("active_ms"),
                sa.func.avg(a.time_spent_ms).label("mean_ms"),
                sa.func.max(a.created_at).label("last_at"),
            )
            .where(a.project_id == project_id, *_first_answers)
            .group_by(a.user_id)
        )
    }
    skips: dict[int, int] = {
        user_id: int(n)
        for user_id, n in session.execute(
            sa.select(Lease.user_id, sa.func.count())
            .where(Lease.project_id == project_id, Lease.status == "skipped")
            .group_by(Lease.user_id)
        )
    }
    medians = _median_times(session, project_id)
    people = sorted(totals.keys() | skips.keys())
    names = _names(session, people) if reveal else {}
    out = []
    for user_id in people:
        row = totals.get(user_id)
        timed = int(row.timed) if row else 0
        active_ms = int(row.active_ms or 0) if row else 0
        name, email = names.get(user_id, (pseudonym(user_id), None))
        out.append(
            AnnotatorStats(
                user_id=user_id,
                name=name,
                email=email,
                answers=int(row.answers) if row else 0,
                recent_answers=int(row.recent or 0) if row else 0,
                active_ms=active_ms,
                answers_per_hour=round(timed * 3_600_000 / active_ms, 2) if active_ms > 0 else None,
                median_time_ms=medians.get(user_id),
                mean_time_ms=round(float(row.mean_ms), 1) if row and row.mean_ms is not None else None,
                skips=skips.get(user_id, 0),
                last_answer_at=_aware(row.last_at) if row else None,
            )
        )
    out.sort(key=lambda s: (-s.answers, s.user_id))
    return out


def _median_times(session: Session, project_id: int) -> dict[int, float]:
    """Each annotator's median time per answer: the middle row (or the two middle rows) of their sorted times.

    Window functions work alike on SQLite (3.25+) and PostgreSQL, which keeps one statement for both.
    """
    a = Annotation
    ranked = (
        sa.select(
            a.user_id,
            a.time_spent_ms.label("ms"),
            sa.func.row_number().over(partition_by=a.user_id, order_by=a.time_spent_ms).label("rn"),
            sa.func.count().over(partition_by=a.user_id).label("n"),
        )
        .where(a.project_id == project_id, a.time_spent_ms.is_not(None), *_first_answers)
        .subquery()
    )
    middle = sa.or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2)
    rows = session.execute(
        sa.select(ranked.c.user_id, sa.func.avg(ranked.c.ms)).where(middle).group_by(ranked.c.user_id)
    )
    return {user_id: round(float(ms), 1) for user_id, ms in rows}


def _names(session: Session, user_ids: list[int]) -> dict[int, tuple[str, str | None]]:
    if not user_ids:
        return {}
    rows = session.execute(sa.select(User.id, User.name, User.email).where(User.id.in_(user_ids)))
    return {user_id: (name or email, email) for user_id, name, email in rows}


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
