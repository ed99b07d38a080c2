"""The manifest's usage hint and the README's command table say what the registries hold, and only that."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from handlers.help import command_table, usage_hint

ROOT = Path(__file__).resolve().parents[2]


def test_the_manifest_usage_hint_names_every_command() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    (hub,) = [c for c in manifest["features"]["slash_commands"] if c["command"] == "/hub"]
    assert hub["usage_hint"] == usage_hint()


def test_the_readme_command_table_is_the_registries() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(command_table()[0])
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    assert lines[start:end] == command_table()
    # No other table or list in the README names a `/hub` command's usage that the registries lack.
    for line in lines[:start] + lines[end:]:
        for word in re.findall(r"`/hub ([a-z]+)", line):
            assert any(row.startswith(f"| `/hub {word}") for row in command_table()), line
