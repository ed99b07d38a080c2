"""The health check's forced token exchange cannot lock the org out: at most one a minute, never in the
way of requests that hold a valid JWT, and a failed one leaves that JWT in place."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import SecretStr

from hub.auth import FORCED_EXCHANGE_INTERVAL, TokenExchangeAuth
from hub.client import HubClient
from hub.emulator import DEMO, EmulatorServer, EmulatorState
from hub.errors import AuthenticationFailed, HubError, RateLimited

TOKEN = "/v2/auth/token"
MEMBERS = "/v2/orgs/acme/members"


def exchange_statuses(state: EmulatorState) -> list[int | None]:
    return [r.status for r in state.requests if r.path == TOKEN]


async def test_repeated_health_checks_exchange_at_most_once_a_minute(
    hub: HubClient, emulator_state: EmulatorState
) -> None:
    await hub.list_members_page()
    checks = [await hub.check_token() for _ in range(5)]
    # The lookup's own exchange, then one forced exchange for five health checks.
    assert exchange_statuses(emulator_state) == [200, 200]
    assert emulator_state.token_exchanges == 2
    assert [check.fresh for check in checks] == [True, False, False, False, False]
    assert all(0 < check.next_check_in <= FORCED_EXCHANGE_INTERVAL for check in checks[1:])


async def test_concurrent_health_checks_share_one_exchange(hub: HubClient, emulator_state: EmulatorState) -> None:
    checks = await asyncio.gather(*(hub.check_token() for _ in range(20)))
    assert exchange_statuses(emulator_state) == [200]
    assert sum(check.fresh for check in checks) == 1


async def test_a_failed_forced_exchange_keeps_the_valid_token(hub: HubClient, emulator_state: EmulatorState) -> None:
    await hub.list_members_page()
    emulator_state.fail_next(1, status=401, method="POST", path=TOKEN, detail="invalid identifier or secret")
    with pytest.raises(AuthenticationFailed):
        await hub.check_token()
    # Lookups go on with the JWT that still works: no new exchange, no refusal.
    assert len(await hub.list_members_page(page_size=2)) == 2
    assert exchange_statuses(emulator_state) == [200, 401]
    assert [r.status for r in emulator_state.requests if r.path == MEMBERS] == [200, 200]


async def test_within_the_minute_a_failed_check_is_reported_again_without_an_exchange(
    hub: HubClient, emulator_state: EmulatorState
) -> None:
    await hub.list_members_page()
    emulator_state.fail_next(1, status=401, method="POST", path=TOKEN)
    with pytest.raises(AuthenticationFailed):
        await hub.check_token()
    with pytest.raises(HubError) as again:
        await hub.check_token()
    assert "refused the organization access token" in again.value.message
    assert "checked 0 s ago" in again.value.message
    assert exchange_statuses(emulator_state) == [200, 401]


async def test_a_slow_forced_exchange_does_not_hold_lookups(hub: HubClient, emulator_state: EmulatorState) -> None:
    await hub.list_members_page()
    emulator_state.delay_next(1, 5.0, method="POST", path=TOKEN)
    check = asyncio.create_task(hub.check_token())
    await asyncio.sleep(0.2)
    assert len(await hub.list_members_page(page_size=1)) == 1
    assert not check.done()  # the lookup was answered while the exchange was still in flight
    assert (await check).fresh
    assert exchange_statuses(emulator_state) == [200, 200]


async def test_a_minute_later_the_health_check_exchanges_again(emulator: EmulatorServer) -> None:
    clock = [1000.0]
    auth = TokenExchangeAuth(DEMO.org, SecretStr(DEMO.oat), kind="oat", monotonic=lambda: clock[0])
    async with httpx.AsyncClient(base_url=emulator.base_url, auth=auth) as http:
        assert (await auth.exchange(http)).fresh
        clock[0] += FORCED_EXCHANGE_INTERVAL - 1
        assert not (await auth.exchange(http)).fresh
        clock[0] += 2
        assert (await auth.exchange(http)).fresh
    assert emulator.state.token_exchanges == 2


async def test_a_rate_limited_forced_exchange_holds_no_lookup(hub: HubClient, emulator_state: EmulatorState) -> None:
    await hub.list_members_page()
    emulator_state.rate_limit_next(1, retry_after=600, method="POST", path=TOKEN)
    with pytest.raises(RateLimited):
        await hub.check_token()
    # Docker Hub refused the exchange for ten minutes; the JWT it gave before still serves lookups, now.
    await asyncio.wait_for(hub.list_members_page(), timeout=30)
    assert exchange_statuses(emulator_state) == [200, 429]
