"""JSON Lines of an export, written by the database: each item up to its answers and each answer as text.

Python only joins the text (about 4× fewer instructions than building and dumping dicts). The bytes are what
``orjson.dumps`` makes of the records (``services/exports``): timestamps ISO 8601 in UTC with the offset,
microseconds only when there are any (``2024-05-01T09:30:00.250000+00:00``, ``2024-05-01T09:30:00+00:00``),
booleans true/false, JSON columns as JSON. Where the database's copy of a stored JSON would read otherwise,
orjson prints it again: PostgreSQL's JSONB puts spaces after ':' and ','; SQLite keeps json.dumps'
``\\uXXXX`` escapes and exponents (``1e-05``), and refuses its NaN (``NotPrintable``: that page then goes the
records way). Predictions, whose floats only orjson prints right, are dumped in Python. SQLite timestamps are
read as UTCDateTime stores them: naive UTC, ``YYYY-MM-DD HH:MM:SS[.ffffff]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from kolam.store.tables import Annotation, Consensus, GoldAnswer, Item, Prediction, Task, User

PAGE = 2000  # items a page: each page is its own short read
LINE_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS
NO_PREDICTIONS = '],"predictions":[],"consensus":null}\n'
# A meta Python finds falsy is left out of ``data``; as stored JSON text (SQLite) or JSONB (PostgreSQL).
FALSY_JSON = ("{}", "[]", '""', "0", "0.0", "false", "null")

Expr = sa.ColumnElement[Any] | InstrumentedAttribute[Any]


def page_query(columns: Sequence[Expr]) -> sa.Select[Any]:
    """The page of tasks after item ``:after``; ``Item.id > :after`` lets PostgreSQL's merge join start there."""
    after: sa.BindParameter[int] = sa.bindparam("after")
    return (
        sa.select(*columns)
        .join(Item, Item.id == Task.item_id)
        .where(
            Task.project_id == sa.bindparam("project_id"), Task.state != "staged", Task.item_id > after, Item.id > after
        )
        .order_by(Task.item_id)
        .limit(PAGE)
    )


_PREDICTIONS = sa.select(Prediction.task_id, Prediction.model_version, Prediction.value, Prediction.confidence).where(
    Prediction.project_id == sa.bindparam("project_id"),
    Prediction.task_id.between(sa.bindparam("first"), sa.bindparam("last")),
)


def page_predictions(
    connection: sa.Connection, project_id: int, first: int, last: int
) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    rows = connection.execute(_PREDICTIONS, {"project_id": project_id, "first": first, "last": last})
    for r in rows:
        out.setdefault(r.task_id, []).append(
            {"model_version": r.model_version, "value": r.value, "confidence": r.confidence}
        )
    return out


_CONSENSUS = sa.select(
    Consensus.task_id, Consensus.value, Consensus.confidence, Consensus.method, Consensus.status, Consensus.answers
).where(
    Consensus.project_id == sa.bindparam("project_id"),
    Consensus.task_id.between(sa.bindparam("first"), sa.bindparam("last")),
)
_GOLD = sa.select(GoldAnswer.task_id, GoldAnswer.value).where(
    GoldAnswer.project_id == sa.bindparam("project_id"),
    GoldAnswer.task_id.between(sa.bindparam("first"), sa.bindparam("last")),
)


def page_consensus(connection: sa.Connection, project_id: int, first: int, last: int) -> dict[int, dict[str, Any]]:
    """Each item's consensus: its value, confidence, method and how it was reached; a gold item's known answer."""
    params = {"project_id": project_id, "first": first, "last": last}
    out = {
        r.task_id: {
            "value": r.value,
            "confidence": r.confidence,
            "method": r.method,
            "status": r.status,
            "answers": r.answers,
        }
        for r in connection.execute(_CONSENSUS, params)
    }
    for task_id, value in connection.execute(_GOLD, params):
        out[task_id] = {"value": value, "confidence": 1.0, "method": "gold", "status": "gold", "answers": 0}
    return out


