"""The execution lease, interruption and the Retry window: each a single conditional UPDATE, on SQLite
and PostgreSQL, including what a database migrated from the previous revision holds."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from bot.store import SqlRequestStore, create_engine, migrate
from bot.store.db import alembic_config
from handlers.requests.lifecycle import ChangeRequest, Status
from tests.store.conftest import NOW, OpenReplicas, draft

LEASE = timedelta(seconds=10)
ME, OTHER = "host-a:101:aaaa", "host-b:202:bbbb"


async def executing(store: SqlRequestStore, executor: str = ME, *, now: object = NOW) -> ChangeRequest:
    request = await store.create(draft(), now=NOW)
    assert await store.transition(request.id, Status.PENDING, Status.APPROVED, actor="UAPPROVER", now=NOW)
    started = await store.transition(
        request.id,
        Status.APPROVED,
        Status.EXECUTING,
        actor="UAPPROVER",
        now=NOW,
        executor=executor,
        lease_until=NOW + LEASE,
    )
    assert started is not None
    return started


async def test_executing_records_who_and_until_when(store: SqlRequestStore) -> None:
    started = await executing(store)
    assert (started.executor, started.lease_until, started.attempts) == (ME, NOW + LEASE, 1)


async def test_only_the_holder_renews_and_only_while_executing(store: SqlRequestStore) -> None:
    started = await executing(store)
    later = NOW + timedelta(seconds=5)
    assert await store.renew_lease(started.id, OTHER, until=later + LEASE, now=later) is False
    assert await store.renew_lease(started.id, ME, until=later + LEASE, now=later) is True
    renewed = await store.get(started.id)
    assert renewed is not None and renewed.lease_until == later + LEASE
    assert renewed.updated_at == NOW  # a renewal is not a change of state
    done = await store.transition(started.id, Status.EXECUTING, Status.DONE, actor="U", now=later, executor=ME)
    assert done is not None and done.lease_until is None and done.executor == ME
    assert await store.renew_lease(started.id, ME, until=later + LEASE, now=later) is False


async def test_a_lapsed_lease_is_found_and_interrupted_once(
    store: SqlRequestStore, open_replicas: OpenReplicas
) -> None:
    started = await executing(store)
    still_held = NOW + LEASE - timedelta(seconds=1)
    assert await store.lapsed_executions(still_held, unleased_before=NOW - LEASE) == []
    lapsed_at = NOW + LEASE
    assert [r.id for r in await store.lapsed_executions(lapsed_at, unleased_before=NOW - LEASE)] == [started.id]

    replicas = await open_replicas(5)
    outcomes = await asyncio.gather(
        *(
            replica.interrupt(
                started.id,
                now=lapsed_at,
                unleased_before=NOW - LEASE,
                error="interrupted: gone",
                result={"partly_applied": {"done": ["one step"], "not_done": []}},
                retry_until=lapsed_at + LEASE,
            )
            for replica in replicas
        )
    )
    winners = [outcome for outcome in outcomes if outcome is not None]
    assert len(winners) == 1
    interrupted = winners[0]
    assert interrupted.status is Status.INTERRUPTED and interrupted.lease_until is None
    assert (interrupted.error, interrupted.retry_until) == ("interrupted: gone", lapsed_at + LEASE)
    assert interrupted.result == {"partly_applied": {"done": ["one step"], "not_done": []}}
    # The executor that lost its lease can neither renew it nor record an outcome over the interruption.
    assert await store.renew_lease(started.id, ME, until=lapsed_at + LEASE, now=lapsed_at) is False
    assert await store.transition(started.id, Status.EXECUTING, Status.DONE, actor="U", now=lapsed_at) is None


async def test_a_renewal_that_lands_first_wins_over_the_interruption(store: SqlRequestStore) -> None:
    started = await executing(store)
    lapsed_at = NOW + LEASE
    assert await store.lapsed_executions(lapsed_at, unleased_before=NOW - LEASE)  # what the sweep read…
    assert await store.renew_lease(started.id, ME, until=lapsed_at + LEASE, now=lapsed_at)  # …then a renewal
    assert (
        await store.interrupt(
            started.id,
            now=lapsed_at,
            unleased_before=NOW - LEASE,
            error="x",
            result=None,
            retry_until=lapsed_at + LEASE,
        )
        is None
    )
    after = await store.get(started.id)
    assert after is not None and after.status is Status.EXECUTING


async def test_an_execution_without_a_lease_lapses_once_it_is_old(store: SqlRequestStore) -> None:
    """Requests left executing by a version that took no lease are recovered too."""
    request = await store.create(draft(), now=NOW)
    await store.transition(request.id, Status.PENDING, Status.APPROVED, actor="U", now=NOW)
    await store.transition(request.id, Status.APPROVED, Status.EXECUTING, actor="U", now=NOW)
    assert await store.lapsed_executions(NOW, unleased_before=NOW - LEASE) == []
    later = NOW + 2 * LEASE
    assert [r.id for r in await store.lapsed_executions(later, unleased_before=later - LEASE)] == [request.id]


async def test_only_the_holder_records_the_outcome(store: SqlRequestStore) -> None:
    started = await executing(store)
    assert await store.transition(started.id, Status.EXECUTING, Status.DONE, actor="U", now=NOW, executor=OTHER) is None
    failed = await store.transition(
        started.id,
        Status.EXECUTING,
        Status.FAILED,
        actor="U",
        now=NOW,
        error="boom",
        executor=ME,
        retry_until=NOW + LEASE,
    )
    assert failed is not None and failed.retry_until == NOW + LEASE


@pytest.mark.parametrize("status", [Status.FAILED, Status.INTERRUPTED])
async def test_retry_only_within_the_window(store: SqlRequestStore, status: Status) -> None:
    started = await executing(store)
    window_end = NOW + timedelta(hours=1)
    ended = await store.transition(
        started.id, Status.EXECUTING, status, actor="U", now=NOW, error="boom", executor=ME, retry_until=window_end
    )
    assert ended is not None and ended.retryable(window_end - timedelta(seconds=1))
    assert not ended.retryable(window_end)
    assert await store.transition(started.id, status, Status.APPROVED, actor="UAPPROVER", now=window_end) is None
    retried = await store.transition(
        started.id, status, Status.APPROVED, actor="UAPPROVER", now=window_end - timedelta(seconds=1)
    )
    assert retried is not None and retried.retry_until is None and retried.decided_by == "UAPPROVER"


async def test_approved_requests_nobody_started(store: SqlRequestStore) -> None:
    approved = await store.create(draft(), now=NOW)
    await store.transition(approved.id, Status.PENDING, Status.APPROVED, actor="U", now=NOW)
    await executing(store)
    await store.create(draft(), now=NOW)  # pending
    assert await store.unpicked_approved(NOW - timedelta(seconds=1)) == []
    assert [r.id for r in await store.unpicked_approved(NOW)] == [approved.id]


def _to(revision: str) -> object:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        if revision == "head":
            command.upgrade(config, "head")
        else:
            command.downgrade(config, revision)

    return run


async def test_the_migration_keeps_requests_and_admits_interrupted(database_url: str) -> None:
    """Upgrade a database holding an executing request (of the previous version) to the lease schema."""
    async with await SqlRequestStore.open(database_url) as store:
        started = await executing(store)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_to("0005"))  # type: ignore[arg-type]
        async with engine.connect() as connection:
            columns = (await connection.execute(text("SELECT * FROM requests"))).keys()
            assert "lease_until" not in columns
    finally:
        await engine.dispose()

    await migrate(database_url)
    async with SqlRequestStore(create_engine(database_url)) as store:
        before = await store.get(started.id)
        assert before is not None and before.status is Status.EXECUTING
        assert (before.executor, before.lease_until, before.retry_until) == (None, None, None)
        later = NOW + 2 * LEASE
        interrupted = await store.interrupt(
            started.id,
            now=later,
            unleased_before=later - LEASE,
            error="interrupted",
            result=None,
            retry_until=later + LEASE,
        )
        assert interrupted is not None and interrupted.status is Status.INTERRUPTED
        with pytest.raises(IntegrityError):  # the status constraint still refuses what is not a status
            async with store.engine.begin() as connection:
                await connection.execute(text("UPDATE requests SET status = 'bogus'"))


async def test_retry_windows_that_closed_in_a_span(store: SqlRequestStore) -> None:
    started = await executing(store)
    window_end = NOW + timedelta(hours=1)
    await store.transition(
        started.id,
        Status.EXECUTING,
        Status.FAILED,
        actor="U",
        now=NOW,
        error="boom",
        executor=ME,
        retry_until=window_end,
    )
    assert await store.retry_windows_closed(NOW, window_end - timedelta(seconds=1)) == []
    assert [r.id for r in await store.retry_windows_closed(NOW, window_end)] == [started.id]
    assert await store.retry_windows_closed(window_end, window_end + timedelta(hours=1)) == []
