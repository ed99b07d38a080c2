"""`SqlDigestStore` on SQLite and PostgreSQL: claims, snapshots, Keeps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.store import create_engine
from bot.store.digest_store import SNAPSHOTS_KEPT, SqlDigestStore

NOW = datetime(2030, 5, 17, 9, 0, tzinfo=UTC)


async def test_a_claim_is_granted_once_per_key(digest_store: SqlDigestStore) -> None:
    assert await digest_store.claim("acme", "weekly", "2030-05-17", "replica-1", NOW)
    assert not await digest_store.claim("acme", "weekly", "2030-05-17", "replica-2", NOW)
    # Another period, digest or instance is another key.
    assert await digest_store.claim("acme", "weekly", "2030-05-24", "replica-2", NOW)
    assert await digest_store.claim("acme", "on_demand", "2030-05-17", "replica-2", NOW)
    assert await digest_store.claim("globex", "weekly", "2030-05-17", "replica-2", NOW)


async def test_concurrent_claims_on_separate_engines_let_exactly_one_in(
    digest_store: SqlDigestStore, database_url: str
) -> None:
    engines = [create_engine(database_url) for _ in range(5)]
    try:
        replicas = [SqlDigestStore(engine) for engine in engines]
        results = await asyncio.gather(
            *(replica.claim("acme", "weekly", "2030-05-17", f"replica-{i}", NOW) for i, replica in enumerate(replicas))
        )
    finally:
        for engine in engines:
            await engine.dispose()
    assert sorted(results) == [False, False, False, False, True]


async def test_a_released_claim_can_be_taken_again_but_not_once_posted(digest_store: SqlDigestStore) -> None:
    assert await digest_store.claim("acme", "weekly", "p1", "replica-1", NOW)
    assert not await digest_store.release("acme", "weekly", "p1", "replica-2")  # not theirs
    assert await digest_store.release("acme", "weekly", "p1", "replica-1")
    assert await digest_store.claim("acme", "weekly", "p1", "replica-2", NOW)
    await digest_store.record_post("acme", "weekly", "p1", channel="C1", ts="123.456")
    assert not await digest_store.release("acme", "weekly", "p1", "replica-2")
    assert await digest_store.posted("acme", "weekly", "p1") == ("C1", "123.456")


async def test_latest_snapshot_and_only_a_few_are_kept(digest_store: SqlDigestStore) -> None:
    assert await digest_store.latest_snapshot("acme") is None
    for week in range(SNAPSHOTS_KEPT + 3):
        data = {"alice": {"role": "owner", "teams": ["b", "a"]}, f"user{week}": {"role": "member", "teams": []}}
        await digest_store.save_snapshot("acme", data, NOW + timedelta(weeks=week))
    await digest_store.save_snapshot("globex", {"hank": {"role": "owner", "teams": []}}, NOW)
    latest = await digest_store.latest_snapshot("acme")
    assert latest is not None
    assert latest.taken_at == NOW + timedelta(weeks=SNAPSHOTS_KEPT + 2)
    assert latest.data == {
        "alice": {"role": "owner", "teams": ["a", "b"]},
        f"user{SNAPSHOTS_KEPT + 2}": {"role": "member", "teams": []},
    }
    async with digest_store._engine.connect() as connection:
        count = (await connection.exec_driver_sql("SELECT count(*) FROM roster_snapshots")).scalar()
    assert count == SNAPSHOTS_KEPT + 1


async def test_active_snoozes_end_when_their_time_is_up(digest_store: SqlDigestStore) -> None:
    await digest_store.snooze("acme", "weizhang", NOW + timedelta(days=10), "U0ALICE01", NOW)
    await digest_store.snooze("acme", "weizhang", NOW + timedelta(days=30), "U0BOBOK01", NOW + timedelta(days=1))
    await digest_store.snooze("acme", "georgelee", NOW + timedelta(days=5), "U0ALICE01", NOW)
    await digest_store.snooze("globex", "homerjay", NOW + timedelta(days=5), "U0ALICE01", NOW)
    assert await digest_store.active_snoozes("acme", NOW) == {
        "weizhang": NOW + timedelta(days=30),
        "georgelee": NOW + timedelta(days=5),
    }
    assert await digest_store.active_snoozes("acme", NOW + timedelta(days=6)) == {"weizhang": NOW + timedelta(days=30)}
    assert await digest_store.active_snoozes("acme", NOW + timedelta(days=30)) == {}


async def test_a_stale_unposted_claim_is_taken_over_once_and_the_old_holder_cannot_post(
    digest_store: SqlDigestStore, database_url: str
) -> None:
    lease = timedelta(minutes=5)
    assert await digest_store.claim("acme", "weekly", "p1", "dead-replica", NOW, lease=lease)
    # Within the lease the claim stands: its replica may still be building the digest.
    assert not await digest_store.claim("acme", "weekly", "p1", "replica-2", NOW + timedelta(minutes=4), lease=lease)
    # Past the lease, several replicas try to take it over at once: exactly one wins.
    later = NOW + timedelta(minutes=6)
    engines = [create_engine(database_url) for _ in range(4)]
    try:
        replicas = [SqlDigestStore(engine) for engine in engines]
        results = await asyncio.gather(
            *(r.claim("acme", "weekly", "p1", f"replica-{i}", later, lease=lease) for i, r in enumerate(replicas))
        )
    finally:
        for engine in engines:
            await engine.dispose()
    assert sorted(results) == [False, False, False, True]
    winner = f"replica-{results.index(True)}"
    # The old holder, back from the dead, finds its claim gone and must not post; the winner may.
    assert not await digest_store.hold("acme", "weekly", "p1", "dead-replica", later)
    assert await digest_store.hold("acme", "weekly", "p1", winner, later)
    await digest_store.record_post("acme", "weekly", "p1", channel="C1", ts="1.2")
    # A posted claim is never taken over, however old.
    assert not await digest_store.claim("acme", "weekly", "p1", "replica-9", NOW + timedelta(days=3), lease=lease)
    assert not await digest_store.hold("acme", "weekly", "p1", winner, later)


async def test_without_a_lease_an_old_claim_is_never_taken_over(digest_store: SqlDigestStore) -> None:
    assert await digest_store.claim("acme", "drift", "f1", "replica-1", NOW)
    assert not await digest_store.claim("acme", "drift", "f1", "replica-2", NOW + timedelta(days=30))
