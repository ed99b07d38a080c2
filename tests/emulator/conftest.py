from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from hub.emulator import DEMO, EmulatorConfig, EmulatorServer, EmulatorState, seed_demo


@pytest.fixture
def config() -> EmulatorConfig:
    return EmulatorConfig()


@pytest.fixture
def state(config: EmulatorConfig) -> EmulatorState:
    state = EmulatorState(config)
    seed_demo(state)
    return state


@pytest.fixture
def server(state: EmulatorState) -> Iterator[EmulatorServer]:
    with EmulatorServer(state, host="127.0.0.1", port=0) as server:
        yield server


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
