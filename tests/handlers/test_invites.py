"""`/hub invites` against the emulator's demo org."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from handlers.context import HandlerContext
from handlers.invites import invites
from hub.emulator import EmulatorState
from tests.handlers.slack_limits import all_text, assert_valid_message


def bullet_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("• ")]


async def test_invites_oldest_first_with_age_inviter_and_team(ctx: HandlerContext) -> None:
    reply = await invites(ctx)
    assert_valid_message(reply)
    lines = bullet_lines(all_text(reply))
    assert [line.split("`")[1] for line in lines] == [
        "stale.contractor@outsource.example",
        "olga.petrova@acme.example",
        "ravisharma",
        "newhire@acme.example",
    ]
    assert re.match(r"• `stale\.contractor@outsource\.example` — 3 months \(\d{4}-\d\d-\d\d\) :hourglass:", lines[0])
    assert "· by *alicechen* · no team · as member" in lines[0]
    assert lines[1].startswith("• `olga.petrova@acme.example` — 1 month") and "team *data*" in lines[1]
    assert "— 10 days" in lines[2] and "by *bobokafor*" in lines[2]
    assert "— 1 day (" in lines[3] and "team *backend*" in lines[3] and ":hourglass:" not in lines[3]
    assert "4 pending invites, oldest first" in reply.text and "2 waiting more than 30 days" in reply.text


async def test_no_invites(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    emulator_state.org("acme").invites.clear()
    reply = await invites(ctx)
    assert_valid_message(reply)
    assert "No pending invites in *acme*" in reply.text


async def test_many_invites_fit_and_count_the_rest(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    now = datetime.now(UTC)
    for index in range(400):
        emulator_state.add_invite(
            "acme",
            f"person{index}.<!channel>@example.com",
            inviter="alicechen",
            team="backend",
            created_at=now - timedelta(minutes=index),
        )
    reply = await invites(ctx)
    assert_valid_message(reply)
    text = all_text(reply)
    match = re.search(r"… ([\d,]+) newer invites not shown", text)
    assert match is not None
    assert len(bullet_lines(text)) + int(match.group(1).replace(",", "")) == 404
    assert "404 pending invites" in text
