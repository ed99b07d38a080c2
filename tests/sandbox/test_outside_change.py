"""The console's "Docker Hub web UI" button: a change made outside hubkeeper, in the emulator, which the
bot's activity feed then posts to the audit channel (#general). Over HTTP, as the page does it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.sandbox.console import OUTSIDE_CHANGES
from bot.sandbox.run import AUDIT_CHANNEL, Sandbox
from hub.emulator import DEMO, EmulatorState


@pytest.fixture
async def sandbox(emulator_state: EmulatorState) -> AsyncIterator[Sandbox]:
    async with Sandbox(console_port=0, emulator_state=emulator_state, activity_seconds=5) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


def outside_posts(sandbox: Sandbox) -> list[str]:
    return [m["text"] for m in sandbox.slack.messages(AUDIT_CHANNEL) if "outside hubkeeper" in m["text"]]


async def test_the_button_makes_an_owner_and_the_feed_posts_it(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    state = (await http.get(sandbox.console_url + "/api/state")).json()
    assert {"id": "ivan-owner", "label": OUTSIDE_CHANGES["ivan-owner"].label} in state["outside_changes"]
    assert sandbox.bot is not None and sandbox.bot.access_jobs is not None
    activity = sandbox.bot.access_jobs.activity

    # The feed's first round only starts its cursor; an event before it would not be posted.
    async def cursor_set() -> bool:
        return await activity.activity_cursor(DEMO.org) is not None

    for _ in range(150):
        if await cursor_set():
            break
        await asyncio.sleep(0.2)
    assert await cursor_set()

    made = (await http.post(sandbox.console_url + "/api/outside_change", json={"change": "ivan-owner"})).json()
    assert made == {"ok": True, "done": OUTSIDE_CHANGES["ivan-owner"].label}
    assert emulator_state.org(DEMO.org).members["ivanpetrov"].role == "owner"
    (event,) = [e for e in emulator_state.audit_events(DEMO.org) if e.get("actor") == "carolsmith"][-1:]
    assert "member.role.change" in str(event["action"])

    posted = await sandbox.slack.wait_for_async(lambda: outside_posts(sandbox) or None, timeout=40)
    assert "carolsmith" in posted[0] and "ivanpetrov" in posted[0] and ":rotating_light:" in posted[0]


async def test_an_unknown_change_is_refused_and_changes_nothing(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    before = emulator_state.audit_events(DEMO.org)
    for body in ({"change": "make-me-owner"}, {}, {"change": ["ivan-owner"]}):
        refused = await http.post(sandbox.console_url + "/api/outside_change", json=body)
        assert refused.status_code == 400 and refused.json() == {"ok": False, "error": "unknown outside change"}
    assert emulator_state.audit_events(DEMO.org) == before
    assert emulator_state.org(DEMO.org).members["ivanpetrov"].role == "member"


async def test_a_change_the_emulator_refuses_is_reported(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    emulator_state.web_ui_change(DEMO.org, "carolsmith", "member.remove", username="umarkhan")
    again = (await http.post(sandbox.console_url + "/api/outside_change", json={"change": "umar-removed"})).json()
    assert again["ok"] is False and "umarkhan" in again["error"]
