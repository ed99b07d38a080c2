"""Property-style: every builder, fed large and hostile inputs, still gives a message Slack accepts.

Inputs come from a seeded generator (no new test dependency): sizes from empty to thousands, text
full of mrkdwn control characters, descriptions of 5,000 characters.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from handlers import blocks as bk
from handlers import commands
from handlers.context import Reply
from handlers.grammar import UsageError
from handlers.health import render_health
from handlers.health_checks import CheckResult
from handlers.help import help_reply, usage_reply
from handlers.invites import render_invites
from handlers.members import PAGE_SIZE, PageState, parse_page_value, render_members_page, render_whois
from handlers.teams import render_team, render_teams
from hub.errors import HubUnavailable, NotFound, RateLimited
from hub.models import GroupMember, Invite, OrgGroup, OrgMember
from tests.handlers.slack_limits import assert_valid_message, buttons

NOW = datetime(2026, 3, 1, tzinfo=UTC)
NASTY = "<>&!|*_~`@#:\"' \n\té中🙂"
SIZES = (0, 1, 20, 300, 5000)


def text(rng: random.Random, longest: int) -> str:
    size = rng.choice((0, 1, 10, 100, longest))
    pool = NASTY + "abcdefghijklmnopqrstuvwxyz"
    base = "".join(rng.choice(pool) for _ in range(min(size, 50)))
    # Long strings repeat a short random stem: cheap to build, just as hostile.
    return (base * (size // max(len(base), 1) + 1))[:size] if base else ""


def maybe_time(rng: random.Random) -> datetime | None:
    return None if rng.random() < 0.2 else NOW - timedelta(seconds=rng.randrange(0, 10**9))


def org_member(rng: random.Random, index: int, insights: bool) -> OrgMember:
    data: dict[str, object] = {
        "username": f"user{index}" + ("x" * rng.choice((0, 250))),
        "full_name": text(rng, 5000),
        "email": text(rng, 300) + "@example.com",
        "role": rng.choice(("Owner", "Editor", "Member", "<!here>")),
        "groups": [text(rng, 100) or "t" for _ in range(rng.choice((0, 3, 500)))],
        "is_guest": rng.random() < 0.3,
        "date_joined": maybe_time(rng),
    }
    if insights:
        data.update(last_logged_in_at=maybe_time(rng), last_seen_at=maybe_time(rng), last_desktop_version=None)
    return OrgMember.model_validate(data)


def invite(rng: random.Random, index: int) -> Invite:
    return Invite(
        id=str(index),
        inviter_username=rng.choice((None, text(rng, 300))),
        invitee=(text(rng, 300) or "x") + f"{index}@example.com",
        team=rng.choice((None, "", text(rng, 300))),
        role=rng.choice((None, "member", text(rng, 200))),
        created_at=maybe_time(rng),
    )


def group(rng: random.Random, index: int) -> OrgGroup:
    return OrgGroup(
        id=index,
        name=f"team{index}" + "n" * rng.choice((0, 200)),
        description=text(rng, 5000),
        member_count=rng.choice((None, 0, 300, 10**6)),
    )


def group_member(rng: random.Random, index: int) -> GroupMember:
    return GroupMember(username=f"member{index}", full_name=text(rng, 5000), email=None)


def builders(rng: random.Random, size: int) -> list[tuple[str, Callable[[], Reply]]]:
    members = [org_member(rng, index, insights=rng.random() < 0.5) for index in range(min(size, PAGE_SIZE))]
    invites = [invite(rng, index) for index in range(size)]
    groups = [group(rng, index) for index in range(size)]
    people = [group_member(rng, index) for index in range(size)]
    query = text(rng, 5000) or "q"
    search = text(rng, 100) or None
    state = PageState("acme" + "i" * rng.choice((0, 200)), search, rng.choice((None, "owner")), rng.randrange(1, 9))
    count = rng.choice((None, size, size * 100))
    checks = [CheckResult(text(rng, 100) or "check", rng.random() < 0.5, text(rng, 5000)) for _ in range(size % 40)]
    spec = rng.choice((None, *commands.syntaxes()))
    return [
        ("whois member", lambda: render_whois(query, "acme", members[0] if members else None, invites[:7], NOW)),
        ("whois invitee", lambda: render_whois(query, "acme", None, invites, NOW)),
        ("whois unreadable invites", lambda: render_whois(query, "acme", None, HubUnavailable(query), NOW)),
        ("members page", lambda: render_members_page(state, members, count, rng.random() < 0.5)),
        ("teams", lambda: render_teams("acme", groups)),
        ("team", lambda: render_team("acme", groups[0] if groups else group(rng, 0), people)),
        ("invites", lambda: render_invites("acme", invites, NOW)),
        ("health", lambda: render_health("acme", checks)),
        ("help", lambda: help_reply(rng.choice((None, "members", query)), [text(rng, 300) for _ in range(size % 60)])),
        ("usage", lambda: usage_reply(UsageError(query, spec, rng.choice((None, "members"))))),
        ("error", lambda: bk.error_reply(rng.choice((NotFound(query), RateLimited(1e6), HubUnavailable(query))))),
    ]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("size", SIZES)
def test_every_builder_stays_within_slack_limits(seed: int, size: int) -> None:
    rng = random.Random(seed * 1000 + size)
    for name, build in builders(rng, size):
        reply = build()
        try:
            assert_valid_message(reply)
        except AssertionError as error:
            raise AssertionError(f"{name} (seed {seed}, size {size}): {error}") from error


@pytest.mark.parametrize("seed", range(20))
def test_page_buttons_round_trip_any_search(seed: int) -> None:
    rng = random.Random(seed)
    search = text(rng, 100) or None
    state = PageState("acme", search, rng.choice((None, "owner", "editor", "member")), rng.randrange(1, 500))
    members = [org_member(rng, index, insights=True) for index in range(PAGE_SIZE)]
    reply = render_members_page(state, members, 10**6, True)
    assert_valid_message(reply)
    for label, button in buttons(reply).items():
        assert len(button["value"]) <= bk.MAX_BUTTON_VALUE
        parsed = parse_page_value(button["value"])
        assert (parsed.instance, parsed.search, parsed.role) == (state.instance, state.search, state.role)
        assert parsed.page == state.page + (1 if label == "Next page" else -1)
