"""The `kolam` command."""

from __future__ import annotations

import typer

from kolam import __version__
from kolam.cli import accounts, db, models, projects, quality
from kolam.cli.demo import demo
from kolam.cli.serve import serve
from kolam.cli.worker import worker

app = typer.Typer(
    name="kolam",
    help="Kolam: turn raw data into training data. Settings come from KOLAM_* environment variables.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve)
app.command("worker")(worker)
app.command("demo")(demo)
app.command("import")(projects.import_cmd)
app.command("export")(projects.export_cmd)
app.add_typer(db.app, name="db")
app.add_typer(accounts.orgs, name="orgs")
app.add_typer(accounts.users, name="users")
app.add_typer(accounts.tokens, name="tokens")
app.add_typer(projects.app, name="projects")
app.add_typer(quality.app, name="quality")
app.add_typer(models.app, name="models")


@app.command("version")
def version() -> None:
    """Print Kolam's version."""
    typer.echo(__version__)
