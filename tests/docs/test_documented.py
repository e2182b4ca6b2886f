"""A setting or command nobody documented is a defect: these tests fail until the README mentions it."""

from __future__ import annotations

from pathlib import Path

import typer.main

from kolam.cli.main import app
from kolam.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _command_paths(group: typer.Typer, prefix: str = "kolam") -> list[str]:
    click_group = typer.main.get_command(group)
    out: list[str] = []

    def walk(command, path: str) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, f"{path} {name}")
        else:
            out.append(path)

    walk(click_group, prefix)
    return out


def test_every_setting_is_in_the_readme():
    for name, field in Settings.model_fields.items():
        assert field.description, f"Settings.{name} has no description"
        assert f"KOLAM_{name.upper()}" in README, f"KOLAM_{name.upper()} is not documented in README.md"


def test_every_command_is_in_the_readme():
    for path in _command_paths(app):
        parts = path.split()
        group = " ".join(parts[:2])
        assert group in README, f"`{path}` is not documented in README.md"
        if len(parts) == 3:
            assert parts[2] in README, f"`{path}` is not documented in README.md"
