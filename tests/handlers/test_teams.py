"""`/hub teams` and `/hub team <name>` against the emulator's demo org."""

from __future__ import annotations

import asyncio
import re

from handlers.context import HandlerContext
from handlers.teams import team, teams
from hub.client import HubClient
from hub.emulator import EmulatorState
from tests.handlers.slack_limits import all_text, assert_valid_message

HOSTILE = "<!channel> click <http://evil|here> & co"


def bullet_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("• ")]


def not_shown(text: str) -> int:
    match = re.search(r"… ([\d,]+) more \w+ not shown", text)
    return int(match.group(1).replace(",", "")) if match else 0


async def test_teams_lists_name_description_and_count(ctx: HandlerContext) -> None:
    reply = await teams(ctx)
    assert_valid_message(reply)
    lines = bullet_lines(all_text(reply))
    assert [line.split("*")[1] for line in lines] == ["backend", "data", "frontend", "owners", "platform", "security"]
    assert "• *backend* (11 members) — API and service developers" in lines
    assert "• *owners* (3 members) — Organization owners" in lines
    assert "6 teams" in reply.text


async def test_team_shows_details_and_members(ctx: HandlerContext) -> None:
    reply = await team(ctx, "security")
    assert_valid_message(reply)
    text = all_text(reply)
    assert "Team security in acme" in text
    assert "Security reviews and image scanning" in text
    assert bullet_lines(text) == [
        "• *carolsmith* — Carol Smith",
        "• *felixwagner* — Felix Wagner",
        "• *hannahmuller* — Hannah Müller",
        "• *quentinroy* — Quentin Roy",
        "• *zaraahmed* — Zara Ahmed",
    ]
    assert "5 members" in text


async def test_empty_team(ctx: HandlerContext, hub: HubClient) -> None:
    await hub.create_group("mobile")
    reply = await team(ctx, "mobile")
    assert_valid_message(reply)
    assert "_no description_" in reply.text and "0 members" in reply.text and "Nobody is in this team" in reply.text


async def test_unknown_team_suggests_the_near_miss(ctx: HandlerContext) -> None:
    reply = await team(ctx, "backnd")
    assert_valid_message(reply)
    assert "There is no team `backnd` in *acme*. Did you mean `backend`?" in reply.text
    far = await team(ctx, "qqqqqq")
    assert "Did you mean" not in far.text and "/hub teams" in far.text


async def test_hostile_team_description_is_escaped(ctx: HandlerContext, hub: HubClient) -> None:
    await hub.create_group("evil", HOSTILE)
    listing = await teams(ctx)
    assert_valid_message(listing)
    escaped = "&lt;!channel&gt; click &lt;http://evil|here&gt; &amp; co"
    assert f"• *evil* (0 members) — {escaped}" in all_text(listing)
    details = await team(ctx, "evil")
    assert_valid_message(details)
    assert escaped in all_text(details) and escaped in details.text


async def test_team_of_300_says_how_many_are_not_shown(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    usernames = [f"bulkmember{index:03d}" for index in range(300)]
    for username in usernames:
        emulator_state.add_member("acme", username, full_name="Bulk " + username.title())
    emulator_state.add_group("acme", "bigteam", "d" * 5000, members=usernames)
    reply = await team(ctx, "bigteam")
    assert_valid_message(reply)
    text = all_text(reply)
    shown = bullet_lines(text)
    assert shown and shown[0] == "• *bulkmember000* — Bulk Bulkmember000"
    assert len(shown) + not_shown(text) == 300, (len(shown), not_shown(text))
    assert "300 members" in text
    assert "description cut: 5,000 characters in all" in text


async def test_many_teams_with_long_descriptions(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    for index in range(120):
        emulator_state.add_group("acme", f"team{index:03d}", f"<@U{index}> " + "long " * 1000)
    reply = await teams(ctx)
    assert_valid_message(reply)
    text = all_text(reply)
    assert len(bullet_lines(text)) + not_shown(text) == 126
    assert "126 teams" in text


async def test_team_leaves_no_read_running_when_the_team_is_not_found(
    ctx: HandlerContext, emulator_state: EmulatorState
) -> None:
    # The members read outlived the "no such team" reply: still in flight on a client the caller may
    # be closing (its socket then reported as unclosed in some later test).
    emulator_state.delay_next(1, 5.0, method="GET", path="/v2/orgs/acme/groups/backend/members*")
    emulator_state.fail_next(1, 404, method="GET", path="/v2/orgs/acme/groups/backend")
    reply = await team(ctx, "backend")
    assert "backend" in all_text(reply)
    running = [task for task in asyncio.all_tasks() if task is not asyncio.current_task() and not task.done()]
    assert running == []
