"""The onboardings store on SQLite and PostgreSQL: one per request, and every step a compare-and-set
that exactly one replica wins."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.store import SqlRequestStore
from bot.store.onboarding_store import SqlOnboardingStore
from handlers.onboarding import CLAIM_TIMEOUT, Onboarding, OnboardingStatus
from tests.store.conftest import NOW, OpenReplicas, draft


async def started(store: SqlRequestStore, email: str = "ada@acme.example") -> tuple[SqlOnboardingStore, Onboarding]:
    request = await store.create(draft(kind="onboard"), now=NOW)
    onboardings = SqlOnboardingStore(store.engine)
    onboarding = await onboardings.start(
        instance="acme",
        request_id=request.id,
        email=email,
        teams=["backend", "data"],
        role="member",
        requester="UREQUESTER",
        invite_id="inv-1",
        now=NOW,
    )
    return onboardings, onboarding


async def test_an_onboarding_is_recorded_once_per_request(store: SqlRequestStore) -> None:
    onboardings, first = await started(store)
    again = await onboardings.start(
        instance="acme",
        request_id=first.request_id,
        email="ada@acme.example",
        teams=["other"],
        role=None,
        requester="UOTHER",
        invite_id="inv-2",
        now=NOW + timedelta(minutes=1),
    )
    assert again == first  # a Retry of the request finds the first one; nothing is added
    assert first.teams == ("backend", "data") and first.status is OnboardingStatus.PENDING
    assert [o.id for o in await onboardings.waiting()] == [first.id]
    assert await onboardings.waiting(requester="UOTHER") == []
    assert (await onboardings.waiting_for("acme", "ADA@acme.example")) == first
    assert await onboardings.waiting_for("globex", "ada@acme.example") is None


async def test_completion_is_claimed_by_one_replica(store: SqlRequestStore, open_replicas: OpenReplicas) -> None:
    _, onboarding = await started(store)
    replicas = [SqlOnboardingStore(r.engine) for r in await open_replicas(4)]
    claims = await asyncio.gather(*(r.claim(onboarding.id, f"replica-{i}", NOW) for i, r in enumerate(replicas)))
    winners = [claim for claim in claims if claim is not None]
    assert len(winners) == 1 and winners[0].status is OnboardingStatus.COMPLETING
    holder = winners[0].claimed_by
    assert holder is not None
    # Another replica cannot release it; its holder can, and then it can be claimed again.
    assert not await replicas[0].release(onboarding.id, "someone-else", NOW)
    assert await replicas[1].release(onboarding.id, holder, NOW)
    assert (await replicas[2].claim(onboarding.id, "replica-2", NOW)) is not None


async def test_a_claim_left_by_a_stopped_replica_can_be_taken_over(store: SqlRequestStore) -> None:
    onboardings, onboarding = await started(store)
    assert await onboardings.claim(onboarding.id, "gone", NOW) is not None
    assert await onboardings.claim(onboarding.id, "other", NOW + timedelta(minutes=1)) is None
    taken = await onboardings.claim(onboarding.id, "other", NOW + CLAIM_TIMEOUT + timedelta(seconds=1))
    assert taken is not None and taken.claimed_by == "other"


async def test_finishing_is_a_compare_and_set(store: SqlRequestStore) -> None:
    onboardings, onboarding = await started(store)
    ended = await onboardings.finish(
        onboarding.id, OnboardingStatus.PENDING, OnboardingStatus.ENDED, now=NOW, note="invite gone"
    )
    assert ended is not None and ended.status is OnboardingStatus.ENDED and ended.note == "invite gone"
    assert (
        await onboardings.finish(onboarding.id, OnboardingStatus.PENDING, OnboardingStatus.CANCELLED, now=NOW) is None
    )
    assert await onboardings.claim(onboarding.id, "late", NOW) is None
    assert await onboardings.waiting() == []
    with pytest.raises(ValueError, match="cannot go"):
        await onboardings.finish(onboarding.id, OnboardingStatus.ENDED, OnboardingStatus.PENDING, now=NOW)


async def test_completed_records_who_they_joined_as(store: SqlRequestStore) -> None:
    onboardings, onboarding = await started(store)
    await onboardings.claim(onboarding.id, "me", NOW)
    done = await onboardings.finish(
        onboarding.id, OnboardingStatus.COMPLETING, OnboardingStatus.COMPLETED, now=NOW, username="adalovelace"
    )
    assert done is not None and done.username == "adalovelace"


async def test_a_notice_is_claimed_once(store: SqlRequestStore, open_replicas: OpenReplicas) -> None:
    replicas = [SqlOnboardingStore(r.engine) for r in await open_replicas(4)]
    claims = await asyncio.gather(*(r.claim_notice("acme", "grant-ending:g1", NOW) for r in replicas))
    assert sorted(claims) == [False, False, False, True]
    assert await replicas[0].claim_notice("globex", "grant-ending:g1", NOW)  # per instance
