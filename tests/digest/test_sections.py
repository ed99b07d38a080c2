"""The digest's honest parts: what changed outside hubkeeper since the last digest, a baseline only the
scheduled digest moves, stale claims taken over, and every shortened section attached whole as a CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackMessenger
from bot.store import SqlRequestStore
from bot.store.activity_store import SqlActivityStore
from bot.store.digest_store import SqlDigestStore
from handlers.context import HandlerContext
from handlers.digest.post import ON_DEMAND, SCHEDULED, Outcome, gather_digest, run_digest
from handlers.digest.render import MAX_STALE_REPLIES, render_all
from hub.client import HubClient, HubConnection
from hub.emulator import DEMO, EmulatorServer, EmulatorState, seed_large
from tests.conftest import FAST_RETRIES, MakeContext
from tests.digest.conftest import CHANNEL, MemoryDigestStore, top_level


async def run(ctx: HandlerContext, store: object, poster: SlackMessenger, **options: object) -> Outcome:
    options.setdefault("claimed_by", "replica-1")
    options.setdefault("now", datetime.now(UTC))
    return await run_digest(ctx, store, poster, CHANNEL, pace_seconds=0, **options)  # type: ignore[arg-type]


def thread_of(slack: SlackStandIn, ts: str) -> list[dict[str, object]]:
    return [m for m in slack.messages(CHANNEL) if m.get("thread_ts") == ts and m["ts"] != ts]


async def test_only_the_scheduled_digest_moves_the_baseline_and_outside_changes_are_listed(
    ctx: HandlerContext,
    store: SqlRequestStore,
    digest_store: SqlDigestStore,
    poster: SlackMessenger,
    slack: SlackStandIn,
    emulator_state: EmulatorState,
) -> None:
    activity = SqlActivityStore(store.engine)
    now = datetime.now(UTC)
    assert await run(ctx, digest_store, poster, period="week-1", now=now, activity=activity) is Outcome.POSTED
    baseline = await digest_store.latest_snapshot("acme")
    assert baseline is not None
    # Someone makes Ivan an owner and takes Umar out of a team in Docker Hub's web UI.
    emulator_state.web_ui_change(DEMO.org, "carolsmith", "member.role.change", username="ivanpetrov", role="owner")
    emulator_state.web_ui_change(DEMO.org, "bobokafor", "team.create", team="mobile")
    later = now + timedelta(minutes=5)
    # An on-demand digest shows them, and leaves the baseline where the weekly one put it.
    on_demand = await run(ctx, digest_store, poster, digest=ON_DEMAND, period="click", now=later, activity=activity)
    assert on_demand is Outcome.POSTED
    assert await digest_store.latest_snapshot("acme") == baseline
    first, second = top_level(slack.messages(CHANNEL))
    assert "outside hubkeeper" not in str(first["blocks"])  # the first digest has nothing to compare with
    text = str(second["blocks"])
    assert "Changed outside hubkeeper since the last digest* (2, :rotating_light: 1 made an owner" in text
    assert "carolsmith" in text and "changed the role of ivanpetrov from member to owner" in text
    assert "bobokafor" in text and "created the team mobile" in text
    assert "`ivanpetrov` member → owner" in text
    # The next scheduled digest still shows what the on-demand one showed; then the baseline moves.
    week2 = later + timedelta(minutes=5)
    assert await run(ctx, digest_store, poster, period="week-2", now=week2, activity=activity) is Outcome.POSTED
    weekly = str(top_level(slack.messages(CHANNEL))[-1]["blocks"])
    assert "`ivanpetrov` member → owner" in weekly and "carolsmith" in weekly
    moved = await digest_store.latest_snapshot("acme")
    assert moved is not None and moved.taken_at == week2
    digest = await gather_digest(ctx, digest_store, now=week2, stale_after_days=90, period="p", activity=activity)
    assert digest.outside == () and not digest.changes.any


async def test_the_first_digest_has_no_outside_section_and_a_failed_audit_read_is_said(
    ctx: HandlerContext, store: SqlRequestStore, emulator_state: EmulatorState
) -> None:
    memory = MemoryDigestStore()
    activity = SqlActivityStore(store.engine)
    now = datetime.now(UTC)
    first = await gather_digest(ctx, memory, now=now, stale_after_days=90, period="p", activity=activity)
    assert first.outside is None and "outside hubkeeper" not in str(render_all(first).main.blocks)
    await memory.save_snapshot("acme", first.roster, now)
    emulator_state.fail_next(3, 403, path="/v2/auditlogs/*")
    broken = await gather_digest(ctx, memory, now=now, stale_after_days=90, period="p", activity=activity)
    assert broken.outside is None and broken.outside_error
    assert "the audit log could not be read" in str(render_all(broken).main.blocks)


async def test_a_claim_left_by_a_dead_replica_is_taken_over_and_a_live_one_is_not(
    ctx: HandlerContext, digest_store: SqlDigestStore, poster: SlackMessenger, slack: SlackStandIn
) -> None:
    now = datetime.now(UTC)
    # A replica claimed the period and died before posting; `hubkeeper digest` used to say "already posted".
    assert await digest_store.claim("acme", SCHEDULED, "period", "dead", now - timedelta(minutes=10))
    assert await run(ctx, digest_store, poster, period="period", now=now) is Outcome.POSTED
    assert len(top_level(slack.messages(CHANNEL))) == 1
    assert await run(ctx, digest_store, poster, period="period", now=now, claimed_by="r2") is Outcome.ALREADY_POSTED
    # A fresh claim is a run still building its digest: left alone, and the caller is told to come back.
    assert await digest_store.claim("acme", SCHEDULED, "next", "busy", now - timedelta(minutes=1))
    assert await run(ctx, digest_store, poster, period="next", now=now) is Outcome.HELD
    assert len(top_level(slack.messages(CHANNEL))) == 1


@pytest.fixture
def big_state() -> Iterator[tuple[EmulatorState, str]]:
    state = EmulatorState()
    oat = seed_large(state, members=800, teams=20, org="bigcorp")
    yield state, oat


@pytest.fixture
async def big_ctx(big_state: tuple[EmulatorState, str], make_context: MakeContext) -> AsyncIterator[HandlerContext]:
    state, oat = big_state
    with EmulatorServer(state) as server:
        connection = HubConnection(org="bigcorp", oat=SecretStr(oat), base_url=server.base_url)
        async with HubClient(connection, retry_policy=FAST_RETRIES) as client:
            yield make_context(hub=client, instance="big")


async def test_a_shortened_section_is_attached_whole_as_csv_in_the_thread(
    big_ctx: HandlerContext, poster: SlackMessenger, slack: SlackStandIn
) -> None:
    store = MemoryDigestStore()
    now = datetime.now(UTC)
    digest = await gather_digest(big_ctx, store, now=now, stale_after_days=90, period="p")
    assert await run(big_ctx, store, poster, period="2030-05-20T09:00", now=now) is Outcome.POSTED
    (main,) = top_level(slack.messages(CHANNEL))
    thread = thread_of(slack, str(main["ts"]))
    stale_replies = [m for m in thread if "Stale members of" in str(m.get("blocks"))]
    assert len(stale_replies) == MAX_STALE_REPLIES
    assert "more stale members not shown here; the attached CSV lists them all" in str(stale_replies[-1]["blocks"])
    uploads = [m for m in thread if m.get("upload")]
    names = {f["name"]: f for m in uploads for f in m["files"]}  # type: ignore[attr-defined]
    stale_name = "digest-bigcorp-2030-05-20T0900-stale-members.csv"
    assert stale_name in names
    stored = {f.name: f for f in slack.files}
    rows = list(csv.DictReader(io.StringIO((stored[stale_name].content or b"").decode())))
    assert [row["username"] for row in rows] == [s.username for s in digest.stale]
    assert len(rows) > 300 and set(rows[0]) == {"username", "full_name", "role", "teams", "guest", "last_active"}
    # The lists the main message cut short ("and N more") are attached too; what fits is not.
    assert "digest-bigcorp-2030-05-20T0900-no-team.csv" in names
    assert not any("owners" in name for name in names)
