"""The digest in the running bot: `/hub digest`, its buttons through Bolt, the scheduled job (once per
period however often it runs) and `hubkeeper digest --dry-run`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from bot.sandbox.run import Sandbox
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
    assert await sandbox.bot.digests.scheduled("acme") is True
    assert await sandbox.bot.digests.scheduled("acme") is False  # the second run finds the claim
    tops = [m for m in sandbox.slack.messages(HUB_OPS) if "thread_ts" not in m]
    assert len(tops) == 1


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
