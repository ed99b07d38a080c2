"""Retries and pacing: 429 waits Retry-After, 5xx and dropped connections are retried for idempotent
calls only, and the client slows down before the rate limit rather than after."""

from __future__ import annotations

import time

import pytest

from hub.client import HubClient
from hub.emulator import EmulatorConfig, EmulatorState
from hub.errors import HubUnavailable, RateLimited

MEMBERS = "/v2/orgs/acme/members"


def calls(state: EmulatorState, path: str = MEMBERS) -> list[int | None]:
    return [r.status for r in state.requests if r.path == path]


async def test_429_waits_retry_after_then_succeeds(hub: HubClient, emulator_state: EmulatorState) -> None:
    await hub.check_token()
    emulator_state.rate_limit_next(1, retry_after=1)
    started = time.monotonic()
    members = await hub.list_members_page(page_size=3)
    assert len(members) == 3
    assert time.monotonic() - started >= 0.95
    assert calls(emulator_state) == [429, 200]


async def test_5xx_on_a_read_is_retried(hub: HubClient, emulator_state: EmulatorState) -> None:
    await hub.check_token()
    emulator_state.fail_next(2, status=503)
    assert len(await hub.list_members_page(page_size=2)) == 2
    assert calls(emulator_state) == [503, 503, 200]


async def test_persistent_5xx_is_reported_as_unavailable_after_the_retries(
    hub: HubClient, emulator_state: EmulatorState
) -> None:
    await hub.check_token()
    emulator_state.fail_next(10, status=502)
    with pytest.raises(HubUnavailable, match="unavailable"):
        await hub.list_members_page()
    assert calls(emulator_state) == [502] * 4  # the first try and three retries (FAST_RETRIES)


async def test_a_create_is_not_retried_after_a_5xx(hub: HubClient, emulator_state: EmulatorState) -> None:
    await hub.check_token()
    emulator_state.fail_next(1, status=500)
    with pytest.raises(HubUnavailable):
        await hub.create_group("newteam", "made twice?")
    assert calls(emulator_state, "/v2/orgs/acme/groups") == [500]
    assert "newteam" not in emulator_state.org("acme").groups


async def test_a_dropped_connection_on_a_read_is_retried(hub: HubClient, emulator_state: EmulatorState) -> None:
    await hub.check_token()
    emulator_state.drop_next(1)
    assert len(await hub.list_members_page(page_size=1)) == 1
    assert calls(emulator_state) == [None, 200]


async def test_a_dropped_connection_on_a_create_is_not_retried(hub: HubClient, emulator_state: EmulatorState) -> None:
    await hub.check_token()
    emulator_state.drop_next(1)
    with pytest.raises(HubUnavailable, match="could not reach"):
        await hub.create_group("newteam")
    assert calls(emulator_state, "/v2/orgs/acme/groups") == [None]


async def test_the_token_exchange_is_retried_on_503(hub: HubClient, emulator_state: EmulatorState) -> None:
    emulator_state.fail_next(1, status=503)
    await hub.list_members_page()
    assert calls(emulator_state, "/v2/auth/token") == [503, 200]


async def test_a_wait_beyond_the_budget_is_reported_with_the_wait(
    hub: HubClient, emulator_state: EmulatorState
) -> None:
    await hub.check_token()
    emulator_state.rate_limit_next(1, retry_after=120)
    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        await hub.list_members_page()
    assert time.monotonic() - started < 10  # gave up at once rather than wait 120 s
    assert caught.value.retry_after == pytest.approx(120, abs=1)
    assert "retry in 120 s" in caught.value.message


@pytest.mark.parametrize("emulator_config", [EmulatorConfig(rate_limit_per_minute=20, rate_limit_window_seconds=2)])
async def test_pacing_keeps_a_burst_under_the_limit(hub: HubClient, emulator_state: EmulatorState) -> None:
    started = time.monotonic()
    for _ in range(45):
        await hub.list_members_page()
    elapsed = time.monotonic() - started
    statuses = [r.status for r in emulator_state.requests]
    assert 429 not in statuses
    assert len(statuses) == 46  # one exchange, 45 calls: no retries were needed
    assert elapsed >= 3.0  # 46 requests at 20 per 2 s window span at least three windows
