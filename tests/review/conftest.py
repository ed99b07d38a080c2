"""Review fixtures: the demo org's globex client and the Slack stand-in, both real servers on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import SecretStr

from bot.sandbox import SlackStandIn
from hub.client import HubClient, HubConnection
from hub.emulator import DEMO, EmulatorServer
from tests.conftest import FAST_RETRIES

BOT_TOKEN = "xoxb-review-test"


@pytest.fixture
async def globex(emulator: EmulatorServer) -> AsyncIterator[HubClient]:
    connection = HubConnection(org=DEMO.other_org, oat=SecretStr(DEMO.other_oat), base_url=emulator.base_url)
    async with HubClient(connection, retry_policy=FAST_RETRIES) as client:
        yield client


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(bot_token=BOT_TOKEN) as server:
        yield server
