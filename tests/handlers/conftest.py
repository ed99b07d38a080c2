"""Handler contexts against the emulator's demo orgs: real HTTP, nothing of ours mocked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from handlers.context import HandlerContext
from hub.client import HubClient, HubConnection
from hub.emulator import DEMO, EmulatorServer
from tests.conftest import FAST_RETRIES


@pytest.fixture
def ctx(hub: HubClient) -> HandlerContext:
    return HandlerContext(hub=hub, instance="acme", actor="U0ALICE01", instances=("acme",))


@pytest.fixture
async def globex_ctx(emulator: EmulatorServer) -> AsyncIterator[HandlerContext]:
    connection = HubConnection(org=DEMO.other_org, oat=SecretStr(DEMO.other_oat), base_url=emulator.base_url)
    async with HubClient(connection, retry_policy=FAST_RETRIES) as client:
        yield HandlerContext(hub=client, instance="globex", actor="U0ALICE01", instances=("acme", "globex"))
