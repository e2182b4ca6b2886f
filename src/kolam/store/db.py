"""Engines and sessions; the one place that knows how SQLite and PostgreSQL differ at connection level.

SQLite: WAL, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for every writing transaction so a writer
takes the lock up front instead of failing half-way (the trap DESIGN.md describes). PostgreSQL: a pool, and
row locks (``FOR UPDATE SKIP LOCKED``) where the queries need them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


@dataclass
class Database:
    """A database and two session factories: readers (deferred) and writers (take the write lock first)."""

    engine: Engine
    write_engine: Engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def __post_init__(self) -> None:
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(self.write_engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads; closed at the end (its transaction ends, loaded objects stay readable)."""
        with self._reader() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction takes the write lock on SQLite; the caller commits."""
        with self._writer() as session:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise

    def session(self, *, write: bool) -> Session:
        return self._writer() if write else self._reader()

    def dispose(self) -> None:
        self.engine.dispose()


def _json_loads(text: str | bytes) -> Any:
    """JSON columns read by orjson (several times faster); what only the standard library reads (NaN) by it."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _sqlite_url_path(url: sa.URL) -> Path | None:
    if url.database and url.database != ":memory:":
        return Path(url.database)
    return None


def create_database(url: str, *, busy_timeout_ms: int = 5000, pool_size: int = 10) -> Database:
    """Open a database by URL: SQLite (file created, parent folder too) or PostgreSQL via psycopg 3."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_url_path(parsed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            pool_size=pool_size,
            max_overflow=2 * pool_size,
            json_deserializer=_json_loads,
        )
        _configure_sqlite(engine, busy_timeout_ms)
    else:
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = sa.create_engine(
            parsed,
            pool_size=pool_size,
            max_overflow=2 * pool_size,
            pool_pre_ping=True,
            json_deserializer=_json_loads,
        )
    return Database(engine=engine, write_engine=engine.execution_options(kolam_begin="IMMEDIATE"))


_HOLDS_WRITE_TURN = "kolam_holds_write_turn"


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how a transaction starts (pysqlite would BEGIN lazily).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    # This process's writers take turns here before asking SQLite for its lock. SQLite's busy handler polls
    # with growing sleeps, so under load a writer that has waited long keeps losing to newcomers until its
    # busy timeout runs out ("database is locked" at 32 annotators). Other processes still meet the timeout;
    # a turn not had within it falls back to SQLite's own waiting.
    write_turn = threading.Lock()

    def _end_turn(info: dict[Any, Any]) -> None:
        if info.pop(_HOLDS_WRITE_TURN, False):
            write_turn.release()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode = conn.get_execution_options().get("kolam_begin", "DEFERRED")
        if mode == "IMMEDIATE" and write_turn.acquire(timeout=busy_timeout_ms / 1000):
            conn.info[_HOLDS_WRITE_TURN] = True
        try:
            conn.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            _end_turn(conn.info)
            raise

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(conn: sa.Connection) -> None:
        if not conn.invalidated:
            _end_turn(conn.info)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        _end_turn(record.info)  # a transaction that ended without commit or rollback (an invalidated connection)
