"""`kolam projects`, `kolam import`, `kolam export`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kolam.cli.common import console, friendly, load_json_arg, open_db, settings
from kolam.errors import Invalid
from kolam.formats import EXPORT_FORMATS, export_format
from kolam.jobs.queue import build_jobs
from kolam.services import accounts, exports, imports, projects
from kolam.services.projects import ProjectSettings
from kolam.settings import Settings
from kolam.store.blobs import BlobStore

app = typer.Typer(help="Projects: create, list, show, change.", no_args_is_help=True)
OrgOpt = Annotated[str, typer.Option("--org", "-o", help="Organization slug.")]


@app.command("create")
@friendly
def create(
    name: str,
    org: OrgOpt,
    kind: Annotated[str, typer.Option(help="image_classes, image_boxes, transcription or text_classes.")],
    schema: Annotated[str, typer.Option(help="Label schema as JSON, or @file.json.")],
    instructions: Annotated[str, typer.Option(help="Markdown, or @file.md.")] = "",
    overlap: Annotated[int, typer.Option(help="Answers wanted per item.")] = 1,
    skill: Annotated[list[str] | None, typer.Option("--skill", help="Required skill, e.g. --skill ta.")] = None,
    priority: Annotated[int, typer.Option(help="Higher first.")] = 0,
    quality: Annotated[str | None, typer.Option(help="Quality policy as JSON, or @file.json (see README).")] = None,
    learning: Annotated[str | None, typer.Option(help="Model-in-the-loop policy as JSON, or @file.json.")] = None,
) -> None:
    """Create a project."""
    if instructions.startswith("@"):
        try:
            instructions = Path(instructions[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise Invalid(f"instructions: {err}", field="instructions") from None
    db = open_db()
    with db.write() as s:
        organization = accounts.get_organization(s, org)
        project = projects.create_project(
            s,
            None,
            organization.id,
            kind=kind,
            schema=load_json_arg(schema, "schema"),
            settings=ProjectSettings(
                name=name,
                instructions=instructions,
                overlap=overlap,
                required_skills=skill or [],
                priority=priority,
                quality=load_json_arg(quality, "quality") if quality else None,
                learning=load_json_arg(learning, "learning") if learning else None,
            ),
        )
    console.print(f"created project {project.id} '{project.name}' ({project.kind})")


@app.command("list")
@friendly
def list_cmd(org: OrgOpt) -> None:
    """List projects with their progress."""
    db = open_db()
    table = Table("id", "name", "kind", "overlap", "open", "done", "answers")
    with db.read() as s:
        organization = accounts.get_organization(s, org)
        for p in projects.list_projects(s, None, organization.id):
            c = projects.project_counts(s, p.id)
            table.add_row(str(p.id), p.name, p.kind, str(p.overlap), str(c["open"]), str(c["done"]), str(c["answers"]))
    console.print(table)


@app.command("show")
@friendly
def show(project_id: int, org: OrgOpt) -> None:
    """Show a project's settings and current label schema."""
    db = open_db()
    with db.read() as s:
        organization = accounts.get_organization(s, org)
        p = projects.get_project(s, None, project_id, org_id=organization.id)
        schema = projects.current_schema(s, p)
        counts = projects.project_counts(s, p.id)
    console.print(f"[bold]{p.name}[/bold] (id {p.id}, {p.kind}, schema v{p.schema_version})")
    console.print(f"overlap {p.overlap}, priority {p.priority}, skills {', '.join(p.required_skills) or '-'}")
    console.print(f"tasks {counts['tasks']}: open {counts['open']}, done {counts['done']}; answers {counts['answers']}")
    console.print_json(schema.model_dump_json())


