"""A whole Router on real parts (the SQL store, the emulator's demo org, the bot's messenger and
directory on the Slack stand-in), assembled as bot/app.py assembles it, with a clock the test holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackDirectory, SlackMessenger
from bot.store import SqlRequestStore
from bot.store.access_store import SqlAccessIndexStore
from bot.store.digest_store import SqlDigestStore
from handlers.context import HandlerContext
from handlers.digest.service import Digests, DigestSettings
from handlers.requests.approvals import ApprovalPolicy, Approvals
from handlers.router import Router
from hub.client import HubClient
from hub.emulator import EmulatorState

ALICE, BOB, IVAN, KENJI = "U0ALICE01", "U0BOBOK01", "U0IVANP01", "U0KENJI01"
"""Alice and Bob are the approvers (S0APPROVERS); Ivan and Kenji are plain members."""
HUB_OPS = "C0HUBOPS01"


class Clock:
    """Holds still, so a dry run and the request filed after it render the same times."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def open_router(store: SqlRequestStore, hub: HubClient, slack: SlackStandIn, clock: Clock) -> Router:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    messenger, directory = SlackMessenger(client), SlackDirectory(client)

    def contexts(instance: str, actor: str, request_id: str | None) -> HandlerContext | None:
        if instance != "acme":
            return None
        return HandlerContext(
            hub=hub,
            instance=instance,
            actor=actor,
            instances=("acme",),
            messenger=messenger,
            directory=directory,
            store=store,
            access_index=SqlAccessIndexStore(store.engine),
            request_id=request_id,
        )

    policy = ApprovalPolicy(channel=HUB_OPS, approvers=frozenset({"S0APPROVERS"}), request_ttl=timedelta(hours=72))
    approvals = Approvals(
        store=store, messenger=messenger, directory=directory, policies={"acme": policy}, contexts=contexts, clock=clock
    )
    digests = Digests(
        store=SqlDigestStore(store.engine),
        poster=messenger,
        settings=DigestSettings(channels={}),
        contexts=contexts,
        approvals=approvals,
    )
    return Router(
        hubs={"acme": hub},
        viewers=frozenset(),
        directory=directory,
        contexts=contexts,
        approvals=approvals,
        digests=digests,
        policy_file=None,
    )


def hub_writes(state: EmulatorState) -> list[str]:
    """Docker Hub calls that could change something; an invite plan's dry run (a POST) changes nothing."""
    calls = [f"{r.method} {r.path}" for r in state.requests if r.method != "GET" and r.path != "/v2/auth/token"]
    return [call for call in calls if call != "POST /v2/invites/bulk"]


def action_ids(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]
