"""`kolam quality`: gold answers from a file, a consensus refresh, the quality report."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import orjson
import typer

from kolam.cli.common import console, friendly, open_db
from kolam.errors import Invalid, KolamError
from kolam.services import accounts, gold, quality_report, resolve
from kolam.services.gold import GoldEntry
from kolam.services.projects import get_project

app = typer.Typer(help="Quality control: gold answers, consensus, the quality report.", no_args_is_help=True)
OrgOpt = Annotated[str, typer.Option("--org", "-o", help="Organization slug.")]
ProjectOpt = Annotated[int, typer.Option("--project", "-p", help="Project id.")]


def _entries(path: Path) -> tuple[list[GoldEntry], list[int]]:
    """One JSON object a line: {"external_id" or "item_id", "value"}; errors name the line. Returns the
    entries and the line each came from."""
    entries: list[GoldEntry] = []
    numbers: list[int] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise Invalid(f"{path}: {err}", field="file") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as err:
            raise Invalid(f"{path}:{number}: not JSON ({err})", field="file") from None
        if not isinstance(record, dict) or "value" not in record:
            raise Invalid(
                f"{path}:{number}: expected an object with 'value' and 'external_id' or 'item_id'", field="file"
            )
        entries.append(GoldEntry(record["value"], item_id=record.get("item_id"), external_id=record.get("external_id")))
        numbers.append(number)
    if not entries:
        raise Invalid(f"{path}: no gold answers in it", field="file")
    return entries, numbers


@app.command("gold")
@friendly
def gold_cmd(
    source: Annotated[Path, typer.Argument(help='JSON Lines: {"external_id" or "item_id", "value"} a line.')],
    org: OrgOpt,
    project: ProjectOpt,
) -> None:
    """Mark items as gold with their known answers (all or nothing; errors name the line)."""
    entries, numbers = _entries(source)
    db = open_db()
    with db.write() as s:
        organization = accounts.get_organization(s, org)
        try:
            count = gold.set_gold(s, None, project, entries, org_id=organization.id)
        except KolamError as err:
            at = re.match(r"gold\[(\d+)\]", err.message)
            if at:  # the service counts entries; a person looks for the line
                err.message = f"{source}:{numbers[int(at.group(1))]}: {err.message[at.end() + 2 :]}"
            raise
    console.print(f"{count} gold answers set on project {project}")


@app.command("resolve")
@friendly
def resolve_cmd(org: OrgOpt, project: ProjectOpt) -> None:
    """Recompute every item's consensus and every annotator's skill now."""
    db = open_db()
    with db.read() as s:
        organization = accounts.get_organization(s, org)
        p = get_project(s, None, project, org_id=organization.id)
    summary = resolve.resolve_project(db, p.id)
    console.print(
        f"project {summary.project_id}: {summary.items} items from {summary.answers} answers by "
        f"{summary.annotators} annotators ({summary.method}); {summary.queued_for_review} queued for review"
    )


@app.command("report")
@friendly
def report_cmd(org: OrgOpt, project: ProjectOpt) -> None:
    """Print the quality report as JSON (the same as GET /projects/{id}/quality)."""
    db = open_db()
    with db.read() as s:
        organization = accounts.get_organization(s, org)
        report = quality_report.quality_report(s, None, project, org_id=organization.id)
    console.print_json(orjson.dumps(report).decode())
