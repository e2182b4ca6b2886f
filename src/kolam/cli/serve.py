"""`kolam serve`: the API server (uvicorn), bound to 127.0.0.1 unless told otherwise."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from kolam.cli.common import console, open_db, settings


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default KOLAM_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default KOLAM_PORT or 8420).")] = None,
    workers: Annotated[int, typer.Option(help="Server processes (PostgreSQL recommended for more than 1).")] = 1,
) -> None:
    """Run the Kolam server and its job threads (KOLAM_JOB_WORKERS). The database is migrated first."""
    s = settings()
    open_db().dispose()
    host = host or s.host
    port = port or s.port
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]note:[/yellow] listening on {host}: reachable from other machines")
    run_server(host, port, workers, s.log_level)


def run_server(host: str, port: int, workers: int, log_level: str) -> None:
    uvicorn.run(
        "kolam.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        proxy_headers=False,
        server_header=False,
    )
