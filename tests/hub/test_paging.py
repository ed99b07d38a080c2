"""Paging: our own page URLs, the minimum number of requests, and nothing ever ending in '/'."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr

from hub.client import HubClient, HubConnection
from hub.emulator import EmulatorServer, EmulatorState, seed_large
from hub.paging import PageResult, fetch_all, iter_items
from tests.conftest import FAST_RETRIES

ORG = "bigcorp"


@pytest.fixture
def large_state() -> EmulatorState:
    state = EmulatorState()
    state.oat = seed_large(state, members=250, teams=8, repositories=23, org=ORG)  # type: ignore[attr-defined]
    return state


@pytest.fixture
def large_emulator(large_state: EmulatorState) -> Iterator[EmulatorServer]:
    with EmulatorServer(large_state) as server:
        yield server


@pytest.fixture
async def large_hub(large_emulator: EmulatorServer, large_state: EmulatorState) -> AsyncIterator[HubClient]:
    connection = HubConnection(org=ORG, oat=SecretStr(large_state.oat), base_url=large_emulator.base_url)  # type: ignore[attr-defined]
    async with HubClient(connection, retry_policy=FAST_RETRIES) as client:
        yield client


async def test_250_members_take_three_requests_and_no_path_ends_in_a_slash(
    large_hub: HubClient, large_state: EmulatorState
) -> None:
    members = await large_hub.list_members()
    assert len(members) == 250
    assert len({m.username for m in members}) == 250
    listing = [r for r in large_state.requests if r.path == f"/v2/orgs/{ORG}/members"]
    pages = sorted(int(parse_qs(r.query)["page"][0]) for r in listing)
    assert pages == [1, 2, 3]
    assert all(parse_qs(r.query)["page_size"] == ["100"] for r in listing)
    assert not [r for r in large_state.requests if r.path.endswith("/")]
    assert all(r.status == 200 for r in large_state.requests)


async def test_pages_come_back_in_order(large_hub: HubClient) -> None:
    usernames = [m.username async for m in large_hub.iter_members()]
    assert usernames == sorted(usernames)  # the emulator lists by username


async def test_filters_travel_with_every_page(large_hub: HubClient, large_state: EmulatorState) -> None:
    members = await large_hub.list_members(search="user001")
    assert {m.username for m in members} == {f"user{i:05d}" for i in range(100, 200)} | {"user00100"}
    assert all(parse_qs(r.query).get("search") == ["user001"] for r in large_state.requests[1:])


async def test_repositories_list_in_full_despite_404_past_the_end(large_hub: HubClient) -> None:
    repositories = await large_hub.list_repositories()
    assert len(repositories) == 23


async def test_a_listing_that_shrinks_midway_ends_cleanly() -> None:
    """Docker Hub 404s a page past the end; if the org shrank while we read, that is the end."""
    data = list(range(250))

    async def fetch(page: int, size: int) -> PageResult[int]:
        if page == 1:
            return PageResult(items=data[:size], count=len(data), has_next=True)
        from hub.errors import NotFound

        if page > 2:
            raise NotFound("past the end")
        return PageResult(items=data[100:150], count=150, has_next=False)

    assert await fetch_all(fetch, page_size=100) == list(range(150))


async def test_a_listing_that_grows_midway_is_read_to_its_end() -> None:
    data = list(range(330))

    async def fetch(page: int, size: int) -> PageResult[int]:
        items = data[(page - 1) * size : page * size]
        count = 250 if page == 1 else len(data)  # four members joined after page 1
        return PageResult(items=items, count=count, has_next=page * size < len(data))

    assert await fetch_all(fetch, page_size=100, concurrency=2) == data


async def test_a_bare_array_is_accepted_as_the_whole_listing() -> None:
    """hub-tool decodes group members as a bare array; the client accepts both shapes."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/auth/token":
            return httpx.Response(200, json={"access_token": "a.b.c"})
        assert request.url.path == "/v2/orgs/acme/groups/backend/members"
        return httpx.Response(200, json=[{"username": "alicechen"}, {"username": "bobokafor"}])

    connection = HubConnection(org="acme", oat=SecretStr("dckr_oat_x"), base_url="https://hub.test")
    async with HubClient(connection, transport=httpx.MockTransport(answer)) as hub:
        members = await hub.list_group_members("backend")
    assert [m.username for m in members] == ["alicechen", "bobokafor"]


async def test_stopping_early_cancels_the_pages_in_flight_at_once() -> None:
    """Pages fetched ahead are cancelled when the caller closes the listing, not whenever the garbage
    collector reaches the suspended generators (by then the test, or the loop, may be long gone)."""
    in_flight: set[int] = set()
    cancelled: set[int] = set()

    async def fetch(page: int, size: int) -> PageResult[int]:
        if page > 2:
            in_flight.add(page)
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.add(page)
                raise
        return PageResult(items=list(range((page - 1) * size, page * size)), count=size * 6, has_next=True)

    async with aclosing(iter_items(fetch, page_size=2, concurrency=3)) as items:
        async for item in items:
            if item == 2:  # the first item of page 2: pages 3 and 4 are being fetched
                break
    assert in_flight == {3, 4}
    assert cancelled == in_flight
    assert not [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
