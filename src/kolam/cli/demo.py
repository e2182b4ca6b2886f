"""`kolam demo`: a working platform on real data in one command, on the embedded database."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kolam.cli.common import console, friendly, open_db
from kolam.cli.serve import run_server
from kolam.jobs.queue import build_jobs
from kolam.services.demo import set_up_demo
from kolam.settings import get_settings
from kolam.store.blobs import BlobStore


@friendly
def demo(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Where the demo keeps its database and files (default: KOLAM_DATA_DIR, else ./kolam-demo)."),
    ] = None,
    port: Annotated[int, typer.Option(help="Port to serve on (127.0.0.1 only).")] = 8420,
    serve: Annotated[bool, typer.Option(help="Serve after setting up (--no-serve: set up and exit).")] = True,
    limit: Annotated[int | None, typer.Option(help="Import only this many items per project.")] = None,
) -> None:
    """Set up a demo organization with real data (Fashion-MNIST, e-mails, speech clips, photos) and serve it."""
    # The server reads its settings from the environment, so the demo's folder goes there too.
    if data_dir is not None:
        os.environ["KOLAM_DATA_DIR"] = str(data_dir)
    else:
        os.environ.setdefault("KOLAM_DATA_DIR", "kolam-demo")
    get_settings.cache_clear()
    settings = get_settings()
    console.print(f"setting up the demo in {settings.data_dir.resolve()} …")
    db = open_db()
    blobs = BlobStore(settings.effective_blob_url)
    setup = set_up_demo(db, blobs, settings.data_dir / "sources", limit=limit)
    if setup.new_projects:  # the server's job worker embeds and pre-labels them (the model in the loop)
        jobs = build_jobs(settings, db=db, blobs=blobs)
        for project_id in setup.new_projects:
            jobs.enqueue_prelabel(project_id)
        jobs.close()
    db.dispose()
    projects = Table("project", "name", "tasks", title="projects")
    for pid, name, tasks in setup.projects:
        projects.add_row(str(pid), name, f"{tasks:,}")
    logins = Table("e-mail", "password", "role", title=f"logins (organization '{setup.org_slug}')")
    for email, password, role in setup.logins:
        logins.add_row(email, password, role)
    console.print(projects, logins)
    url = f"http://127.0.0.1:{port}"
    console.print(f"web app: [bold]{url}/[/bold] (sign in with a login above)")
    console.print(f"API docs: {url}/api/v1/docs")
    if not serve:
        command = f"KOLAM_DATA_DIR={settings.data_dir.resolve()} kolam serve --port {port}"
        console.print(f"not serving (--no-serve); to serve: {command}")
        return
    console.print(f"serving on {url} (Ctrl-C to stop)")
    run_server("127.0.0.1", port, 1, "warning")
