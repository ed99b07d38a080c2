"""Digest fixtures: handler contexts on the emulator's demo orgs, the SQL digest store (SQLite and
PostgreSQL), an in-memory store for content tests, and the bot's SlackMessenger on the Slack stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackMessenger
from bot.store import SqlRequestStore
from bot.store.digest_store import SqlDigestStore
from handlers.context import HandlerContext
from handlers.digest.model import RosterSnapshot
from hub.client import HubClient, HubConnection
from hub.emulator import DEMO, EmulatorServer
from tests.conftest import FAST_RETRIES, MakeContext
from tests.databases import database_url, store

__all__ = ["database_url", "store"]

TOKEN = "xoxb-digest"
CHANNEL = "C0HUBOPS01"


class MemoryDigestStore:
    """`DigestStore` in memory: for tests about content, where the database adds nothing."""

    def __init__(self) -> None:
        self.claims: dict[tuple[str, str, str], str] = {}
        self.posts: dict[tuple[str, str, str], tuple[str, str]] = {}
        self.snapshots: list[tuple[str, RosterSnapshot]] = []
        self.snoozes: list[tuple[str, str, datetime, str, datetime]] = []

    async def claim(
        self,
        instance: str,
        digest: str,
        period_key: str,
        claimed_by: str,
        now: datetime,
        *,
        lease: timedelta | None = None,
    ) -> bool:
        key = (instance, digest, period_key)
        if key in self.claims:
            return False
        self.claims[key] = claimed_by
        return True

    async def hold(self, instance: str, digest: str, period_key: str, claimed_by: str, now: datetime) -> bool:
        key = (instance, digest, period_key)
        return self.claims.get(key) == claimed_by and key not in self.posts

    async def posted(self, instance: str, digest: str, period_key: str) -> tuple[str, str] | None:
        return self.posts.get((instance, digest, period_key))

    async def release(self, instance: str, digest: str, period_key: str, claimed_by: str) -> bool:
        key = (instance, digest, period_key)
        if self.claims.get(key) == claimed_by and key not in self.posts:
            del self.claims[key]
            return True
        return False

    async def record_post(self, instance: str, digest: str, period_key: str, *, channel: str, ts: str) -> None:
        self.posts[(instance, digest, period_key)] = (channel, ts)

    async def latest_snapshot(self, instance: str) -> RosterSnapshot | None:
        mine = [snapshot for label, snapshot in self.snapshots if label == instance]
        return mine[-1] if mine else None

    async def save_snapshot(self, instance: str, data: Mapping[str, Mapping[str, Any]], now: datetime) -> None:
        copied = {name: {"role": entry["role"], "teams": list(entry["teams"])} for name, entry in data.items()}
        self.snapshots.append((instance, RosterSnapshot(taken_at=now, data=copied)))

    async def snooze(self, instance: str, username: str, until: datetime, decided_by: str, now: datetime) -> None:
        self.snoozes.append((instance, username, until, decided_by, now))

    async def active_snoozes(self, instance: str, now: datetime) -> dict[str, datetime]:
        active: dict[str, datetime] = {}
        for label, username, until, _, _ in self.snoozes:
            if label == instance and until > now:
                active[username] = max(until, active.get(username, until))
        return active


@pytest.fixture
def memory_store() -> MemoryDigestStore:
    return MemoryDigestStore()


@pytest.fixture
def digest_store(store: SqlRequestStore) -> SqlDigestStore:
    # The same engine as the request store: one database, one connection pool.
    return SqlDigestStore(store.engine)


@pytest.fixture
def ctx(make_context: MakeContext) -> HandlerContext:
    return make_context(instances=("acme", "globex"))


@pytest.fixture
async def globex_ctx(emulator: EmulatorServer, make_context: MakeContext) -> AsyncIterator[HandlerContext]:
    connection = HubConnection(org=DEMO.other_org, oat=SecretStr(DEMO.other_oat), base_url=emulator.base_url)
    async with HubClient(connection, retry_policy=FAST_RETRIES) as client:
        yield make_context(hub=client, instance="globex", instances=("acme", "globex"))


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(bot_token=TOKEN) as standin:
        yield standin


@pytest.fixture
def poster(slack: SlackStandIn) -> SlackMessenger:
    """The bot's own messenger (it posts into threads too) on the Slack stand-in."""
    return SlackMessenger(AsyncWebClient(token=TOKEN, base_url=slack.api_url))


def top_level(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [message for message in messages if "thread_ts" not in message or message["thread_ts"] == message["ts"]]