class Part(NamedTuple):
    """A piece of a line in SQL: literal text, then a value the kind says how to print (see _Sql.value).

    A ``json?`` value is left out, its text too, where ``absent`` holds.
    """

    text: str
    value: Expr | None = None
    kind: str = ""
    absent: Expr | None = None


class LineQueries:
    """The two statements that write a page of JSON Lines on one dialect, built once an export.

    SQLite writes each head (an item up to its answers) and each answer as one text. PostgreSQL's JSONB
    prints spaces, so there a JSON column comes back as a column of its own, which orjson prints again.
    """

    def __init__(self, dialect: str, history: bool, reveal_annotators: bool) -> None:
        sql = self.sql = _Sql(dialect)
        a = Annotation
        pseudonym = [Part(',"annotator":"a', a.user_id, "int"), Part('"')]
        if reveal_annotators:  # the email, or the pseudonym should the user be gone
            email = sa.case((User.email.is_(None), sql.cat('"a', a.user_id, '"')), else_=sql.string(User.email))
        answer = [
            Part('{"id":', a.id, "int"),
            *([Part(',"annotator":', email, "raw")] if reveal_annotators else pseudonym),
            Part(',"schema_version":', a.schema_version, "int"),
            Part(',"version":', a.version, "int"),
            Part(',"previous_id":', a.previous_id, "int?"),
            Part(',"is_current":', a.is_current, "bool"),
            Part(',"counted":', a.counted, "bool"),
            Part(',"late":', a.late, "bool"),
            Part(',"value":', a.value, "json"),
            Part(',"created_at":', a.created_at, "time"),
            Part(',"client_created_at":', a.client_created_at, "time?"),
            Part(',"lead_time_ms":', a.lead_time_ms, "int?"),
            Part(',"time_spent_ms":', a.time_spent_ms, "int?"),
            Part("}"),
        ]
        answers = sa.select(a.task_id, *sql.render(answer)).where(
            a.project_id == sa.bindparam("project_id"), a.task_id.between(sa.bindparam("first"), sa.bindparam("last"))
        )
        if reveal_annotators:
            answers = answers.outerjoin(User, User.id == a.user_id)
        if not history:
            answers = answers.where(a.is_current.is_(True))
        self.answers = answers.order_by(a.task_id, a.id)
        self.answer_prefixes = sql.prefixes(answer)
        no_meta = sa.or_(Item.meta.is_(None), Item.meta.in_([sql.literal(v) for v in FALSY_JSON]))
        blob = (',"blob":', sql.string(Item.blob_key), ',"mime_type":', sql.string(Item.mime_type))
        head = [
            Part('{"item_id":', Task.item_id, "int"),
            Part(',"external_id":', Item.external_id, "str"),
            Part(',"data":{"media":', Item.media, "word"),
            Part("", sql.unless(Item.text.is_(None), ',"text":', sql.string(Item.text)), "raw"),
            Part("", sql.unless(Item.url.is_(None), ',"url":', sql.string(Item.url)), "raw"),
            Part("", sql.unless(Item.blob_key.is_(None), *blob), "raw"),
            Part(',"meta":', Item.meta, "json?", no_meta),
            Part('},"task":{"state":', Task.state, "word"),
            Part(',"answers_wanted":', Task.answers_wanted, "int"),
            Part(',"answers_count":', Task.answers_count, "int"),
            Part('},"annotations":['),
        ]
        self.head = sql.render(head)
        self.heads = page_query((Task.item_id, *self.head))
        self.head_prefixes = sql.prefixes(head)

    def page(self, session: Session, project_id: int, after: int) -> tuple[bytes, int | None]:
        """The lines of the page after item ``after``, and its last item (None: nothing left).

        Raises NotPrintable where the database cannot print a stored JSON as orjson would (NaN, Infinity).
        """
        connection = session.connection()  # Core rows: no ORM loading for plain columns
        try:
            heads, rows = self._rows(connection, project_id, after)
        except sa.exc.OperationalError as err:  # SQLite's json() refuses the NaN that json.dumps writes
            if "malformed JSON" in str(err):
                raise NotPrintable from err
            raise
        if not heads:
            return b"", None
        first, last = heads[0][0], heads[-1][0]
        answers: dict[int, str] = {}
        for task_id, text in rows:
            before = answers.get(task_id)
            answers[task_id] = text if before is None else f"{before},{text}"
        predictions = page_predictions(connection, project_id, first, last)
        consensus = page_consensus(connection, project_id, first, last)
        found = answers.get
        if not predictions and not consensus:
            lines = [head + found(item_id, "") + NO_PREDICTIONS for item_id, head in heads]
        else:
            lines = [
                head + found(item_id, "") + _tail(predictions.get(item_id), consensus.get(item_id))
                for item_id, head in heads
            ]
        page = "".join(lines)
        # SQLite's json() keeps the stored text's escapes and exponents; orjson prints those lines again.
        if self.sql.sqlite and ("\\" in page or "e-" in page or "9e999" in page):  # backslash: one memchr
            try:
                page = "".join(_reprinted(line) if _stored_otherwise(line) else line for line in lines)
            except orjson.JSONDecodeError as err:
                raise NotPrintable from err
        return page.encode(), last

    def _rows(
        self, connection: sa.Connection, project_id: int, after: int
    ) -> tuple[Sequence[tuple[Any, ...]], Sequence[tuple[Any, ...]]]:
        """(item id, head) and (task id, answer) of the page; PostgreSQL's JSON columns put in by orjson."""
        heads: Sequence[tuple[Any, ...]] = connection.execute(
            self.heads, {"project_id": project_id, "after": after}
        ).all()
        if not heads:
            return [], []
        params = {"project_id": project_id, "first": heads[0][0], "last": heads[-1][0]}
        rows: Sequence[tuple[Any, ...]] = connection.execute(self.answers, params).all()
        if self.head_prefixes:
            heads = [(row[0], _joined(row, self.head_prefixes)) for row in heads]
            rows = [(row[0], _joined(row, self.answer_prefixes)) for row in rows]
        return heads, rows


