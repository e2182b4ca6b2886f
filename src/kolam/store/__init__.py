"""Persistence: the only package that knows SQL and blob storage.

Graph: ``tables`` (schema) ← ``db`` (engines, sessions, SQLite vs PostgreSQL) ← ``migrate`` (Alembic) and the
query modules; ``blobs`` is separate (content-addressed files behind fsspec).
"""
