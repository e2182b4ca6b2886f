"""Fixtures shared by every test: a fresh database per test on SQLite and on PostgreSQL, an app, factories.

PostgreSQL is the server at KOLAM_TEST_POSTGRES_URL (default: 127.0.0.1:5432, trust auth). Each pytest worker
gets its own database, migrated once and emptied between tests. Where no PostgreSQL answers, its half of the
tests is skipped with the reason printed at the end — unless KOLAM_TEST_REQUIRE_POSTGRES=1 (CI), which makes
that an error.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from kolam.api.app import create_app
from kolam.services import auth as auth_service
from kolam.settings import Settings
from kolam.store.db import Database, create_database
from kolam.store.migrate import upgrade
from kolam.store.tables import Base
from tests.factories import Factory

PG_URL = os.environ.get("KOLAM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("KOLAM_TEST_REQUIRE_POSTGRES") == "1"
_pg_skip_reason: list[str] = []


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2 with production cost takes ~0.1 s a hash; tests make hundreds of accounts."""
    from argon2 import PasswordHasher

    import kolam.security

    original = kolam.security._HASHER
    kolam.security._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    kolam.security._HASHER = original


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test copies it (faster than migrating again)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    db = create_database(f"sqlite:///{path}")
    upgrade(db)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A database of this worker's own on the PostgreSQL server, migrated; None when there is no server."""
    admin_url = sa.make_url(PG_URL)
    name = f"kolam_test_{_worker()}_{os.getpid()}"
    try:
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except Exception as err:
        where = admin_url.render_as_string(hide_password=True)
        reason = f"PostgreSQL at {where} is not reachable: {err.__class__.__name__}: {str(err).splitlines()[0]}"
        if REQUIRE_PG:
            pytest.fail(reason + " (KOLAM_TEST_REQUIRE_POSTGRES=1)")
        _pg_skip_reason.append(reason)
        yield None
        return
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    db = create_database(url)
    upgrade(db)
    db.dispose()
    yield url
    admin.dispose()
    with sa.create_engine(admin_url, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _empty_postgres(db: Database) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """A fresh, migrated, empty database — once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "kolam.db"
        shutil.copy(sqlite_template, path)
        database = create_database(f"sqlite:///{path}")
    else:
        url = request.getfixturevalue("pg_database")
        if url is None:
            pytest.skip(_pg_skip_reason[0] if _pg_skip_reason else "PostgreSQL not available")
        database = create_database(url)
        _empty_postgres(database)
    auth_service.forget_cached_credentials()
    yield database
    database.dispose()


@pytest.fixture
def settings(tmp_path: Path, db: Database) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=str(db.engine.url), max_upload_bytes=2_000_000)


@pytest.fixture
def app_client(settings: Settings, db: Database) -> Iterator[TestClient]:
    """An in-process client of a real app on the test database (no credentials set)."""
    with TestClient(create_app(settings, db=db, migrate=False)) as client:
        yield client


@pytest.fixture
def factory(db: Database, settings: Settings) -> Factory:
    return Factory(db, settings)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _pg_skip_reason:
        terminalreporter.write_line(
            f"NOTE: PostgreSQL tests were skipped: {_pg_skip_reason[0]}. Start PostgreSQL (see README) to run them.",
            yellow=True,
        )
