"""The bot's own scheduler posts a change made in Docker Hub's web UI to the audit channel: the sandbox
(emulator, Slack stand-in, the real bot over HTTP) with the feed every 5 seconds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.sandbox.run import AUDIT_CHANNEL, Sandbox
from hub.emulator import DEMO, EmulatorState

T = TypeVar("T")
STEP = 0.2


async def eventually(check: Callable[[], Awaitable[T]], seconds: float) -> T:
    """The first truthy answer of `check` within `seconds` (else its last answer)."""
    for _ in range(int(seconds / STEP)):
        answer = await check()
        if answer:
            return answer
        await asyncio.sleep(STEP)
    return await check()


async def test_an_outside_change_reaches_the_audit_channel_once(emulator_state: EmulatorState) -> None:
    async with Sandbox(console_port=0, emulator_state=emulator_state, activity_seconds=5) as sandbox:
        assert sandbox.bot is not None and sandbox.bot.access_jobs is not None
        activity = sandbox.bot.access_jobs.activity

        # The first round (at start) only sets the cursor; wait for it before changing anything.
        async def cursor_set() -> bool:
            return await activity.activity_cursor(DEMO.org) is not None

        assert await eventually(cursor_set, 30)
        emulator_state.web_ui_change(DEMO.org, "carolsmith", "team.member.add", team="owners", username="umarkhan")

        async def outside_posts() -> list[str]:
            return [m["text"] for m in sandbox.slack.messages(AUDIT_CHANNEL) if "outside hubkeeper" in m["text"]]

        found = await eventually(outside_posts, 40)
        assert found, "the feed did not post the outside change"
        assert "carolsmith" in found[0] and "added umarkhan to the team owners" in found[0]
        assert ":rotating_light:" in found[0]
        await asyncio.sleep(6)  # another round reads the same event again and does not post it again
        assert await outside_posts() == found
