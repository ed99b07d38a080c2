"""What the command line prints, run as real processes against the emulator (and the Slack stand-in):
`-v` logs Docker Hub requests and nothing else, and text from Docker Hub reaches the terminal without
its control characters."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli.output import printable
from bot.sandbox.slack_api import SlackStandIn
from hub.emulator import DEMO, EmulatorServer, EmulatorState
from tests.bot.test_cli import demo_env, hubkeeper

TOKEN = "xoxb-cli-output"
HUB_OPS = "C0HUBOPS01"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (?P<level>[A-Z]+) (?P<logger>\S+): ", re.MULTILINE)

# An OSC sequence that retitles the terminal, a colour, a bell, a backspace, a lone carriage return.
HOSTILE_NAME = "Mallory \x1b]0;owned\x07Evil\x1b[31m Red\x08\rX\x9b"
SHOWN_NAME = "Mallory ]0;ownedEvil[31m RedX"
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")


def raw_stdout(*args: str, env: dict[str, str]) -> str:
    """`hubkeeper ARGS`'s standard output exactly as written (text mode would turn a lone CR into LF)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKERHUB_", "HUBKEEPER_", "SLACK_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], env={**clean, **env}, capture_output=True, timeout=60, check=False
    )
    assert result.returncode in (0, 2), result.stderr.decode()  # `policy plan` exits 2: changes to make
    return result.stdout.decode()


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(bot_token=TOKEN) as standin:
        yield standin


def test_verbose_logs_docker_hub_requests_and_nothing_else(
    emulator: EmulatorServer, slack: SlackStandIn, tmp_path: Path
) -> None:
    env = {
        **demo_env(emulator.base_url),
        "HUBKEEPER_DATABASE_URL": f"sqlite:///{tmp_path / 'hk.db'}",
        "HUBKEEPER_DIGEST_CHANNEL": HUB_OPS,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": slack.api_url,
    }
    # The digest touches all three: Docker Hub, the store (SQLAlchemy) and Slack (slack_sdk).
    result = hubkeeper("-v", "digest", env=env)
    assert result.returncode == 0, result.stderr
    assert slack.messages(HUB_OPS), "the digest was posted"
    records = [(found["level"], found["logger"]) for found in LOG_LINE.finditer(result.stderr)]
    assert ("DEBUG", "hub.http") in records
    assert re.search(r"hub\.http: GET /v2/orgs/acme/members -> 200 in \d+ ms", result.stderr)
    assert {logger for level, logger in records if level == "DEBUG"} == {"hub.http"}
    for noisy in ("sqlalchemy", "aiosqlite", "slack_sdk", "asyncio", "SELECT", TOKEN, DEMO.oat):
        assert noisy not in result.stderr


def test_without_verbose_there_is_no_request_log(emulator: EmulatorServer) -> None:
    result = hubkeeper("check", env=demo_env(emulator.base_url))
    assert result.returncode == 0
    assert "hub.http" not in result.stderr


def test_printable_keeps_text_and_line_ends_and_drops_controls() -> None:
    assert printable(HOSTILE_NAME) == SHOWN_NAME
    assert printable("a,b\r\nc\td\n") == "a,b\r\nc\td\n"
    assert printable("line\none", multiline=False) == "lineone"
    assert printable("Zoë — 山田 ✓") == "Zoë — 山田 ✓"


@pytest.fixture
def hostile_member(emulator_state: EmulatorState) -> str:
    """A stale member of `backend` whose full name is full of terminal control sequences."""
    long_ago = datetime.now(UTC) - timedelta(days=400)
    emulator_state.add_member(
        DEMO.org,
        "mallory",
        full_name=HOSTILE_NAME,
        teams=["backend"],
        date_joined=long_ago,
        last_logged_in_at=long_ago,
        last_seen_at=long_ago,
    )
    return "mallory"


def test_digest_dry_run_strips_control_characters(
    emulator: EmulatorServer, hostile_member: str, tmp_path: Path
) -> None:
    env = {**demo_env(emulator.base_url), "HUBKEEPER_DATABASE_URL": f"sqlite:///{tmp_path / 'hk.db'}"}
    output = raw_stdout("digest", "--dry-run", env=env)
    assert SHOWN_NAME in output
    assert not CONTROL.search(output)


def test_review_csv_strips_control_characters(emulator: EmulatorServer, hostile_member: str) -> None:
    output = raw_stdout("review", "--csv", "-", env=demo_env(emulator.base_url))
    rows = list(csv.DictReader(io.StringIO(output, newline="")))
    assert next(row for row in rows if row["username"] == hostile_member)["full_name"] == SHOWN_NAME
    assert not CONTROL.search(output)
    assert output.count("\r\n") == len(rows) + 1  # the CSV's own line ends stay


def test_policy_plan_strips_control_characters(
    emulator: EmulatorServer, emulator_state: EmulatorState, tmp_path: Path
) -> None:
    emulator_state.add_member(DEMO.org, "mal\x1b[8mlory", teams=["backend"])
    policy = tmp_path / "policy.yml"
    policy.write_text("teams:\n  backend:\n    members: [erinpatel]\n", encoding="utf-8")
    output = raw_stdout("policy", "plan", str(policy), env=demo_env(emulator.base_url))
    assert "- remove mal[8mlory from team backend" in output
    assert not CONTROL.search(output)
