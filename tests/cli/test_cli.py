"""The `kolam` command driven in-process on a fresh data folder (embedded SQLite): accounts, tokens, projects,
import, export, migrations and the demo — errors as one line with exit status 1, and help on every command."""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import typer.main
from click.testing import Result
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from kolam.api.app import create_app
from kolam.cli import common
from kolam.cli.main import app
from kolam.formats.export_csv import COLUMNS
from kolam.settings import Settings, get_settings
from kolam.store.migrate import head_revision

TEXT_SCHEMA = {"classes": [{"name": "ok"}, {"name": "spam"}, {"name": "abuse"}], "multi_label": True}


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Only KOLAM_DATA_DIR is set (no database URL: SQLite); wide output so tables are not cut."""
    for name in [n for n in os.environ if n.startswith("KOLAM_") and not n.startswith("KOLAM_TEST_")]:
        monkeypatch.delenv(name)
    data = tmp_path / "data"
    monkeypatch.setenv("KOLAM_DATA_DIR", str(data))
    monkeypatch.setenv("COLUMNS", "200")
    for console in (common.console, common.err_console):  # fixed at import when COLUMNS was set (pytest-xdist)
        monkeypatch.setattr(console, "_width", None)
    monkeypatch.chdir(tmp_path)
    yield data
    get_settings.cache_clear()


def kolam(*args: object) -> Result:
    get_settings.cache_clear()  # settings are cached per process; each command reads the environment afresh
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def ok(*args: object) -> str:
    result = kolam(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def fails(*args: object) -> str:
    """The command exits 1 with exactly one line on stderr, and no traceback anywhere."""
    result = kolam(*args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def table(out: str) -> list[list[str]]:
    """The body rows of a rich table, as lists of cell texts."""
    return [[cell.strip() for cell in line.split("│")[1:-1]] for line in out.splitlines() if line.startswith("│")]


def api(data: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=data)))


@pytest.fixture
def acme(data_dir: Path) -> str:
    ok("orgs", "create", "acme", "--name", "Acme Data")
    ok("users", "add", "manager@acme.test", "--org", "acme", "--role", "manager", "--password", "manager-pass")
    return "acme"


@pytest.fixture
def text_project(acme: str) -> int:
    schema = json.dumps(TEXT_SCHEMA)
    out = ok("projects", "create", "Reviews", "--org", acme, "--kind", "text_classes", "--schema", schema)
    return int(re.search(r"created project (\d+)", out).group(1))


# --- accounts and tokens -----------------------------------------------------------------------------------------


def test_orgs_and_users(data_dir: Path):
    assert ok("orgs", "create", "acme", "--name", "Acme Data").startswith("created organization acme (id ")
    assert "acme" in ok("orgs", "list") and "Acme Data" in ok("orgs", "list")
    assert "exists" in fails("orgs", "create", "acme")

    added = ok("users", "add", "Lead@Acme.test", "--org", "acme", "--role", "manager", "--name", "Lead")
    passwords = re.findall(r"password: (\S+)\s+\(shown once\)", added)
    assert len(passwords) == 1
    given = ok("users", "add", "anbu@acme.test", "--org", "acme", "--password", "anbu-pass", "--skill", "ta")
    assert "password" not in given
    assert "unknown role 'wizard'" in fails("users", "add", "x@acme.test", "--org", "acme", "--role", "wizard")
    assert fails("users", "list", "--org", "nope") == "error: no organization 'nope'"

    listed = sorted(row[2:] for row in table(ok("users", "list", "--org", "acme")))
    assert listed == [["anbu@acme.test", "", "annotator", "ta"], ["lead@acme.test", "Lead", "manager", ""]]
    with api(data_dir) as client:  # the printed password is the real one
        login = {"email": "lead@acme.test", "password": passwords[0], "organization": "acme"}
        assert client.post("/api/v1/auth/login", json=login).status_code == 200
        login["password"] = "wrong-password"
        assert client.post("/api/v1/auth/login", json=login).status_code == 401


def test_a_revoked_token_is_refused_by_the_api(data_dir: Path, acme: str):
    created = ok("tokens", "create", "manager@acme.test", "--org", acme, "--name", "nightly export")
    token_id, secret = re.search(r"token (\d+) for manager@acme\.test: (\S+)\s+\(shown once\)", created).groups()
    listed = ok("tokens", "list", "--org", acme)
    assert "nightly export" in listed and secret[:12] in listed and secret not in listed
    headers = {"Authorization": f"Bearer {secret}"}

    with api(data_dir) as client:
        assert client.get("/api/v1/me", headers=headers).json()["email"] == "manager@acme.test"
        assert ok("tokens", "revoke", token_id, "--org", acme).strip() == f"token {token_id} revoked"
        refused = client.get("/api/v1/me", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthenticated"
    (row,) = table(ok("tokens", "list", "-o", acme))
    assert row[0] == token_id and row[5]  # revoked, with its date
    assert "no token 99" in fails("tokens", "revoke", "99", "--org", acme)


# --- projects ----------------------------------------------------------------------------------------------------


def test_projects_create_list_show_update(tmp_path: Path, acme: str):
    text_kind = ["--kind", "text_classes", "--schema", json.dumps(TEXT_SCHEMA)]
    created = ok("projects", "create", "Tamil reviews", "--org", acme, *text_kind, "--overlap", "2", "--skill", "ta")
    assert re.fullmatch(r"created project (\d+) 'Tamil reviews' \(text_classes\)\n", created)
    (tmp_path / "schema.json").write_text(json.dumps({"classes": [{"name": "cat"}, {"name": "dog"}]}))
    (tmp_path / "guide.md").write_text("# Pick the animal\n")
    image_kind = ["--kind", "image_classes", "--schema", "@schema.json"]
    photos = ok("projects", "create", "Photos", "--org", acme, *image_kind, "--instructions", "@guide.md")
    pid = int(re.search(r"created project (\d+)", photos).group(1))

    listed = ok("projects", "list", "--org", acme)
    assert "Tamil reviews" in listed and "Photos" in listed and "image_classes" in listed
    shown = ok("projects", "show", pid, "--org", acme)
    assert f"Photos (id {pid}, image_classes, schema v1)" in shown
    assert '"cat"' in shown and '"dog"' in shown

    (tmp_path / "schema.json").write_text(json.dumps({"classes": [{"name": "cat"}, {"name": "bird"}]}))
    updated = ok("projects", "update", pid, "--org", acme, "--schema", "@schema.json", "--overlap", "3")
    assert updated.strip() == f"project {pid} updated (schema v2, overlap 3)"
    schema = json.loads(ok("projects", "show", pid, "--org", acme).split("\n", 3)[3])
    assert {c["name"]: c["retired"] for c in schema["classes"]} == {"cat": False, "dog": True, "bird": False}
    again = ok("projects", "update", pid, "--org", acme, "--schema", "@schema.json")
    assert "schema v2" in again  # the same schema again is no new version


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--schema", '{"classes": []}'], "classes"),
        (["--schema", "{not json"], "schema"),
        (["--schema", "@missing.json"], "missing.json"),
        (["--schema", json.dumps(TEXT_SCHEMA), "--instructions", "@missing.md"], "missing.md"),
        (["--schema", json.dumps(TEXT_SCHEMA), "--overlap", "0"], "overlap"),
    ],
    ids=["empty-schema", "schema-not-json", "schema-file-missing", "instructions-file-missing", "bad-overlap"],
)
def test_a_bad_project_is_one_line(acme: str, args: list[str], words: str):
    line = fails("projects", "create", "Bad", "--org", acme, "--kind", "text_classes", *args)

    assert words in line
    assert "Bad" not in ok("projects", "list", "--org", acme)


def test_projects_of_another_org_are_not_found(acme: str, text_project: int):
    ok("orgs", "create", "other")

    assert f"no project {text_project}" in fails("projects", "show", text_project, "--org", "other")
    assert f"no project {text_project}" in fails("export", "--org", "other", "--project", text_project)


# --- import and export -------------------------------------------------------------------------------------------


def test_import_reports_counts_and_duplicates(tmp_path: Path, acme: str, text_project: int):
    lines = [{"text": "வணக்கம்"}, {"text": "नमस्ते"}, {"text": "வணக்கம்", "id": "again"}, {"text": "hello"}]
    (tmp_path / "batch.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines))

    out = ok("import", "batch.jsonl", "--org", acme, "--project", text_project)

    assert re.search(r"import \d+: 4 records, 3 items created, 1 duplicates skipped", out)
    assert "duplicate: batch.jsonl line 3 has the same content as batch.jsonl line 1" in out
    assert "tasks 3: open 3" in ok("projects", "show", text_project, "--org", acme)


def test_a_bad_import_file_is_one_line_naming_file_and_line(
    tmp_path: Path, acme: str, text_project: int, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("COLUMNS", "40")  # narrower than the message: it must still be one line
    (tmp_path / "bad-file.jsonl").write_text('{"text": "fine"}\n{"txt": "typo", "lang": "ta"}\n')

    line = fails("import", "bad-file.jsonl", "--org", acme, "--project", text_project)

    assert line.startswith("error: bad-file.jsonl line 2: missing field 'text'")
    assert "fields given: lang, txt" in line
    assert "tasks 0" in ok("projects", "show", text_project, "--org", acme)
    assert "does not exist" in fails("import", "nowhere.jsonl", "--org", acme, "--project", text_project)


def test_import_a_folder_of_images(tmp_path: Path, acme: str):
    schema = json.dumps({"classes": [{"name": "shirt"}, {"name": "shoe"}]})
    out = ok("projects", "create", "Photos", "-o", acme, "--kind", "image_classes", "--schema", schema)
    pid = int(re.search(r"created project (\d+)", out).group(1))
    folder = tmp_path / "photos"
    (folder / "more").mkdir(parents=True)
    for i, name in enumerate(["one.png", "two.jpg", "more/three.png"]):
        Image.new("RGB", (16, 16), (i * 90, 30, 200)).save(folder / name)

    out = ok("import", folder, "--org", acme, "--project", pid)

    assert re.search(r"3 records, 3 items created, 0 duplicates skipped", out)
    blobs = [p for p in (tmp_path / "data" / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 3 and all(p.relative_to(tmp_path / "data" / "blobs").parts[0] == "org1" for p in blobs)


def test_export_csv_to_a_file_and_jsonl_to_stdout(tmp_path: Path, acme: str, text_project: int):
    (tmp_path / "batch.csv").write_text('id,text\nx1,"=1+2"\nx2,"two\nlines"\n', encoding="utf-8")
    ok("import", "batch.csv", "--org", acme, "--project", text_project)

    out = ok("export", "--org", acme, "--project", text_project, "--format", "csv", "--output", "f.csv")

    assert re.fullmatch(r"wrote f\.csv \([\d,]+ bytes\)\n", out)
    with (tmp_path / "f.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == COLUMNS
    assert [json.loads(r[2])["text"] for r in rows[1:]] == ["=1+2", "two\nlines"]
    records = [json.loads(line) for line in ok("export", "-o", acme, "-p", text_project).splitlines()]
    assert [(r["external_id"], r["annotations"]) for r in records] == [("x1", []), ("x2", [])]
    assert "unknown format 'xml'" in fails("export", "-o", acme, "-p", text_project, "--format", "xml")


# --- database, demo, help ----------------------------------------------------------------------------------------


def test_db_upgrade_and_current(data_dir: Path):
    assert ok("db", "current").strip() == f"current: None  newest: {head_revision()}"

    upgraded = ok("db", "upgrade")

    assert upgraded.startswith(f"database at revision {head_revision()} (")
    assert str(data_dir / "kolam.db") in upgraded
    assert ok("db", "current").strip() == f"current: {head_revision()}  newest: {head_revision()}"
    assert ok("db", "upgrade").startswith(f"database at revision {head_revision()}")  # again: nothing to do


def test_demo_sets_up_and_a_second_run_reuses_the_org(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch):
    demo_dir = tmp_path / "demo"  # --data-dir wins over KOLAM_DATA_DIR (set to data_dir by the fixture)

    first = ok("demo", "--no-serve", "--limit", 50, "--data-dir", demo_dir)
    second = ok("demo", "--no-serve", "--limit", 50, "--data-dir", demo_dir)

    for out in (first, second):
        assert "logins (organization 'demo')" in out
        rows = table(out)
        assert ["manager@demo.kolam", "kolam-demo", "manager"] in rows
        assert sum(row[1:] == ["kolam-demo", "annotator"] for row in rows) == 3
        assert [row[1:] for row in rows if len(row) == 3 and row[0].isdigit()] == [
            ["Fashion products", "50"],
            ["E-mail moderation", "50"],
            ["Speech transcription", "15"],
            ["Photo objects", "6"],
        ]
    assert [r for r in table(first) if r[0].isdigit()] == [r for r in table(second) if r[0].isdigit()]
    assert (demo_dir / "kolam.db").exists()
    assert not (data_dir / "kolam.db").exists()
    monkeypatch.setenv("KOLAM_DATA_DIR", str(demo_dir))
    assert [row[1] for row in table(ok("orgs", "list"))] == ["demo"]


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) or "kolam" for p, _ in COMMANDS])
def test_every_command_answers_help(data_dir: Path, path: tuple[str, ...], command: click.Command):
    assert command.help and command.help.strip(), f"`kolam {' '.join(path)}` has no help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert getattr(param, "help", None), f"`kolam {' '.join(path)}` option {param.opts[0]} has no help"

    result = kolam(*path, "--help")

    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
    assert command.help.strip().splitlines()[0][:40] in " ".join(result.stdout.split())
    assert not data_dir.exists()  # asking for help touches no database


# --- quality -------------------------------------------------------------------------------------------------------


def test_quality_policy_gold_from_a_file_resolve_and_report(tmp_path: Path, acme: str, text_project: int):
    lines = [{"text": "buy now", "id": "m1"}, {"text": "hello friend", "id": "m2"}]
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    ok("import", "items.jsonl", "--org", acme, "--project", text_project)
    policy = json.dumps({"method": "dawid_skene", "review_sample": 0.1})
    ok("projects", "update", text_project, "--org", acme, "--quality", policy, "--gold-ratio", "0.2")
    bad_policy = fails("projects", "update", text_project, "--org", acme, "--quality", '{"method": "best"}')
    assert "quality.method" in bad_policy and "unknown method 'best'" in bad_policy

    gold = [{"external_id": "m1", "value": {"labels": ["spam"]}}, {"external_id": "m9", "value": {"labels": ["ok"]}}]
    (tmp_path / "gold.jsonl").write_text("\n" + "".join(json.dumps(g) + "\n" for g in gold))
    line = fails("quality", "gold", "gold.jsonl", "--org", acme, "--project", text_project)
    assert line.startswith("error: gold.jsonl:3: no item with external_id 'm9'")  # the file's line, not the index
    (tmp_path / "gold.jsonl").write_text(json.dumps(gold[0]) + "\n")
    assert "1 gold answers set" in ok("quality", "gold", "gold.jsonl", "--org", acme, "--project", text_project)

    assert "0 items from 0 answers" in ok("quality", "resolve", "--org", acme, "--project", text_project)
    report = json.loads(ok("quality", "report", "--org", acme, "--project", text_project))
    assert report["policy"]["method"] == "dawid_skene" and report["policy"]["review_sample"] == 0.1
    assert (report["gold"]["items"], report["summary"]["items"]) == (1, 1)


def test_models_commands_train_prelabel_and_list(tmp_path: Path, acme: str):
    pytest.importorskip("onnxruntime")
    schema = json.dumps({"classes": [{"name": "spam"}, {"name": "ok"}], "multi_label": False})
    created = ok("projects", "create", "Mail", "--org", acme, "--kind", "text_classes", "--schema", schema,
                 "--learning", json.dumps({"min_train_items": 4}))  # fmt: skip
    project = re.search(r"project (\d+)", created).group(1)  # type: ignore[union-attr]
    bad = fails("projects", "update", project, "--org", acme, "--learning", '{"active_learning": "psychic"}')
    assert "learning.active_learning" in bad
    lines = [{"text": t, "id": f"m{i}"} for i, t in enumerate(
        ["win a free prize now", "claim your cash reward", "lunch at noon?", "notes from the meeting",
         "free prize waiting for you", "see you at the meeting"])]  # fmt: skip
    (tmp_path / "mail.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    ok("import", "mail.jsonl", "--org", acme, "--project", project)
    skipped = ok("models", "train", "--org", acme, "--project", project)
    assert "skipped" in skipped and "0 settled items" in skipped
    first = json.loads(ok("models", "prelabel", "--org", acme, "--project", project))
    assert first["model"] is None and "cold-start" in first["reason"]
    assert table(ok("models", "list", "--org", acme, "--project", project)) == []
