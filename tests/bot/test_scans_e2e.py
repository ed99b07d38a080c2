"""Full-org scans through Bolt (signed requests from the sandbox console): one at a time per instance,
a cooldown per person, and `/hub digest` seen only by the asker outside the digest channel."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import httpx

from bot.sandbox.run import AUDIT_CHANNEL, Sandbox
from bot.store.scan_store import SqlScanClaims
from hub.emulator import EmulatorState
from tests.bot.test_approvals_e2e import HUB_OPS
from tests.bot.test_slack_e2e import Person, text_of

ALICE, BOB, IVAN = "U0ALICE01", "U0BOBOK01", "U0IVANP01"


async def test_a_second_scan_is_told_one_is_running_and_the_asker_then_cools_down(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    assert sandbox.bot is not None
    scans = sandbox.bot.router.scans
    # Alice's review is slow: Docker Hub takes its time over the first members page.
    emulator_state.delay_next(1, 5, method="GET", path="/v2/orgs/acme/members")
    review = asyncio.create_task(Person(sandbox, http, ALICE).command("review"))
    await sandbox.slack.wait_for_async(lambda: scans.running("acme"), timeout=20)
    emulator_state.clear_requests()
    # The turn is held in the store, where every replica sees it.
    claims = SqlScanClaims(sandbox.bot.store.engine)
    assert await claims.holding("acme", now=datetime.now(UTC)) == "`/hub review`"
    # Meanwhile Bob asks for the digest and Ivan looks someone up by email: both are told at once.
    busy = text_of(await Person(sandbox, http, BOB).command("digest"))
    assert "A full-org scan is already running for `acme` (`/hub review`)" in busy and "try again" in busy
    lookup = text_of(await Person(sandbox, http, IVAN).command("whois erinpatel@acme.example"))
    assert "already running for `acme`" in lookup
    assert not [r for r in emulator_state.requests if r.path.endswith("/members")]  # nothing was read for them
    assert "sent to you by DM" in text_of(await review)
    assert scans.running("acme") is None
    assert await claims.holding("acme", now=datetime.now(UTC)) is None
    assert await claims.last_finished("acme", ALICE) is not None
    # Alice's next scan waits out her cooldown, and says for how long; Bob, refused earlier, may scan now.
    again = text_of(await Person(sandbox, http, ALICE).command("digest"))
    assert "please wait" in again and "second" in again
    assert "Here is the digest" in text_of(await Person(sandbox, http, BOB).command("digest"))
    # whois by email has no cooldown: Ivan looks up two people in a row.
    assert "Erin Patel" in text_of(await Person(sandbox, http, IVAN).command("whois erinpatel@acme.example"))
    assert "please wait" not in text_of(await Person(sandbox, http, IVAN).command("whois ivanpetrov@acme.example"))


async def test_hub_digest_outside_the_digest_channel_answers_only_the_asker(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    before = len(sandbox.slack.messages(AUDIT_CHANNEL))
    alice = Person(sandbox, http, ALICE)
    replies = len(alice.replies())
    result = await http.post(
        sandbox.console_url + "/api/command", json={"user": ALICE, "channel": AUDIT_CHANNEL, "text": "/hub digest"}
    )
    assert result.json()["ok"], result.text
    answered = await sandbox.slack.wait_for_async(lambda: alice.replies()[replies:] or None, timeout=30)
    reply = answered[-1]
    text = text_of(reply)
    assert "Only you can see this digest" in text and f"<#{HUB_OPS}>" in text
    assert "Digest: acme" in text and "Stale members" in text
    # Nothing was posted in either channel, and the buttons stay with the channel's digest.
    assert len(sandbox.slack.messages(AUDIT_CHANNEL)) == before
    assert sandbox.slack.messages(HUB_OPS) == []
    assert "digest_keep" not in json.dumps(reply)
