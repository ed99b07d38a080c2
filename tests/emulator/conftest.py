from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from hub.emulator import DEMO, EmulatorServer, EmulatorState


# The demo org on a loopback port comes from tests/conftest.py; these names read better here.
@pytest.fixture
def state(emulator_state: EmulatorState) -> EmulatorState:
    return emulator_state


@pytest.fixture
def server(emulator: EmulatorServer) -> EmulatorServer:
    return emulator


@pytest.fixture
async def client(server: EmulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        yield client


async def exchange(client: httpx.AsyncClient, identifier: str, secret: str) -> dict[str, str]:
    response = await client.post("/v2/auth/token", json={"identifier": identifier, "secret": secret})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def oat(client: httpx.AsyncClient) -> dict[str, str]:
    return await exchange(client, DEMO.org, DEMO.oat)


@pytest.fixture
async def pat(client: httpx.AsyncClient) -> dict[str, str]:
    return await exchange(client, DEMO.pat_username, DEMO.pat)
