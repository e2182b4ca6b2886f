"""`kolam worker`: a standalone job consumer, for when one server process no longer keeps up with the jobs.

Runs until interrupted (Ctrl-C or SIGTERM finish the jobs in hand first). With the default SQLite queue it
must run on the server's machine; with KOLAM_JOBS_URL=redis://… anywhere that reaches Redis and the storage.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated

import typer
from huey.consumer import Consumer

from kolam.cli.common import open_db, settings
from kolam.jobs.queue import build_jobs, jobs_location


def worker(
    workers: Annotated[int, typer.Option(min=1, help="Job threads in this process.")] = 2,
) -> None:
    """Run background jobs (media derivation, background imports) queued by the server."""
    s = settings()
    db = open_db()
    jobs = build_jobs(s, db=db)
    logging.basicConfig(level=s.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    typer.echo(f"kolam worker: {workers} thread(s) on {_redacted(jobs_location(s))}")
    consumer = Consumer(jobs.huey, workers=workers, worker_type="thread", periodic=False, max_delay=1.0,
                        shutdown_timeout=30, graceful_signal="TERM")  # fmt: skip
    try:
        consumer.run()
    finally:
        jobs.close()
        db.dispose()


def _redacted(url: str) -> str:
    """The queue's URL without a password (redis://user:secret@host → redis://user:***@host)."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)
