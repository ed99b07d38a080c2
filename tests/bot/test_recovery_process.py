"""`hubkeeper serve --http` as a real process, killed or stopped while a change is being applied.

The bot runs against the Docker Hub emulator (which answers the change's write slowly) and the Slack
stand-in, on a SQLite file, with a 5 s sweep. Requests reach it signed as Slack signs them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from bot.sandbox.demo_users import DEMO_SLACK_USERS, HUB_OPS
from bot.sandbox.payloads import block_actions_payload, interaction_body, signed_headers, slash_command_body
from bot.sandbox.slack_api import SlackStandIn
from hub.emulator import DEMO, EmulatorServer, EmulatorState

BOT_TOKEN = "xoxb-recovery-process-1234"
SIGNING_SECRET = "recovery-process-secret-5678"
SWEEP_SECONDS = 5
ALICE, BOB, IVAN = "U0ALICE01", "U0BOBOK01", "U0IVANP01"
USERS = {user.id: user for user in DEMO_SLACK_USERS}
CREATE_TEAM = "/v2/orgs/acme/groups"
WAIT = 90.0
"""Generous: a loaded machine takes seconds to start an interpreter. Conditions are waited on, not times."""


@dataclass
class Bot:
    process: subprocess.Popen[str]
    url: str
    serving_at: datetime
    log: Path


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(bot_token=BOT_TOKEN) as standin:
        yield standin


def environment(emulator: EmulatorServer, slack: SlackStandIn, database: Path, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DOCKERHUB_", "HUBKEEPER_", "SLACK_"))},
        "DOCKERHUB_ORG": DEMO.org,
        "DOCKERHUB_OAT": DEMO.oat,
        "DOCKERHUB_API_URL": emulator.base_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "HUBKEEPER_DATABASE_URL": f"sqlite:///{database}",
        "HUBKEEPER_APPROVAL_CHANNEL": HUB_OPS.id,
        "HUBKEEPER_APPROVERS": f"{ALICE},{BOB}",
        "HUBKEEPER_SWEEP_SECONDS": str(SWEEP_SECONDS),
        **extra,
    }


@contextmanager
def running(env: dict[str, str], log: Path) -> Iterator[Bot]:
    """`hubkeeper serve --http` until the block ends (killed then, if it is still running)."""
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--http", "--host", "127.0.0.1", "--port", "0"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        found = wait_until(
            lambda: (
                re.search(r"serving Slack over HTTP at (http://127\.0\.0\.1:\d+/slack/events)", read(log))
                or (process.poll() is not None and pytest.fail(f"serve stopped:\n{read(log)}"))
            ),
            "the bot to serve",
        )
        yield Bot(process, found.group(1), datetime.now(UTC), log)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def read(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")


def wait_until(condition: Any, what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def command(bot: Bot, slack: SlackStandIn, user: str, line: str) -> None:
    body = slash_command_body(
        slack.state.identity,
        USERS[user],
        (HUB_OPS.id, HUB_OPS.name),
        "/hub",
        line,
        slack.new_response_url(user, HUB_OPS.id),
        slack.new_trigger_id(user),
    )
    answer = httpx.post(bot.url, content=body, headers=signed_headers(SIGNING_SECRET, body), timeout=30)
    assert answer.status_code == 200, answer.text


def click(bot: Bot, slack: SlackStandIn, user: str, action_id: str) -> None:
    message = approval(slack)
    block = next(b for b in message["blocks"] if any(e.get("action_id") == action_id for e in b.get("elements", [])))
    element = next(e for e in block["elements"] if e["action_id"] == action_id)
    payload = block_actions_payload(
        slack.state.identity,
        USERS[user],
        (HUB_OPS.id, HUB_OPS.name),
        message,
        False,
        element,
        block["block_id"],
        slack.new_response_url(user, HUB_OPS.id, original_ts=message["ts"]),
        slack.new_trigger_id(user),
    )
    body = interaction_body(payload)
    answer = httpx.post(bot.url, content=body, headers=signed_headers(SIGNING_SECRET, body), timeout=30)
    assert answer.status_code == 200, answer.text


def approval(slack: SlackStandIn) -> dict[str, Any]:
    return slack.messages(HUB_OPS.id)[-1]


def shows(slack: SlackStandIn, words: str) -> bool:
    messages = slack.messages(HUB_OPS.id)
    return bool(messages) and words in json.dumps(approval(slack))


def buttons(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def stored(database: Path) -> dict[str, Any]:
    """The one request, as the database holds it (read with a plain synchronous engine)."""
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            row = connection.execute(text("SELECT status, updated_at, executor, attempts FROM requests")).one()
    finally:
        engine.dispose()
    return dict(row._mapping)


def ask_and_approve_a_slow_change(bot: Bot, slack: SlackStandIn, emulator_state: EmulatorState, seconds: float) -> None:
    """Ivan asks for a new team; Docker Hub will take `seconds` to answer its creation; Alice approves."""
    emulator_state.delay_next(1, seconds, method="POST", path=CREATE_TEAM)
    command(bot, slack, IVAN, "team create mobile Mobile apps --reason new app")
    wait_until(lambda: shows(slack, "Waiting for approval"), "the approval message")
    click(bot, slack, ALICE, "approval_approve")
    wait_until(lambda: shows(slack, "Applying the change"), "the change to be under way")


def test_a_killed_bot_recovers_the_request_after_restart(
    emulator: EmulatorServer, emulator_state: EmulatorState, slack: SlackStandIn, tmp_path: Path
) -> None:
    """The issue's test: SIGKILL while a change executes; after a restart the request is interrupted,
    with Retry, within three sweep intervals."""
    database = tmp_path / "hubkeeper.db"
    env = environment(emulator, slack, database)
    with running(env, tmp_path / "first.log") as first:
        ask_and_approve_a_slow_change(first, slack, emulator_state, seconds=15)
        assert stored(database)["status"] == "executing"
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=30)
    assert stored(database)["status"] == "executing"  # what a kill leaves: no button, no outcome

    with running(env, tmp_path / "second.log") as second:
        wait_until(lambda: shows(slack, "Interrupted: check and Retry"), "the request to be recovered")
        recovered = stored(database)
        assert recovered["status"] == "interrupted"
        recovered_at = datetime.fromisoformat(str(recovered["updated_at"])).replace(tzinfo=UTC)
        assert recovered_at - second.serving_at <= timedelta(seconds=3 * SWEEP_SECONDS), (
            recovered_at,
            second.serving_at,
        )
        message = approval(slack)
        assert buttons(message) == ["approval_retry"]
        assert "Retry possible until" in json.dumps(message)
        assert "Interrupted" in json.dumps(slack.dms(IVAN))
    for log in (first.log, second.log):
        assert DEMO.oat not in read(log) and BOT_TOKEN not in read(log) and SIGNING_SECRET not in read(log)


def test_sigterm_lets_the_change_finish_within_the_grace_and_takes_no_new_work(
    emulator: EmulatorServer, emulator_state: EmulatorState, slack: SlackStandIn, tmp_path: Path
) -> None:
    database = tmp_path / "hubkeeper.db"
    env = environment(emulator, slack, database, HUBKEEPER_SHUTDOWN_GRACE="60s")
    with running(env, tmp_path / "serve.log") as bot:
        # Docker Hub answers after 10 s: time for the command below to arrive while the change runs.
        ask_and_approve_a_slow_change(bot, slack, emulator_state, seconds=10)
        bot.process.send_signal(signal.SIGTERM)
        wait_until(lambda: "shutting down" in read(bot.log), "the shutdown to begin")
        command(bot, slack, IVAN, "team create other --reason later")
        refused = wait_until(
            lambda: [m for m in slack.ephemerals(IVAN) if "is shutting down" in json.dumps(m)],
            "the answer to a command sent during the shutdown",
        )
        assert refused
        assert bot.process.wait(timeout=WAIT) == 0
    assert stored(database)["status"] == "done"
    assert shows(slack, "Done by")
    assert "mobile" in emulator_state.org("acme").groups and "other" not in emulator_state.org("acme").groups


def test_sigterm_leaves_a_change_that_outlasts_the_grace_to_recovery(
    emulator: EmulatorServer, emulator_state: EmulatorState, slack: SlackStandIn, tmp_path: Path
) -> None:
    database = tmp_path / "hubkeeper.db"
    env = environment(emulator, slack, database, HUBKEEPER_SHUTDOWN_GRACE="1s")
    with running(env, tmp_path / "first.log") as first:
        ask_and_approve_a_slow_change(first, slack, emulator_state, seconds=15)
        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(timeout=WAIT) == 0
    left = stored(database)
    assert left["status"] == "executing"  # neither failed nor done: the outcome is not known
    assert "did not finish within the grace" in read(first.log)

    with running(env, tmp_path / "second.log"):
        wait_until(lambda: shows(slack, "Interrupted: check and Retry"), "the request to be recovered")
        assert buttons(approval(slack)) == ["approval_retry"]
