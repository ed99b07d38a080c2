"""Handler contexts against the emulator's demo orgs: real HTTP, nothing of ours mocked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from handlers.context import HandlerContext
from hub.client import HubClient, HubConnection
from hub.emulator import DEMO, EmulatorServer
from tests.conftest import FAST_RETRIES, MakeContext


@pytest.fixture
def ctx(make_context: MakeContext) -> HandlerContext:
    return make_context()


@pytest.fixture
async def globex_ctx(emulator: EmulatorServer, make_context: MakeContext) -> AsyncIterator[HandlerContext]:
    connection = HubConnection(org=DEMO.other_org, oat=SecretStr(DEMO.other_oat), base_url=emulator.base_url)
    async with HubClient(connection, retry_policy=FAST_RETRIES) as client:
        yield make_context(hub=client, instance="globex", instances=("acme", "globex"))
