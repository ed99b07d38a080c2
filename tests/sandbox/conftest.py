"""Fixtures for the Slack sandbox: the Web API stand-in on a loopback port and a real slack_sdk client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import SlackStandIn
from bot.sandbox.console import build_console_app
from hub.emulator.threaded import start_site

from .tiny_bolt import build_tiny_bolt

BOT_TOKEN = "xoxb-test-token"
SIGNING_SECRET = "sandbox-signing-secret"
ALICE = "U0ALICE01"
IVAN = "U0IVANP01"
HUB_OPS = "C0HUBOPS01"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the console in a real headless Chromium")


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(bot_token=BOT_TOKEN) as server:
        yield server


@pytest.fixture
def slack(standin: SlackStandIn) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=standin.api_url)


@dataclass
class ConsoleStack:
    """The console in front of the tiny Bolt app, both on loopback ports, with the stand-in behind them."""

    url: str
    bot_url: str
    standin: SlackStandIn
    seen: list[dict[str, Any]]


@pytest.fixture
async def console_stack(standin: SlackStandIn) -> AsyncIterator[ConsoleStack]:
    seen: list[dict[str, Any]] = []
    bolt = build_tiny_bolt(standin.api_url, BOT_TOKEN, SIGNING_SECRET, seen)
    bot_runner, bot_port = await start_site(bolt.web_app(), "127.0.0.1", 0)
    bot_url = f"http://127.0.0.1:{bot_port}/slack/events"
    console_runner, console_port = await start_site(build_console_app(standin, bot_url, SIGNING_SECRET), "127.0.0.1", 0)
    try:
        yield ConsoleStack(f"http://127.0.0.1:{console_port}", bot_url, standin, seen)
    finally:
        await console_runner.cleanup()
        await bot_runner.cleanup()
