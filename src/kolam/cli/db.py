"""`kolam db`: schema migrations."""

from __future__ import annotations

import typer

from kolam.cli.common import console, open_db, settings
from kolam.store.migrate import current_revision, head_revision, upgrade

app = typer.Typer(help="Database schema: upgrade to the newest version, or show the current one.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd() -> None:
    """Migrate the database to the newest schema (the server also does this on start)."""
    db = open_db(migrate=False)
    upgrade(db)
    console.print(f"database at revision {current_revision(db)} ({settings().effective_database_url.split('@')[-1]})")


@app.command("current")
def current_cmd() -> None:
    """Show the database's schema revision and the newest one this Kolam knows."""
    db = open_db(migrate=False)
    console.print(f"current: {current_revision(db)}  newest: {head_revision()}")
