"""`hubkeeper review`, run as a real process against the emulator."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings
from handlers.review import COLUMNS
from hub.emulator import DEMO, EmulatorServer, EmulatorState


def run_review(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKERHUB_", "HUBKEEPER_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "review", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def demo_env(base_url: str) -> dict[str, str]:
    return {"DOCKERHUB_ORG": DEMO.org, "DOCKERHUB_OAT": DEMO.oat, "DOCKERHUB_API_URL": base_url}


def test_review_writes_the_csv_file(emulator: EmulatorServer, emulator_state: EmulatorState, tmp_path: Path) -> None:
    target = tmp_path / "review.csv"
    result = run_review("--csv", str(target), env=demo_env(emulator.base_url))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("Access review of acme: 40 members (3 owners, 4 guests)")
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == COLUMNS
    assert {r["username"] for r in rows if r["role"] != "Invitee"} == set(emulator_state.org("acme").members)
    assert list(tmp_path.iterdir()) == [target]  # the partial file was renamed, not left beside it


def test_review_to_stdout_with_a_threshold(emulator: EmulatorServer) -> None:
    env = {**demo_env(emulator.base_url), "HUBKEEPER_STALE_AFTER_DAYS": "1000"}
    result = run_review("--csv", "-", env=env)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    assert len(rows) == 44 and "0 stale (no activity in 1000 days)" in result.stderr
    # The option wins over the setting.
    result = run_review("--stale-after-days", "30", env=env)
    assert result.returncode == 0 and "(no activity in 30 days)" in result.stderr


def test_review_without_configuration_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_review("--csv", str(tmp_path / "review.csv"))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("hubkeeper: DOCKERHUB_ORG is not set")
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_review_of_an_unknown_instance_is_exit_2(emulator: EmulatorServer) -> None:
    result = run_review("--instance", "nope", env=demo_env(emulator.base_url))
    assert result.returncode == 2 and "--instance 'nope' is not configured" in result.stderr


def test_an_unreachable_docker_hub_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "review.csv"
    result = run_review("--csv", str(target), env=demo_env("http://127.0.0.1:9"))
    assert result.returncode == 1
    assert "could not reach Docker Hub" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("raw", "days"), [("30", 30), ("36500", 36500)])
def test_stale_after_days_setting(monkeypatch: pytest.MonkeyPatch, raw: str, days: int) -> None:
    monkeypatch.setenv("HUBKEEPER_STALE_AFTER_DAYS", raw)
    assert load_settings().hubkeeper_stale_after_days == days


@pytest.mark.parametrize("raw", ["0", "-5", "ninety", "1.5", "36501"])
def test_a_malformed_stale_setting_names_it(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("HUBKEEPER_STALE_AFTER_DAYS", raw)
    with pytest.raises(ConfigError, match="HUBKEEPER_STALE_AFTER_DAYS"):
        load_settings()
