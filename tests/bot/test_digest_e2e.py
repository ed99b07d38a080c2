"""The digest in the running bot: `/hub digest`, its buttons through Bolt, the scheduled job (once per
period however often it runs) and `hubkeeper digest --dry-run`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bot.fire_times import last_scheduled_run
from bot.sandbox.run import Sandbox
from bot.sandbox.slack_api import SlackStandIn
from bot.store import SqlRequestStore
from bot.store.digest_store import SqlDigestStore
from handlers.digest.model import fire_period_key
from handlers.digest.post import DEFAULT_SCHEDULE, Outcome
from hub.emulator import DEMO, EmulatorServer, EmulatorState
from tests.bot.test_approvals_e2e import HUB_OPS, click, hub_writes
from tests.bot.test_slack_e2e import Person, text_of

ALICE, IVAN = "U0ALICE01", "U0IVANP01"


def digest_message(sandbox: Sandbox) -> dict[str, Any]:
    return next(m for m in sandbox.slack.messages(HUB_OPS) if "digest_keep" in json.dumps(m))


async def test_hub_digest_posts_with_buttons(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    reply = text_of(await Person(sandbox, http, ALICE).command("digest"))
    assert "Here is the digest" in reply
    posted = await sandbox.slack.wait_for_async(lambda: sandbox.slack.messages(HUB_OPS) or None, timeout=20)
    everything = json.dumps(posted)
    assert "acme" in everything and "stale.contractor@outsource.example" in everything
    assert "digest_invite_resend" in everything and "digest_keep" in everything


async def test_keep_needs_an_approver_and_remove_becomes_a_request(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    await Person(sandbox, http, ALICE).command("digest")
    message = await sandbox.slack.wait_for_async(lambda: digest_message(sandbox), timeout=20)
    await click(sandbox, http, IVAN, "digest_keep", message)
    refused = await sandbox.slack.wait_for_async(
        lambda: [m for m in sandbox.slack.ephemerals(IVAN) if "Only approvers" in json.dumps(m)] or None
    )
    assert refused
    await click(sandbox, http, ALICE, "digest_keep", message)
    kept = await sandbox.slack.wait_for_async(
        lambda: [m for m in sandbox.slack.ephemerals(ALICE) if "until" in json.dumps(m).lower()] or None
    )
    assert kept
    before = len(sandbox.slack.messages(HUB_OPS))
    await click(sandbox, http, ALICE, "digest_remove", message)
    request = await sandbox.slack.wait_for_async(
        lambda: [m for m in sandbox.slack.messages(HUB_OPS)[before:] if "approval_approve" in json.dumps(m)] or None
    )
    assert request and "Remove" in text_of(request[-1])
    assert hub_writes(emulator_state) == []  # a removal waits for its approval


async def test_the_scheduled_digest_posts_once_per_period(sandbox: Sandbox) -> None:
    assert sandbox.bot is not None and sandbox.bot.digests is not None
    assert await sandbox.bot.digests.scheduled("acme") is Outcome.POSTED
    assert await sandbox.bot.digests.scheduled("acme") is Outcome.ALREADY_POSTED  # the second run finds the claim
    tops = [m for m in sandbox.slack.messages(HUB_OPS) if "thread_ts" not in m]
    assert len(tops) == 1


async def test_a_web_ui_change_shows_in_the_digest_and_hub_digest_keeps_the_baseline(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    assert sandbox.bot is not None and sandbox.bot.digests is not None
    fire = datetime(2030, 5, 20, 9, 0, tzinfo=UTC)
    assert await sandbox.bot.digests.scheduled("acme", fire) is Outcome.POSTED
    # Carol makes Ivan an owner in Docker Hub's web UI, Bob takes Nina out of a team there.
    emulator_state.web_ui_change(DEMO.org, "carolsmith", "member.role.change", username="ivanpetrov", role="owner")
    emulator_state.web_ui_change(DEMO.org, "bobokafor", "team.member.remove", team="data", username="ninagarcia")
    # `/hub digest` in the digest channel, through Bolt: the changes are there, highlighted.
    assert "Here is the digest" in text_of(await Person(sandbox, http, ALICE).command("digest"))
    tops = [m for m in sandbox.slack.messages(HUB_OPS) if "thread_ts" not in m]
    assert len(tops) == 2
    on_demand = text_of(tops[-1])
    assert "Changed outside hubkeeper since the last digest" in on_demand
    assert ":rotating_light: 2 made an owner or removed someone" in on_demand
    assert "carolsmith" in on_demand and "ivanpetrov from member to owner" in on_demand and "bobokafor" in on_demand
    # The next scheduled digest still compares with the last scheduled one: `/hub digest` moved nothing.
    assert await sandbox.bot.digests.scheduled("acme", fire + timedelta(weeks=1)) is Outcome.POSTED
    weekly = text_of([m for m in sandbox.slack.messages(HUB_OPS) if "thread_ts" not in m][-1])
    assert "`ivanpetrov` member → owner" in weekly and "carolsmith" in weekly


def test_cli_dry_run_prints_the_digest(emulator: EmulatorServer, tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DOCKERHUB_", "HUBKEEPER_", "SLACK_"))},
        "DOCKERHUB_ORG": DEMO.org,
        "DOCKERHUB_OAT": DEMO.oat,
        "DOCKERHUB_API_URL": emulator.base_url,
        "HUBKEEPER_DATABASE_URL": f"sqlite:///{tmp_path / 'hk.db'}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "digest", "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "acme" in result.stdout and "stale.contractor@outsource.example" in result.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "bot.cli", "digest"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert missing.returncode == 2 and "SLACK_BOT_TOKEN" in missing.stderr


async def test_cli_digest_takes_over_a_dead_claim_posts_once_and_moves_the_baseline(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'hk.db'}"
    fired = last_scheduled_run(DEFAULT_SCHEDULE, "UTC", datetime.now(UTC))
    assert fired is not None
    period = fire_period_key(fired, "UTC")
    store = await SqlRequestStore.open(database)
    try:
        # A replica claimed this period's digest ten minutes ago and died before posting.
        digests = SqlDigestStore(store.engine)
        assert await digests.claim("acme", "weekly", period, "dead-replica", datetime.now(UTC) - timedelta(minutes=10))
    finally:
        await store.close()
    with SlackStandIn(bot_token="xoxb-cli") as slack:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DOCKERHUB_", "HUBKEEPER_", "SLACK_"))},
            "DOCKERHUB_ORG": DEMO.org,
            "DOCKERHUB_OAT": DEMO.oat,
            "DOCKERHUB_API_URL": emulator.base_url,
            "HUBKEEPER_DATABASE_URL": database,
            "HUBKEEPER_DIGEST_CHANNEL": HUB_OPS,
            "SLACK_BOT_TOKEN": "xoxb-cli",
            "SLACK_API_URL": slack.api_url,
        }

        def cli() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "bot.cli", "digest"],
                env=env,
                capture_output=True,
                text=True,
                timeout=90,
                check=False,
            )

        first = cli()
        assert first.returncode == 0 and "acme: posted" in first.stdout, first.stderr
        second = cli()
        assert second.returncode == 0 and "acme: already posted for this period" in second.stdout, second.stderr
        assert len([m for m in slack.messages(HUB_OPS) if "thread_ts" not in m]) == 1
    store = await SqlRequestStore.open(database)
    try:
        digests = SqlDigestStore(store.engine)
        assert await digests.posted("acme", "weekly", period) is not None
        assert await digests.latest_snapshot("acme") is not None  # the CLI moves the baseline
    finally:
        await store.close()