class NotPrintable(Exception):
    """A page whose stored JSON the database cannot print as orjson would; it goes the records way."""


def _joined(row: Sequence[Any], prefixes: Sequence[str]) -> str:
    """Text columns with JSON columns between them (each printed by orjson, after its prefix; None: left out)."""
    text: str = row[1]
    for i, prefix in enumerate(prefixes):
        json = row[2 + 2 * i]
        if json is not None:
            text += prefix + orjson.dumps(orjson.loads(json)).decode()
        text += row[3 + 2 * i]
    return text


def _tail(predictions: list[dict[str, Any]] | None, consensus: dict[str, Any] | None) -> str:
    if predictions is None and consensus is None:
        return NO_PREDICTIONS
    return (
        f'],"predictions":{orjson.dumps(predictions or []).decode()},"consensus":{orjson.dumps(consensus).decode()}}}\n'
    )


def _stored_otherwise(line: str) -> bool:
    """Whether SQLite's copy of stored JSON differs from orjson's printing: ``\\uXXXX`` or ``\\/`` escapes
    (json.dumps escapes all non-ASCII), an exponent ``1e-05`` (orjson: 0.00001), Infinity (newer SQLite: 9e999)."""
    if ("\\" in line and ("\\u" in line or "\\/" in line)) or "9e999" in line:
        return True
    at = line.find("e-")
    while at > 0:  # a regular expression for a digit before it is ten times slower
        if line[at - 1].isdigit():
            return True
        at = line.find("e-", at + 2)
    return False


def _reprinted(line: str) -> str:
    return orjson.dumps(orjson.loads(line), option=LINE_OPTIONS).decode()


