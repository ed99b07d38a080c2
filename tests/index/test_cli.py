"""`hubkeeper index`, `hubkeeper review --access`, `hubkeeper activity` and `hubkeeper emulator-web-ui`,
run as real processes against the emulator and a SQLite store."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from handlers.access_review import COLUMNS
from hub.emulator import DEMO, EmulatorServer

from .conftest import expected_grants


def hubkeeper(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKERHUB_", "HUBKEEPER_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def demo_env(base_url: str, folder: Path) -> dict[str, str]:
    return {
        "DOCKERHUB_ORG": DEMO.org,
        "DOCKERHUB_OAT": DEMO.oat,
        "DOCKERHUB_API_URL": base_url,
        "HUBKEEPER_DATABASE_URL": f"sqlite:///{folder / 'hubkeeper.db'}",
    }


def test_index_then_access_review(emulator: EmulatorServer, tmp_path: Path) -> None:
    env = demo_env(emulator.base_url, tmp_path)
    missing = hubkeeper("review", "--access", "--csv", str(tmp_path / "early.csv"), env=env)
    assert missing.returncode == 1 and "has not been built yet" in missing.stderr
    assert not (tmp_path / "early.csv").exists()

    built = hubkeeper("index", env=env)
    assert built.returncode == 0, built.stderr
    assert "acme: access index refreshed: 5 repositories × 6 teams, 30 pairs read" in built.stdout
    grants = len(expected_grants(emulator.state))
    assert f"{grants} grants" in built.stdout

    target = tmp_path / "access.csv"
    review = hubkeeper("review", "--access", "--csv", str(target), env=env)
    assert review.returncode == 0, review.stderr
    assert review.stderr.startswith("Repository access review of acme:")
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == COLUMNS
    assert ["danielkim", "acme/api", "write", "backend"] in rows


def test_index_bad_instance_is_one_line(emulator: EmulatorServer, tmp_path: Path) -> None:
    result = hubkeeper("index", "--instance", "nope", env=demo_env(emulator.base_url, tmp_path))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "'nope' is not configured" in result.stderr


def test_activity_lists_outside_changes(emulator: EmulatorServer, tmp_path: Path) -> None:
    env = demo_env(emulator.base_url, tmp_path)
    changed = hubkeeper(
        "emulator-web-ui",
        "--url",
        emulator.base_url,
        "--actor",
        "bobokafor",
        "member.role.change",
        "username=ivanpetrov",
        "role=owner",
    )
    assert changed.returncode == 0, changed.stderr
    result = hubkeeper("activity", "--since", "1d", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(
        line.startswith("! ") and "bobokafor" in line and "changed the role of ivanpetrov from member to owner" in line
        for line in lines
    )
    # The seeded history: a week back shows the older outside changes too, one line each.
    week = hubkeeper("activity", "--since", "7d", "--all", env=env)
    assert week.returncode == 0 and len(week.stdout.splitlines()) > len(lines)


def test_activity_bad_input_is_one_line(emulator: EmulatorServer, tmp_path: Path) -> None:
    wrong = hubkeeper("activity", "--since", "soon", env=demo_env(emulator.base_url, tmp_path))
    assert wrong.returncode == 2 and "--since" in wrong.stderr
    refused = hubkeeper("emulator-web-ui", "--url", emulator.base_url, "plan.upgrade")
    assert refused.returncode == 1 and "cannot do" in refused.stderr
