"""A clean clone stands alone: nothing in the project reads or cites material outside the repository."""

from __future__ import annotations

import re

import pytest

from .conftest import ROOT

# Spelt in pieces so that this file does not match itself.
OUTSIDE = re.compile("|".join([r"\.\./" + "shared", "API-" + "NOTES", r"\bNOTES " + "§", "HUBKEEPER_" + "SHARED"]))
CHECKED = [
    "hub",
    "handlers",
    "bot",
    "tests",
    "benchmarks",
    "deploy",
    "docs",
    "Makefile",
    ".ci",
    "README.md",
    "pyproject.toml",
]


@pytest.mark.parametrize("top", CHECKED)
def test_nothing_points_outside_the_repository(top: str) -> None:
    path = ROOT / top
    files = [path] if path.is_file() else [file for file in path.rglob("*") if file.is_file()]
    hits = []
    for file in files:
        if "__pycache__" in file.parts or file.suffix in (".pyc", ".whl"):
            continue
        text = file.read_text(encoding="utf-8", errors="replace")
        hits += [f"{file.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}" for m in OUTSIDE.finditer(text)]
    assert not hits, "points outside the repository: " + ", ".join(hits)
