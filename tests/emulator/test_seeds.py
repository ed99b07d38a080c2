from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx

from hub.emulator import DEMO, LARGE_OAT, EmulatorServer, EmulatorState, seed_demo, seed_large

SANITY_SECONDS = 15.0


def test_demo_org_shape() -> None:
    state = EmulatorState()
    seed_demo(state)
    acme = state.org(DEMO.org)
    members = list(acme.members.values())
    now = datetime.now(UTC)
    assert acme.insights_enabled and 35 <= len(members) <= 45
    assert {m.username for m in members if m.role == "owner"} == set(acme.groups["owners"].members)
    assert len(acme.groups["owners"].members) == 3
    assert acme.members[DEMO.pat_username].role == "editor"
    assert acme.members[DEMO.member_pat_username].role == "member"
    guests = [m for m in members if m.is_guest]
    assert 3 <= len(guests) <= 4 and all(not m.email.endswith("@acme.example") for m in guests)
    assert all(m.email.endswith("@acme.example") for m in members if not m.is_guest)
    assert sum(m.last_seen_at is None for m in members) >= 3
    assert sum(m.last_seen_at is not None and now - m.last_seen_at > timedelta(days=365) for m in members) >= 2
    assert sum(m.last_seen_at is not None and now - m.last_seen_at > timedelta(days=90) for m in members) >= 5
    assert sum(not m.groups for m in members) >= 4
    assert all(4 <= len(m.username) <= 30 and m.username.isalnum() and m.username.islower() for m in members)
    assert len(acme.groups) == 6 and all(g.description for g in acme.groups.values())
    assert len(acme.repositories) == 5 and len(acme.grants) >= 5
    assert len(acme.invites) == 4
    assert len(state.org(DEMO.other_org).members) >= 3


def test_demo_is_deterministic() -> None:
    first, second = EmulatorState(), EmulatorState()
    seed_demo(first)
    seed_demo(second)
    a, b = first.org(DEMO.org), second.org(DEMO.org)
    assert [m.id for m in a.members.values()] == [m.id for m in b.members.values()]
    assert [g.uuid for g in a.groups.values()] == [g.uuid for g in b.groups.values()]
    assert list(a.invites) == list(b.invites)


def test_seed_large_is_fast_and_spread_over_teams() -> None:
    state = EmulatorState()
    started = time.perf_counter()
    secret = seed_large(state, members=5000, teams=300, repositories=20)
    # A bound a loaded CI machine still meets (a quadratic slip would take minutes); the speed itself
    # is measured by benchmarks/members_listing.py, which seeds 50,000 members.
    assert time.perf_counter() - started < SANITY_SECONDS
    assert secret == LARGE_OAT
    org = state.org("bigcorp")
    assert len(org.members) == 5000 and len(org.groups) == 300 and len(org.repositories) == 20
    assert all(len(m.groups) <= 3 + (m.role == "owner") for m in org.members.values())
    assert sum(not m.groups for m in org.members.values()) > 0
    other = EmulatorState()
    seed_large(other, members=5000, teams=300, repositories=20)
    assert [m.id for m in other.org("bigcorp").members.values()] == [m.id for m in org.members.values()]


async def test_large_org_pages_quickly() -> None:
    state = EmulatorState()
    seed_large(state, members=50_000, teams=300)
    with EmulatorServer(state) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            token = (await client.post("/v2/auth/token", json={"identifier": "bigcorp", "secret": LARGE_OAT})).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            started = time.perf_counter()
            for page in (1, 250, 500):
                body = (
                    await client.get(
                        "/v2/orgs/bigcorp/members", headers=headers, params={"page": page, "page_size": 100}
                    )
                ).json()
                assert body["count"] == 50_000 and len(body["results"]) == 100
            # Paging by slicing, not by walking 50,000 members: a bound that survives a loaded machine.
            assert time.perf_counter() - started < SANITY_SECONDS
