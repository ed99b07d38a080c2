"""Full-org scans across replicas: two gates, each on its own engine (as two replicas would be), share
the instance's claim and each person's cooldown through the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.store import SqlRequestStore
from bot.store.scan_store import SqlScanClaims
from handlers.context import Reply
from handlers.scans import ScanGate
from tests.store.conftest import NOW, OpenReplicas


class Clock:
    """Wall-clock seconds both replicas read, moved on by the test."""

    def __init__(self) -> None:
        self.now = NOW.timestamp()

    def __call__(self) -> float:
        return self.now


def gate(store: SqlRequestStore, clock: Clock, holder: str, **options: float) -> ScanGate:
    return ScanGate(60, clock, claims=SqlScanClaims(store.engine), holder=holder, **options)


async def answer(text: str) -> Reply:
    return Reply(text)


class Slow:
    """A scan that holds its turn until the test lets it end."""

    def __init__(self, text: str = "done") -> None:
        self.text = text
        self.started, self.release = asyncio.Event(), asyncio.Event()

    async def __call__(self) -> Reply:
        self.started.set()
        await self.release.wait()
        return Reply(self.text)


async def never() -> Reply:
    raise AssertionError("a refused scan must not run")


async def test_the_second_replica_is_refused_while_the_first_scans(open_replicas: OpenReplicas) -> None:
    one, two = await open_replicas(2)
    clock = Clock()
    first, second = gate(one, clock, "replica-1"), gate(two, clock, "replica-2")
    slow = Slow()
    running = asyncio.create_task(first.run("acme", "U1", "review", slow))
    await asyncio.wait_for(slow.started.wait(), 30)
    refused = await second.run("acme", "U2", "digest", never)
    assert "already running for `acme` (`/hub review`)" in refused.text and "try again in a moment" in refused.text
    # Another instance is not held up, on either replica.
    assert (await second.run("globex", "U2", "review", lambda: answer("other"))).text == "other"
    slow.release.set()
    assert (await running).text == "done"
    # The claim went with the scan: the other replica may scan now.
    assert (await second.run("acme", "U2", "digest", lambda: answer("mine"))).text == "mine"


async def test_the_cooldown_is_seen_by_the_other_replica(open_replicas: OpenReplicas) -> None:
    one, two = await open_replicas(2)
    clock = Clock()
    first, second = gate(one, clock, "replica-1"), gate(two, clock, "replica-2")
    assert (await first.run("acme", "U1", "review", lambda: answer("one"))).text == "one"
    clock.now += 15
    waited = await second.run("acme", "U1", "digest", never)
    assert "please wait 45 seconds" in waited.text
    assert second.cooldown_left("acme", "U1") == 0  # it was the store that knew, not the process
    # Someone else, or the same person on another instance, may scan there now.
    assert (await second.run("acme", "U2", "review", lambda: answer("two"))).text == "two"
    assert (await second.run("globex", "U1", "review", lambda: answer("three"))).text == "three"
    # A later scan moves the stored end on, on whichever replica it ran.
    clock.now += 45
    assert (await second.run("acme", "U1", "review", lambda: answer("four"))).text == "four"
    clock.now += 30
    assert "please wait 30 seconds" in (await first.run("acme", "U1", "review", never)).text
    # Without cooldown (whois by email) nothing is waited for or stored.
    assert (await first.run("acme", "U1", "whois", lambda: answer("found"), cooldown=False)).text == "found"


async def test_an_expired_claim_is_taken_over_and_the_dead_holder_cannot_drop_it(
    open_replicas: OpenReplicas,
) -> None:
    one, two = await open_replicas(2)
    clock = Clock()
    claims = SqlScanClaims(one.engine)
    # A replica took the claim and died mid-scan: nothing will release it.
    assert await claims.claim("acme", "dead", "`/hub review`", "U1", now=NOW, until=NOW + timedelta(seconds=300))
    second = gate(two, clock, "replica-2", lease_seconds=300)
    clock.now += 299
    assert "(`/hub review`)" in (await second.run("acme", "U2", "review", never)).text
    clock.now += 1
    slow = Slow("taken over")
    running = asyncio.create_task(second.run("acme", "U2", "review", slow))
    await asyncio.wait_for(slow.started.wait(), 30)
    # The dead replica, come back, neither renews nor drops what is now someone else's.
    assert not await claims.renew("acme", "dead", until=NOW + timedelta(days=1))
    await claims.release("acme", "dead")
    assert await claims.holding("acme", now=NOW + timedelta(seconds=301)) == "`/hub review`"
    assert "already running" in (await gate(one, clock, "replica-1").run("acme", "U3", "review", never)).text
    slow.release.set()
    assert (await running).text == "taken over"
    assert await claims.holding("acme", now=NOW + timedelta(seconds=301)) is None


async def test_racing_replicas_claim_once(open_replicas: OpenReplicas) -> None:
    replicas = await open_replicas(4)
    until = NOW + timedelta(minutes=5)
    won = await asyncio.gather(
        *(
            SqlScanClaims(replica.engine).claim("acme", f"r{n}", "`/hub review`", "U1", now=NOW, until=until)
            for n, replica in enumerate(replicas)
        )
    )
    assert sorted(won) == [False, False, False, True]
    # And once expired, of several takers exactly one wins.
    later = until + timedelta(seconds=1)
    taken = await asyncio.gather(
        *(
            SqlScanClaims(replica.engine).claim(
                "acme", f"t{n}", "`/hub digest`", "U2", now=later, until=later + timedelta(minutes=5)
            )
            for n, replica in enumerate(replicas)
        )
    )
    assert sorted(taken) == [False, False, False, True]


async def test_the_claim_is_released_when_the_scan_fails_or_is_cancelled(open_replicas: OpenReplicas) -> None:
    one, two = await open_replicas(2)
    clock = Clock()
    first, second = gate(one, clock, "replica-1"), gate(two, clock, "replica-2")

    async def broken() -> Reply:
        raise RuntimeError("Docker Hub went away")

    with pytest.raises(RuntimeError):
        await first.run("acme", "U1", "review", broken)
    assert first.running("acme") is None
    assert "please wait 60 seconds" in (await second.run("acme", "U1", "review", never)).text
    assert (await second.run("acme", "U2", "review", lambda: answer("free"))).text == "free"

    slow = Slow()
    cancelled = asyncio.create_task(first.run("acme", "U3", "review", slow))
    await asyncio.wait_for(slow.started.wait(), 30)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert (await second.run("acme", "U4", "review", lambda: answer("free again"))).text == "free again"


async def test_a_long_scan_renews_its_claim(open_replicas: OpenReplicas) -> None:
    one, two = await open_replicas(2)
    clock = Clock()
    # A short lease, renewed every third of it (real seconds); the test's clock says when it would lapse.
    first = gate(one, clock, "replica-1", lease_seconds=0.3)
    claims = SqlScanClaims(two.engine)
    slow = Slow()
    running = asyncio.create_task(first.run("acme", "U1", "review", slow))
    await asyncio.wait_for(slow.started.wait(), 30)
    try:
        clock.now += 3600  # long past the first expiry: only a renewal keeps the claim in force
        for _ in range(600):
            if await claims.holding("acme", now=NOW + timedelta(seconds=3600)) is not None:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the claim was never renewed")
        assert "already running" in (await gate(two, clock, "replica-2").run("acme", "U2", "review", never)).text
    finally:
        slow.release.set()
        await running


async def test_the_scheduled_digest_waits_for_the_other_replica_and_then_holds_the_turn(
    open_replicas: OpenReplicas,
) -> None:
    one, two = await open_replicas(2)
    clock = Clock()
    first, second = gate(one, clock, "replica-1"), gate(two, clock, "replica-2", poll_seconds=0.05)
    review = Slow("reviewed")
    running = asyncio.create_task(first.run("acme", "U1", "review", review))
    await asyncio.wait_for(review.started.wait(), 30)
    entered, leave = asyncio.Event(), asyncio.Event()

    async def scheduled() -> None:
        async with second.waiting_turn("acme", "the scheduled digest"):
            entered.set()
            await leave.wait()

    digest = asyncio.create_task(scheduled())
    # It keeps asking while the review runs on the other replica (two polls at least, not refused).
    claims = SqlScanClaims(one.engine)
    for _ in range(3):
        await asyncio.sleep(0.1)
        assert not entered.is_set() and not digest.done()
        assert await claims.holding("acme", now=NOW) == "`/hub review`"
    review.release.set()
    assert (await running).text == "reviewed"
    await asyncio.wait_for(entered.wait(), 30)
    refused = await first.run("acme", "U2", "review", never)
    assert "(the scheduled digest)" in refused.text
    leave.set()
    await digest
    assert await claims.holding("acme", now=NOW) is None
