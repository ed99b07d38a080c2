"""`AffectedPeople` on real parts (the emulator's demo org, the SQL store, the Slack stand-in): whom a
done change is about, and the end of time-bound access."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.sandbox.slack_api import SlackStandIn
from bot.store import SqlRequestStore
from bot.store.onboarding_store import SqlOnboardingStore
from handlers.affected import AffectedPeople
from handlers.requests.lifecycle import NewRequest
from tests.conftest import MakeContext

IVAN, KENJI = "U0IVANP01", "U0KENJI01"


def people(store: SqlRequestStore, make_context: MakeContext, enabled: bool = True) -> AffectedPeople:
    return AffectedPeople(
        contexts=lambda instance: make_context("hubkeeper"),
        store=store,
        notices=SqlOnboardingStore(store.engine),
        enabled=enabled,
    )


async def granted(store: SqlRequestStore, holder: str, requester: str) -> None:
    now = datetime.now(UTC)
    request = await store.create(
        NewRequest(
            instance="acme",
            kind="access_request",
            params={"namespace": "acme", "repository": "docs", "permission": "write"},
            requester=requester,
            reason="fixing the docs",
            summary="Access",
            destructive=False,
            approvals_required=1,
            expires_at=now + timedelta(hours=1),
        ),
        now=now,
    )
    await store.add_timed_grant(
        instance="acme",
        request_id=request.id,
        team="hk-docs-w",
        username=holder,
        requester=requester,
        expires_at=now + timedelta(hours=2),
    )


async def test_the_end_of_time_bound_access_is_told_to_its_holder(
    store: SqlRequestStore, make_context: MakeContext, slack: SlackStandIn
) -> None:
    await granted(store, "kenjisato", IVAN)
    (grant,) = await store.active_timed_grants()
    await people(store, make_context).grant_ended(grant)
    (told,) = slack.dms(KENJI)
    assert "has ended" in told["text"] and "fixing the docs" in told["text"]


async def test_a_holder_who_asked_is_not_told_twice(
    store: SqlRequestStore, make_context: MakeContext, slack: SlackStandIn
) -> None:
    # The sweep itself tells whoever asked; their own access ending needs no second DM.
    await granted(store, "ivanpetrov", IVAN)
    (grant,) = await store.active_timed_grants()
    await people(store, make_context).grant_ended(grant)
    assert slack.dms(IVAN) == []
    assert [call.args.get("email") for call in slack.calls_to("users.lookupByEmail")] == ["ivanpetrov@acme.example"]


async def test_nothing_when_turned_off(store: SqlRequestStore, make_context: MakeContext, slack: SlackStandIn) -> None:
    await granted(store, "kenjisato", IVAN)
    (grant,) = await store.active_timed_grants()
    quiet = people(store, make_context, enabled=False)
    await quiet.grant_ended(grant)
    assert await quiet.warn_ending(grant.expires_at - timedelta(minutes=5)) == []
    assert slack.dms(KENJI) == [] and slack.calls_to("users.lookupByEmail") == []
