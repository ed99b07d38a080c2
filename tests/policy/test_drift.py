"""The scheduled drift check: posts the plan with Apply once per distinct drift, on SQLite and PostgreSQL.

Real parts: the emulator's demo org drifts, the store's claims remember what was posted, and the
plan goes to the Slack stand-in.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackMessenger
from bot.store import SqlRequestStore
from bot.store.drift_store import SqlDriftClaims
from handlers.context import HandlerContext
from handlers.policy.diff import Change
from handlers.policy.drift import CLAIM, DriftOutcome, PolicyDrift, fingerprint
from handlers.policy.slack import APPLY_ACTION
from hub.emulator import DEMO, EmulatorState
from tests.conftest import MakeContext
from tests.databases import database_url, store

__all__ = ["database_url", "store"]

TOKEN = "xoxb-drift"
CHANNEL = "C0HUBOPS01"
POLICY = "repositories:\n  acme/*:\n    security: read\n  acme/api:\n    backend: write\n    security: read\n"
# Against the demo: security gains read on docs, sdk, infra-tools; platform loses admin on api and infra-tools.


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(bot_token=TOKEN) as standin:
        yield standin


@pytest.fixture
def policy_path(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yml"
    path.write_text(POLICY, encoding="utf-8")
    return path


@pytest.fixture
def drift(make_context: MakeContext, store: SqlRequestStore, slack: SlackStandIn, policy_path: Path) -> PolicyDrift:
    messenger = SlackMessenger(AsyncWebClient(token=TOKEN, base_url=slack.api_url))

    def contexts(instance: str, actor: str, request_id: str | None) -> HandlerContext | None:
        return make_context(actor, request_id=request_id) if instance == "acme" else None

    return PolicyDrift(
        path=str(policy_path),
        claims=SqlDriftClaims(store.engine),
        messenger=messenger,
        contexts=contexts,
        channels={"acme": CHANNEL},
        claimed_by="test",
    )


def apply_buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (element["action_id"], element["value"])
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


async def test_same_drift_posts_once_a_new_one_again(
    drift: PolicyDrift, slack: SlackStandIn, emulator_state: EmulatorState, store: SqlRequestStore
) -> None:
    assert await drift.check() is DriftOutcome.POSTED
    assert await drift.check() is DriftOutcome.ALREADY_POSTED
    posted = slack.messages(CHANNEL)
    assert len(posted) == 1
    # The button names the stored plan, which holds exactly the changes the message shows.
    [(action, plan_id)] = apply_buttons(posted[0])
    plan = await store.get_policy_plan(plan_id)
    assert action == APPLY_ACTION and plan is not None and plan.instance == "acme"
    shown = json.dumps(posted[0]["blocks"], ensure_ascii=False)
    assert len(plan.changes) == 5 and "5 change(s)" in shown
    assert all(Change.from_dict(change).describe() in shown for change in plan.changes)
    text = json.dumps(posted[0]["blocks"], ensure_ascii=False)
    assert "Policy drift on acme" in text
    assert "grant read on acme/docs to team security · rule `acme/*`" in text

    # Someone grants something by hand: a different drift, posted again.
    emulator_state.add_grant(DEMO.org, "web", "backend", "admin")
    assert await drift.check() is DriftOutcome.POSTED
    assert await drift.check() is DriftOutcome.ALREADY_POSTED
    assert len(slack.messages(CHANNEL)) == 2
    assert "revoke admin on acme/web from team backend" in json.dumps(slack.messages(CHANNEL)[-1]["blocks"])


async def test_back_in_sync_then_the_same_drift_is_news_again(
    drift: PolicyDrift, slack: SlackStandIn, emulator_state: EmulatorState, policy_path: Path
) -> None:
    assert await drift.check() is DriftOutcome.POSTED
    await asyncio.to_thread(policy_path.write_text, "repositories:\n  acme/api:\n    backend: write\n", "utf-8")
    assert await drift.check() is DriftOutcome.IN_SYNC
    await asyncio.to_thread(policy_path.write_text, POLICY, "utf-8")
    assert await drift.check() is DriftOutcome.POSTED
    assert len(slack.messages(CHANNEL)) == 2


async def test_slack_refusing_the_post_gives_the_claim_back(
    drift: PolicyDrift, slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    drift.channels = {"acme": "C0NOSUCHCH"}  # Slack answers channel_not_found
    with caplog.at_level(logging.ERROR, logger="hubkeeper.policy_drift"):
        assert await drift.check() is DriftOutcome.FAILED
    drift.channels = {"acme": CHANNEL}
    assert await drift.check() is DriftOutcome.POSTED


async def test_a_broken_policy_or_unknown_instance_posts_nothing(
    drift: PolicyDrift, slack: SlackStandIn, policy_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="hubkeeper.policy_drift"):
        await asyncio.to_thread(policy_path.write_text, "teams:\n  x y:\n", "utf-8")
        assert await drift.check() is DriftOutcome.FAILED
        await asyncio.to_thread(policy_path.write_text, "instance: globex\n" + POLICY, "utf-8")
        assert await drift.check() is DriftOutcome.FAILED
    assert "teams.x" in caplog.text and "names no instance" in caplog.text
    assert slack.messages(CHANNEL) == []


def test_fingerprint_ignores_order_and_tells_drifts_apart() -> None:
    one = Change("grant", "qa-team", repository="acme/api", permission="read", rule="acme/*")
    two = Change("revoke", "ops-team", repository="acme/web", permission="write", rule="acme/web")
    assert fingerprint("acme", [one, two]) == fingerprint("acme", [two, one])
    assert fingerprint("acme", [one]) != fingerprint("acme", [one, two])
    assert fingerprint("acme", [one]) != fingerprint("globex", [one])
    assert len(fingerprint("acme", [one])) <= 100  # the claim's key column
    assert CLAIM == "policy-drift"
