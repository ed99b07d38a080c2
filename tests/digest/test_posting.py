"""Posting: exactly once with several replicas on one database, the time zone's period, the change since
the last digest, Keeps, dry runs; against the emulator, the Slack stand-in and SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackMessenger
from bot.store import create_engine
from bot.store.digest_store import SqlDigestStore
from handlers.context import HandlerContext, Reply
from handlers.digest import (
    KEEP,
    ON_DEMAND,
    ThreadPoster,
    gather_digest,
    keep,
    on_demand_period,
    parse_member_value,
    period_key,
    post_digest,
)
from hub.client import HubClient
from hub.emulator import EmulatorState
from tests.digest.conftest import CHANNEL, MemoryDigestStore, top_level

MONDAY_0130_UTC = datetime(2030, 5, 20, 1, 30, tzinfo=UTC)  # a Monday


def test_period_key_is_the_date_in_the_digest_time_zone() -> None:
    assert period_key(MONDAY_0130_UTC, "UTC") == "2030-05-20"
    assert period_key(MONDAY_0130_UTC, "America/Los_Angeles") == "2030-05-19"  # still Sunday there
    assert period_key(MONDAY_0130_UTC, "Asia/Tokyo") == "2030-05-20"
    with pytest.raises(ValueError, match="unknown time zone"):
        period_key(MONDAY_0130_UTC, "Mars/Olympus_Mons")
    with pytest.raises(ValueError):
        period_key(datetime(2030, 5, 20, 1, 30), "UTC")


async def post(ctx: HandlerContext, store: Any, poster: ThreadPoster | None, **options: Any) -> bool:
    options.setdefault("claimed_by", "replica-1")
    options.setdefault("now", MONDAY_0130_UTC)
    return await post_digest(ctx, store, poster, CHANNEL, pace_seconds=0, **options)


async def test_replicas_racing_post_the_digest_once(
    ctx: HandlerContext,
    digest_store: SqlDigestStore,
    database_url: str,
    poster: SlackMessenger,
    slack: SlackStandIn,
    emulator_state: EmulatorState,
) -> None:
    engines = [create_engine(database_url) for _ in range(3)]
    try:
        replicas = [digest_store, *(SqlDigestStore(engine) for engine in engines)]
        results = await asyncio.gather(
            *(post(ctx, replica, poster, claimed_by=f"replica-{i}") for i, replica in enumerate(replicas))
        )
        assert sorted(results) == [False, False, False, True]
        messages = slack.messages(CHANNEL)
        assert len(top_level(messages)) == 1
        main_ts = top_level(messages)[0]["ts"]
        replies = [m for m in messages if m.get("thread_ts") == main_ts and m["ts"] != main_ts]
        assert replies, "invites and stale members go to the thread"
        assert len(messages) == 1 + len(replies)
        # The losers asked Docker Hub nothing: one member listing for the one digest.
        first_pages = [
            r
            for r in emulator_state.requests
            if r.method == "GET" and r.path.endswith("/members") and parse_qs(r.query).get("page") == ["1"]
        ]
        assert len(first_pages) == 1
        # A later run in the same period (a misfire, a restart) posts nothing more.
        assert not await post(
            ctx, replicas[1], poster, claimed_by="replica-9", now=MONDAY_0130_UTC + timedelta(hours=5)
        )
        assert len(top_level(slack.messages(CHANNEL))) == 1
        assert await digest_store.posted("acme", "weekly", "2030-05-20") == (CHANNEL, main_ts)
    finally:
        for engine in engines:
            await engine.dispose()


async def test_the_time_zone_decides_the_period(
    ctx: HandlerContext, digest_store: SqlDigestStore, poster: SlackMessenger, slack: SlackStandIn
) -> None:
    la = "America/Los_Angeles"
    sunday_evening_la = datetime(2030, 5, 20, 5, 0, tzinfo=UTC)  # Sunday 22:00 in Los Angeles
    assert await post(ctx, digest_store, poster, timezone=la, now=MONDAY_0130_UTC)
    # Same day in Los Angeles, though Monday in UTC: the same period, so nothing is posted.
    assert not await post(ctx, digest_store, poster, timezone=la, now=sunday_evening_la, claimed_by="replica-2")
    # In UTC the two runs are different days... and Monday 08:00 UTC is Monday 01:00 in LA: a new period.
    assert await post(ctx, digest_store, poster, timezone=la, now=datetime(2030, 5, 20, 8, 0, tzinfo=UTC))
    assert len(top_level(slack.messages(CHANNEL))) == 2
    assert await digest_store.posted("acme", "weekly", "2030-05-19") is not None
    assert await digest_store.posted("acme", "weekly", "2030-05-20") is not None


async def test_the_next_digest_shows_who_joined_left_and_changed(
    ctx: HandlerContext,
    hub: HubClient,
    digest_store: SqlDigestStore,
    poster: SlackMessenger,
    slack: SlackStandIn,
    emulator_state: EmulatorState,
) -> None:
    assert await post(ctx, digest_store, poster)
    first = top_level(slack.messages(CHANNEL))[-1]
    assert "first one" in str(first["blocks"])

    emulator_state.add_member("acme", "newperson", teams=["backend"])
    await hub.remove_member("weizhang")
    await hub.update_member_role("ivanpetrov", "editor")
    await hub.add_group_member("frontend", "ninagarcia")
    await hub.remove_group_member("data", "ninagarcia")

    week_later = MONDAY_0130_UTC + timedelta(days=7)
    digest = await gather_digest(ctx, digest_store, now=week_later, stale_after_days=90, period="next")
    changes = digest.changes
    assert changes.since == MONDAY_0130_UTC
    assert changes.joined == ("newperson",)
    assert changes.left == ("weizhang",)
    assert [(c.username, c.before, c.after) for c in changes.roles] == [("ivanpetrov", "member", "editor")]
    assert [(c.username, c.joined, c.left) for c in changes.teams] == [("ninagarcia", ("frontend",), ("data",))]

    assert await post(ctx, digest_store, poster, now=week_later)
    text = str(top_level(slack.messages(CHANNEL))[-1]["blocks"])
    assert "Joined (1): `newperson`" in text and "Left (1): `weizhang`" in text
    assert "`ivanpetrov` member → editor" in text and "`ninagarcia` +frontend −data" in text


async def test_a_keep_hides_a_member_until_it_ends(
    ctx: HandlerContext, digest_store: SqlDigestStore, poster: SlackMessenger, slack: SlackStandIn
) -> None:
    assert await post(ctx, digest_store, poster)
    keep_values = [
        element["value"]
        for message in slack.messages(CHANNEL)
        for block in message.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == KEEP
    ]
    button = next(parse_member_value(v) for v in keep_values if parse_member_value(v).username == "georgelee")
    reply = await keep(ctx, digest_store, button.username, button.days, "U0ALICE01")
    assert isinstance(reply, Reply) and "georgelee" in reply.text

    today = datetime.now(UTC)
    hidden = await gather_digest(ctx, digest_store, now=today + timedelta(days=1), stale_after_days=90, period="a")
    assert "georgelee" not in {member.username for member in hidden.stale}
    assert [name for name, _ in hidden.snoozed] == ["georgelee"]
    back = await gather_digest(
        ctx, digest_store, now=today + timedelta(days=button.days, hours=1), stale_after_days=90, period="b"
    )
    assert "georgelee" in {member.username for member in back.stale}
    assert back.snoozed == ()


async def test_a_failed_post_gives_the_period_back(
    ctx: HandlerContext, memory_store: MemoryDigestStore, poster: SlackMessenger, slack: SlackStandIn
) -> None:
    # Slack refuses the post (a revoked token), on the wire.
    refused = SlackMessenger(AsyncWebClient(token="xoxb-revoked", base_url=slack.api_url))
    with pytest.raises(SlackApiError):
        await post(ctx, memory_store, refused)
    assert memory_store.claims == {}
    assert await post(ctx, memory_store, poster, claimed_by="replica-2")
    assert memory_store.snapshots, "a posted digest keeps its roster for the next one"


async def test_a_dry_run_posts_and_keeps_nothing(
    ctx: HandlerContext, memory_store: MemoryDigestStore, poster: SlackMessenger, slack: SlackStandIn
) -> None:
    printed: list[str] = []
    assert not await post(ctx, memory_store, None, dry_run=True, echo=printed.append, now=datetime.now(UTC))
    assert slack.messages(CHANNEL) == []
    assert memory_store.claims == {} and memory_store.snapshots == []
    assert len(printed) == 1
    assert "Digest: acme" in printed[0] and "weizhang" in printed[0] and "&lt;" not in printed[0]


async def test_an_on_demand_digest_posts_besides_the_scheduled_one_once_per_click_minute(
    ctx: HandlerContext, memory_store: MemoryDigestStore, poster: SlackMessenger, slack: SlackStandIn
) -> None:
    assert await post(ctx, memory_store, poster)
    options: dict[str, Any] = {"digest": ON_DEMAND, "period": on_demand_period(MONDAY_0130_UTC, "U0ALICE01")}
    assert await post(ctx, memory_store, poster, **options)
    assert not await post(ctx, memory_store, poster, **options)  # the double click
    assert len(top_level(slack.messages(CHANNEL))) == 2
