"""Alembic environment: runs against the connection Kolam hands it (see kolam.store.migrate)."""

from __future__ import annotations

from alembic import context

from kolam.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `kolam db upgrade` (kolam.store.migrate), not bare alembic")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