class _Sql:
    """How each kind of value becomes JSON text in SQL: one printf a line on SQLite, || on PostgreSQL."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"

    @staticmethod
    def literal(text: str) -> Expr:
        return sa.literal_column("'" + text.replace("'", "''") + "'", sa.String)

    def cat(self, *parts: str | Expr) -> Expr:
        exprs = [self.literal(p) if isinstance(p, str) else p for p in parts if not isinstance(p, str) or p]
        if not self.sqlite:
            exprs = [e if isinstance(e.type, sa.String) else sa.cast(e, sa.Text) for e in exprs]
        return reduce(lambda left, right: left.op("||", return_type=sa.String)(right), exprs)

    def string(self, value: Expr) -> Expr:
        """A JSON string, or null."""
        if self.sqlite:
            return sa.func.json_quote(value, type_=sa.String)
        return sa.func.coalesce(sa.cast(sa.func.to_json(value), sa.Text), self.literal("null"))

    def stamp(self, value: Expr) -> Expr:
        """A UTC timestamp as orjson prints an aware datetime (microseconds only when there are any), unquoted."""
        if self.sqlite:  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff'
            text = sa.func.replace(value, self.literal(" "), self.literal("T"), type_=sa.String)
        else:
            utc = sa.func.timezone(self.literal("UTC"), value)
            text = sa.func.to_char(utc, self.literal('YYYY-MM-DD"T"HH24:MI:SS.US'), type_=sa.String)
        return sa.func.replace(text, self.literal(".000000"), self.literal(""), type_=sa.String)

    def unless(self, absent: Expr, *parts: str | Expr) -> Expr:
        """Text that is there only when ``absent`` is false (data's optional keys)."""
        return sa.case((absent, self.literal("")), else_=self.cat(*parts))

    def value(self, part: Part) -> list[str | Expr]:
        """The value as JSON text: literal pieces (SQLite's printf template takes them) and expressions."""
        value, kind = part.value, part.kind
        assert value is not None
        if kind in ("int", "raw"):
            return [value]
        if kind == "int?":
            return [sa.func.coalesce(value if self.sqlite else sa.cast(value, sa.Text), self.literal("null"))]
        if kind == "bool":
            return [sa.case((value, self.literal("true")), else_=self.literal("false"))]
        if kind == "str":
            return [self.string(value)]
        if kind == "word":  # a name of Kolam's own (media, task state): nothing in it to escape
            return ['"', value, '"']
        if kind == "time":
            return ['"', self.stamp(value), '+00:00"']
        if kind == "time?":
            return [sa.case((value.is_(None), self.literal("null")), else_=self.cat('"', self.stamp(value), '+00:00"'))]
        if kind == "json":  # SQLite: the stored text, minified
            return [sa.func.json(value, type_=sa.String) if self.sqlite else sa.cast(value, sa.Text)]
        if kind == "json?":
            assert part.absent is not None
            if self.sqlite:
                return [self.unless(part.absent, part.text, sa.func.json(value, type_=sa.String))]
            return [sa.case((part.absent, sa.null()), else_=sa.cast(value, sa.Text))]
        raise ValueError(f"unknown kind {kind!r}")

    def prefixes(self, parts: Sequence[Part]) -> list[str]:
        """PostgreSQL: the text before each JSON column that is only there with it (see ``render``)."""
        if self.sqlite:
            return []
        return [p.text if p.kind == "json?" else "" for p in parts if p.kind in ("json", "json?")]

    def render(self, parts: Sequence[Part]) -> list[Expr]:
        """A line's parts as text columns: one on SQLite (a printf); PostgreSQL: text, JSON, text, … ."""
        if self.sqlite:
            template: list[str] = []
            args: list[Expr] = []
            for part in parts:
                text: list[str | Expr] = [] if part.kind == "json?" else [part.text]  # json? has it inside
                for piece in text + (self.value(part) if part.kind else []):
                    if isinstance(piece, str):
                        template.append(piece.replace("%", "%%"))
                    else:
                        template.append("%d" if part.kind == "int" else "%s")
                        args.append(piece)
            return [sa.func.printf(self.literal("".join(template)), *args, type_=sa.String)]
        columns: list[Expr] = []
        pieces: list[str | Expr] = []
        for part in parts:
            if part.kind in ("json", "json?"):
                (json,) = self.value(part)
                assert not isinstance(json, str)
                columns += [self.cat(*pieces, "" if part.kind == "json?" else part.text), json]
                pieces = []
            else:
                pieces += [part.text, *self.value(part)] if part.kind else [part.text]
        return [*columns, self.cat(*pieces)]
