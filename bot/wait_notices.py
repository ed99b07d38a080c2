"""Telling the person who asked why their answer is slow: Docker Hub made the lookup wait.

While a command runs, every Docker Hub wait longer than a few seconds (a 429's Retry-After, a spent
rate-limit window, a retry after an error) is announced by hub/ as it begins; this posts it as an
interim ephemeral message through the command's response_url, before the answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.slack_io import respond
from handlers import blocks
from hub.throttling import announcing_waits

logger = logging.getLogger("hubkeeper.listeners")


class WaitNotices:
    def __init__(self, response_url: str) -> None:
        self._response_url = response_url
        self._sending: list[asyncio.Task[bool]] = []

    def announce(self, seconds: float, reason: str) -> None:
        # Called inside the waiting request: posting runs beside the wait rather than before it.
        notice = blocks.message(f":hourglass_flowing_sand: {blocks.escape(reason)}… the answer follows.")
        self._sending.append(asyncio.create_task(respond(self._response_url, notice)))

    async def settle(self) -> None:
        """Wait for notices still on their way, so none arrives after the answer (or outlives the command)."""
        sending, self._sending = self._sending, []
        for outcome in await asyncio.gather(*sending, return_exceptions=True):
            if isinstance(outcome, Exception):
                logger.warning("could not post a wait notice: %s", type(outcome).__name__)


@asynccontextmanager
async def wait_notices(response_url: str) -> AsyncIterator[None]:
    """Within this block, Docker Hub waits over a few seconds are told to the person at `response_url`."""
    notices = WaitNotices(response_url)
    try:
        with announcing_waits(notices.announce):
            yield
    finally:
        await notices.settle()
