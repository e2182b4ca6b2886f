"""`kolam models`: train a project's model, pre-label its items, list its versions."""

from __future__ import annotations

from typing import Annotated

import orjson
import sqlalchemy as sa
import typer
from rich.table import Table

from kolam.cli.common import console, friendly, open_db, settings
from kolam.services import accounts, prelabel_run, training
from kolam.services.model_versions import view
from kolam.services.projects import get_project
from kolam.store.blobs import BlobStore
from kolam.store.tables_learning import ModelVersion

app = typer.Typer(help="The model in the loop: training, pre-labelling, versions.", no_args_is_help=True)
OrgOpt = Annotated[str, typer.Option("--org", "-o", help="Organization slug.")]
ProjectOpt = Annotated[int, typer.Option("--project", "-p", help="Project id.")]


def _project_id(org: str, project: int) -> int:
    db = open_db()
    with db.read() as s:
        organization = accounts.get_organization(s, org)
        return get_project(s, None, project, org_id=organization.id).id


@app.command("train")
@friendly
def train_cmd(org: OrgOpt, project: ProjectOpt) -> None:
    """Train a new version from the settled answers; it is promoted only if it beats the active one on gold."""
    project_id = _project_id(org, project)
    s = settings()
    if prelabel_run.uses_external_model(open_db(), project_id):
        result = prelabel_run.retrain_external(open_db(), project_id, settings=s)
        console.print(f"project {project_id}: {result['status']}, {result.get('items', 0)} settled answers sent")
        return
    summary = training.train_project(open_db(), BlobStore(s.effective_blob_url), project_id)
    version = f"v{summary.version} " if summary.version else ""
    console.print(f"project {project_id}: {version}{summary.status} — {summary.reason}")


@app.command("prelabel")
@friendly
def prelabel_cmd(org: OrgOpt, project: ProjectOpt) -> None:
    """Predict every item with the project's model, order the queue, auto-accept what the policy allows."""
    project_id = _project_id(org, project)
    s = settings()
    summary = prelabel_run.prelabel(
        open_db(), BlobStore(s.effective_blob_url), project_id, settings=s)  # fmt: skip
    console.print_json(orjson.dumps(summary.as_dict()).decode())


@app.command("list")
@friendly
def list_cmd(org: OrgOpt, project: ProjectOpt) -> None:
    """The project's model versions, newest first."""
    project_id = _project_id(org, project)
    with open_db().read() as s:
        rows = s.scalars(
            sa.select(ModelVersion).where(ModelVersion.project_id == project_id).order_by(ModelVersion.version.desc())
        ).all()
        versions = [view(r) for r in rows]
    table = Table("version", "status", "backend", "items", "gold accuracy", "comparison")
    for v in versions:
        gold = v.metrics.get("gold", {})
        accuracy = f"{gold['accuracy']:.3f} ({gold['n']})" if gold.get("n") else "–"
        reason = (v.comparison or {}).get("reason", "")
        table.add_row(str(v.version), v.status, v.backend, str(v.training.get("items", "–")), accuracy, reason)
    console.print(table)
