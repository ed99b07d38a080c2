"""The activity feed on the real store (SQLite and PostgreSQL), the emulator and the Slack stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackMessenger
from bot.store import SqlRequestStore
from bot.store.activity_store import SqlActivityStore
from tests.databases import OpenReplicas, database_url, open_replicas, store

__all__ = ["CHANNEL", "OpenReplicas", "database_url", "open_replicas", "store"]

TOKEN = "xoxb-activity"
CHANNEL = "C0HUBOPS01"


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(bot_token=TOKEN) as server:
        yield server


@pytest.fixture
def messenger(standin: SlackStandIn) -> SlackMessenger:
    return SlackMessenger(AsyncWebClient(token=TOKEN, base_url=standin.api_url))


@pytest.fixture
def activity_store(store: SqlRequestStore) -> SqlActivityStore:
    return SqlActivityStore(store.engine)