@app.command("update")
@friendly
def update(
    project_id: int,
    org: OrgOpt,
    schema: Annotated[str | None, typer.Option(help="New label schema (JSON or @file); a new version.")] = None,
    overlap: Annotated[int | None, typer.Option(help="Answers wanted per item.")] = None,
    priority: Annotated[int | None, typer.Option(help="Higher first.")] = None,
    quality: Annotated[str | None, typer.Option(help="Quality fields to change, as JSON or @file.json.")] = None,
    gold_ratio: Annotated[float | None, typer.Option(help="Share of gold tasks mixed into each batch (0–0.5).")] = None,
    learning: Annotated[str | None, typer.Option(help="Learning fields to change, as JSON or @file.json.")] = None,
) -> None:
    """Change a project; a changed schema becomes a new version (removed classes are retired)."""
    db = open_db()
    with db.write() as s:
        organization = accounts.get_organization(s, org)
        p = projects.update_project(
            s,
            None,
            project_id,
            org_id=organization.id,
            schema=load_json_arg(schema, "schema") if schema else None,
            settings=ProjectSettings(
                overlap=overlap,
                priority=priority,
                gold_ratio=gold_ratio,
                quality=load_json_arg(quality, "quality") if quality else None,
                learning=load_json_arg(learning, "learning") if learning else None,
            ),
        )
    console.print(f"project {p.id} updated (schema v{p.schema_version}, overlap {p.overlap})")


@friendly
def import_cmd(
    source: Annotated[Path, typer.Argument(help="A .json/.jsonl/.csv file (optionally .gz) or a folder of files.")],
    org: OrgOpt,
    project: Annotated[int, typer.Option("--project", "-p", help="Project id.")],
) -> None:
    """Import items into a project: all of them, or none if any record is bad (the error says where)."""
    if not source.exists():
        raise Invalid(f"{source} does not exist", field="source")
    s = settings()
    db = open_db()
    blobs = BlobStore(s.effective_blob_url)
    with db.read() as session:
        organization = accounts.get_organization(session, org)
    with Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("records"),
        TimeElapsedColumn(),
        console=console,
        transient=not sys.stdout.isatty(),
    ) as bar:
        task = bar.add_task("import", total=None)
        report = imports.import_path(
            db, None, project, source, blobs=blobs, allowed_roots=[source.resolve().parent],
            max_item_bytes=s.max_item_bytes, org_id=organization.id, progress=lambda n: bar.advance(task, n),
        )  # fmt: skip
    rate = report.records / report.seconds if report.seconds else 0
    console.print(
        f"import {report.import_id}: {report.records} records, {report.created} items created, "
        f"{report.duplicates} duplicates skipped ({report.seconds:.1f} s, {rate:,.0f} records/s)"
    )
    for dup in report.duplicate_examples[:10]:
        console.print(f"  duplicate: {dup['location']} has the same content as {dup['same_content_as']}")
    if report.created:
        queue_derivation(s, report.import_id)


@friendly
def export_cmd(
    org: OrgOpt,
    project: Annotated[int, typer.Option("--project", "-p", help="Project id.")],
    output: Annotated[Path | None, typer.Option("--output", help="File to write; default: standard output.")] = None,
    format: Annotated[str, typer.Option("--format", "-f", help=f"One of: {', '.join(EXPORT_FORMATS)}.")] = "jsonl",
    history: Annotated[bool, typer.Option(help="Include replaced versions of answers.")] = False,
) -> None:
    """Export every item with its answers, streamed."""
    try:
        fmt = export_format(format)
    except KeyError:
        raise Invalid(f"unknown format '{format}'; known: {', '.join(EXPORT_FORMATS)}", field="format") from None
    db = open_db()
    with db.read() as session:
        organization = accounts.get_organization(session, org)
    pid = exports.start_export(db, None, project, format_name=fmt.name, org_id=organization.id)
    records = exports.iter_export_records(db, pid, history=history, reveal_annotators=True)
    out = output.open("wb") if output else sys.stdout.buffer
    try:
        for chunk in fmt.write(records):
            out.write(chunk)
    finally:
        if output:
            out.close()
    if output:
        console.print(f"wrote {output} ({output.stat().st_size:,} bytes)")


def queue_derivation(s: Settings, import_id: int) -> None:
    """Queue what annotators download (display copies, waveforms) for the server's job threads or a worker."""
    jobs = build_jobs(s)
    try:
        jobs.enqueue_derive_import(import_id)
    finally:
        jobs.close()
    console.print("display copies for annotators are queued; `kolam serve` (or `kolam worker`) derives them")
