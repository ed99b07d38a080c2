"""The sandbox assembly (emulator, Slack stand-in, the real bot over HTTP, the console) for bot tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.sandbox.run import Sandbox
from hub.emulator import EmulatorState


@pytest.fixture
async def sandbox(emulator_state: EmulatorState) -> AsyncIterator[Sandbox]:
    async with Sandbox(console_port=0, emulator_state=emulator_state) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client
