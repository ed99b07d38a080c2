"""Refreshing the access index: every pair once, paced, resumable, one replica at a time."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.store import SqlRequestStore
from bot.store.access_store import SqlAccessIndexStore
from handlers.access_index import RatePacer, apply_own_change, refresh_index
from hub.client import HubClient
from hub.emulator import DEMO, EmulatorServer
from hub.errors import HubError
from tests.conftest import FAST_RETRIES, demo_connection

from .conftest import OpenReplicas, expected_grants, group_reads

REPOSITORIES = 5
TEAMS = 6


async def indexed(store: SqlAccessIndexStore) -> set[tuple[str, str, str]]:
    teams = [team for team in ("owners", "backend", "frontend", "platform", "data", "security", "apps")]
    return {(g.repository, g.team, g.permission) for g in await store.grants_of_teams(DEMO.org, teams)}


async def test_reads_every_pair_once(
    hub: HubClient, emulator: EmulatorServer, index_store: SqlAccessIndexStore
) -> None:
    state = emulator.state
    state.clear_requests()
    seen: list[tuple[int, int]] = []
    result = await refresh_index(hub, index_store, DEMO.org, claimed_by="one", progress=lambda *p: seen.append(p))
    assert result.ran and not result.resumed
    assert (result.repositories, result.teams, result.pairs_read) == (REPOSITORIES, TEAMS, REPOSITORIES * TEAMS)
    assert group_reads(state)() == REPOSITORIES * TEAMS
    listings = [r for r in state.requests if r.path.endswith(("/groups", "/repositories"))]
    assert len(state.requests) == REPOSITORIES * TEAMS + len(listings) + 1  # + the token exchange
    assert await indexed(index_store) == expected_grants(state)
    assert seen[-1] == (30, 30) and [done for done, _ in seen] == sorted(done for done, _ in seen)
    status = await index_store.index_status(DEMO.org)
    assert status is not None and status.finished_at is not None and not status.running
    counts = await index_store.team_counts(DEMO.org, ["api", "web", "nope"])
    assert counts == {"api": 3, "web": 2}


async def test_a_second_refresh_forgets_what_is_gone(
    hub: HubClient, emulator: EmulatorServer, index_store: SqlAccessIndexStore
) -> None:
    await refresh_index(hub, index_store, DEMO.org, claimed_by="one")
    org = emulator.state.org(DEMO.org)
    del org.repositories["docs"]
    org.repositories["api"].grants.pop(org.groups["security"].id)
    again = await refresh_index(hub, index_store, DEMO.org, claimed_by="one")
    assert again.ran and again.repositories == 4
    assert await indexed(index_store) == expected_grants(emulator.state)


async def test_an_interrupted_refresh_resumes_where_it_stopped(
    hub: HubClient, emulator: EmulatorServer, index_store: SqlAccessIndexStore
) -> None:
    state = emulator.state
    # Repositories go in name order: api, docs, infra-tools, sdk, web. One read of infra-tools fails
    # through every retry.
    platform = state.org(DEMO.org).groups["platform"].id
    state.fail_next(FAST_RETRIES.max_retries + 1, 503, path=f"/v2/repositories/acme/infra-tools/groups/{platform}")
    with pytest.raises(HubError):
        await refresh_index(hub, index_store, DEMO.org, claimed_by="first")
    status = await index_store.index_status(DEMO.org)
    assert status is not None and status.running and status.finished_at is None
    assert status.repositories_done == 2 and status.pairs_read == 2 * TEAMS
    assert {repo for repo, _, _ in await indexed(index_store)} == {"api", "docs"}

    state.clear_requests()
    resumed = await refresh_index(hub, index_store, DEMO.org, claimed_by="second")
    assert resumed.ran and resumed.resumed
    assert resumed.pairs_read == 3 * TEAMS == group_reads(state)()
    assert await indexed(index_store) == expected_grants(state)


async def test_a_stopped_holder_is_taken_over_after_its_lease(hub: HubClient, index_store: SqlAccessIndexStore) -> None:
    now = datetime.now(UTC)
    claim = await index_store.claim_refresh(DEMO.org, "crashed", now=now, lease=timedelta(minutes=3))
    assert claim is not None
    await index_store.advance_refresh(DEMO.org, "crashed", "docs", [("frontend", "write")], pairs=TEAMS, now=now)
    # Killed here: no release. Within the lease nobody else may start...
    busy = await refresh_index(hub, index_store, DEMO.org, claimed_by="other")
    assert not busy.ran
    # ...after it, the next refresh resumes after `docs` and the crashed holder can write no more.
    later = await refresh_index(hub, index_store, DEMO.org, claimed_by="other", now=lambda: now + timedelta(minutes=4))
    assert later.ran and later.resumed and later.pairs_read == 3 * TEAMS
    assert not await index_store.advance_refresh(DEMO.org, "crashed", "web", [], pairs=TEAMS, now=now)


async def test_two_replicas_refreshing_at_once_make_one_refresh(
    emulator: EmulatorServer, store: SqlRequestStore, open_replicas: OpenReplicas
) -> None:
    state = emulator.state
    replicas = await open_replicas(2)
    state.clear_requests()
    async with (
        HubClient(demo_connection(emulator.base_url), retry_policy=FAST_RETRIES) as first,
        HubClient(demo_connection(emulator.base_url), retry_policy=FAST_RETRIES) as second,
    ):
        results = await asyncio.gather(
            refresh_index(first, SqlAccessIndexStore(replicas[0].engine), DEMO.org, claimed_by="replica-1"),
            refresh_index(second, SqlAccessIndexStore(replicas[1].engine), DEMO.org, claimed_by="replica-2"),
        )
    assert sorted(result.ran for result in results) == [False, True]
    assert group_reads(state)() == REPOSITORIES * TEAMS
    assert await indexed(SqlAccessIndexStore(store.engine)) == expected_grants(state)


async def test_paced_to_the_share_of_the_announced_limit(
    emulator: EmulatorServer, index_store: SqlAccessIndexStore
) -> None:
    emulator.state.set_rate_limit(3000)  # 50 a second; a share of 0.5 is 25 a second
    async with HubClient(demo_connection(emulator.base_url), retry_policy=FAST_RETRIES) as hub:
        started = time.monotonic()
        result = await refresh_index(hub, index_store, DEMO.org, claimed_by="paced", rate_share=0.5)
        elapsed = time.monotonic() - started
    assert result.pairs_read == 30
    # 30 reads spaced 40 ms apart take at least 29 gaps; unpaced they take a few milliseconds.
    assert elapsed >= 29 * 0.04 * 0.95
    assert not [r for r in emulator.state.requests if r.status == 429]


async def test_pacer_without_an_announced_limit_never_waits() -> None:
    pacer = RatePacer(lambda: None, 0.5)
    started = time.monotonic()
    for _ in range(100):
        await pacer.acquire()
    assert time.monotonic() - started < 0.05 and pacer.waited == 0
    with pytest.raises(ValueError):
        RatePacer(lambda: 600, 0)


async def test_own_changes_update_the_index_at_once(index_store: SqlAccessIndexStore) -> None:
    now = datetime.now(UTC)
    grant = {"team": "data", "repository": "web", "permission": "write"}
    await apply_own_change(index_store, DEMO.org, "grant", grant, now=now)
    await apply_own_change(index_store, DEMO.org, "grant", {**grant, "repository": "api"}, now=now)
    await apply_own_change(index_store, DEMO.org, "revoke", {"team": "data", "repository": "api"}, now=now)
    assert {(g.repository, g.permission) for g in await index_store.grants_of_teams(DEMO.org, ["data"])} == {
        ("web", "write")
    }
    await apply_own_change(
        index_store, DEMO.org, "team_update", {"team": "analytics", "previous_name": "data"}, now=now
    )
    assert [g.team for g in await index_store.grants_of_repository(DEMO.org, "web")] == ["analytics"]
    await apply_own_change(index_store, DEMO.org, "team_delete", {"team": "analytics"}, now=now)
    assert await index_store.grants_of_repository(DEMO.org, "web") == []
