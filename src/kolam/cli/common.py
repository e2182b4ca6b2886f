"""What every command needs: settings, a migrated database, and errors printed as one line."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from kolam.errors import KolamError
from kolam.settings import Settings, get_settings
from kolam.store.db import Database, create_database
from kolam.store.migrate import upgrade

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # an error stays one line, whatever the width
P = ParamSpec("P")
R = TypeVar("R")


def settings() -> Settings:
    try:
        return get_settings()
    except ValueError as err:
        err_console.print(f"[red]error:[/red] configuration: {err}")
        raise typer.Exit(2) from None


def open_db(*, migrate: bool = True) -> Database:
    s = settings()
    db = create_database(s.effective_database_url, busy_timeout_ms=s.sqlite_busy_timeout_ms, pool_size=2)
    if migrate:
        upgrade(db)
    return db


def friendly(func: Callable[P, R]) -> Callable[P, R]:
    """Domain errors become one red line on stderr and exit status 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except KolamError as err:
            where = f" (field '{err.field}')" if err.field and err.field not in err.message else ""
            err_console.print(f"[red]error:[/red] {err.message}{where}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper


def load_json_arg(value: str, what: str) -> Any:
    """A JSON argument given inline or as @file.json."""
    try:
        text = Path(value[1:]).read_text(encoding="utf-8") if value.startswith("@") else value
        return json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise KolamError(f"{what}: {err}", field=what) from None
