"""Token exchange: once for many calls, again before expiry and after a 401, never per request."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import httpx
import pytest
from pydantic import SecretStr

from hub.auth import TokenExchangeAuth, refresh_time
from hub.client import HubClient
from hub.emulator import DEMO, EmulatorConfig, EmulatorServer, EmulatorState
from hub.errors import AuthenticationFailed, WrongTokenType, error_from_response
from tests.conftest import FAST_RETRIES, demo_connection


def _jwt(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part(claims)}.signature"


def exchanges(state: EmulatorState) -> int:
    return sum(1 for r in state.requests if r.path == "/v2/auth/token")


def test_refresh_time_keeps_a_minute_of_margin_on_the_spec_lifetime() -> None:
    assert refresh_time(_jwt({"iat": 1000, "exp": 1600}), now=1000) == 1540


def test_refresh_time_uses_a_tenth_of_a_short_lifetime() -> None:
    assert refresh_time(_jwt({"iat": 1000, "exp": 1100}), now=1000) == 1090


def test_refresh_time_without_exp_assumes_ten_minutes() -> None:
    assert refresh_time("not-a-jwt", now=5000) == 5000 + 600 - 60
    assert refresh_time(_jwt({"sub": "x"}), now=5000) == 5540


async def test_one_exchange_serves_a_hundred_concurrent_calls(hub: HubClient, emulator_state: EmulatorState) -> None:
    await asyncio.gather(*(hub.list_members_page(page_size=1) for _ in range(100)))
    assert exchanges(emulator_state) == 1
    assert emulator_state.token_exchanges == 1
    calls = [r for r in emulator_state.requests if r.path == "/v2/orgs/acme/members"]
    assert len(calls) == 100
    assert all(r.status == 200 for r in calls)


@pytest.mark.parametrize("emulator_config", [EmulatorConfig(token_ttl_seconds=1.0)])
async def test_token_is_exchanged_again_before_it_expires(hub: HubClient, emulator_state: EmulatorState) -> None:
    await hub.list_members_page()
    await hub.list_members_page()
    assert exchanges(emulator_state) == 1
    await asyncio.sleep(2.1)  # exp is whole seconds: past it whatever the rounding
    await hub.list_members_page()
    assert exchanges(emulator_state) == 2
    # Refreshed ahead of `exp`, so Docker Hub never had to refuse an expired token.
    assert not [r for r in emulator_state.requests if r.status == 401]


async def test_a_401_triggers_one_exchange_and_one_retry(hub: HubClient, emulator_state: EmulatorState) -> None:
    await hub.list_members_page()
    emulator_state.revoke_tokens()
    members = await hub.list_members_page(page_size=2)
    assert len(members) == 2
    statuses = [(r.path, r.status) for r in emulator_state.requests]
    assert statuses == [
        ("/v2/auth/token", 200),
        ("/v2/orgs/acme/members", 200),
        ("/v2/orgs/acme/members", 401),
        ("/v2/auth/token", 200),
        ("/v2/orgs/acme/members", 200),
    ]


async def test_a_bad_oat_is_reported_without_the_secret(emulator: EmulatorServer) -> None:
    secret = "dckr_oat_this-is-not-the-right-one"
    async with HubClient(demo_connection(emulator.base_url, oat=secret), retry_policy=FAST_RETRIES) as hub:
        with pytest.raises(AuthenticationFailed) as caught:
            await hub.list_members_page()
    assert "organization access token" in caught.value.message
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value)


async def test_a_pat_configured_as_the_oat_is_named_for_what_it_is(emulator: EmulatorServer) -> None:
    async with HubClient(demo_connection(emulator.base_url, oat=DEMO.pat), retry_policy=FAST_RETRIES) as hub:
        with pytest.raises(WrongTokenType) as caught:
            await hub.check_token()
    assert caught.value.message == ("this is a Personal Access Token; org endpoints need an Organization Access Token")


async def test_a_pat_token_on_an_org_endpoint_is_refused_with_the_wrong_token_type(
    emulator: EmulatorServer,
) -> None:
    auth = TokenExchangeAuth(DEMO.pat_username, SecretStr(DEMO.pat), kind="pat")
    async with httpx.AsyncClient(base_url=emulator.base_url, auth=auth) as http:
        response = await http.get("/v2/orgs/acme/members")
    assert response.status_code == 403
    error = error_from_response(response, now=time.time())
    assert isinstance(error, WrongTokenType)
    assert "Organization Access Token" in error.message


async def test_the_pat_connection_carries_repository_grants(
    hub_with_pat: HubClient, emulator_state: EmulatorState
) -> None:
    await hub_with_pat.grant_team_access("data", "api", "read")
    grant_calls = [r for r in emulator_state.requests if r.path.startswith("/v2/repositories/")]
    assert [r.token_kind for r in grant_calls] == ["pat"]
    org_calls = [r for r in emulator_state.requests if r.path.startswith("/v2/orgs/")]
    assert org_calls and all(r.token_kind == "oat" for r in org_calls)


async def test_health_check_exchange_bypasses_the_cache(hub: HubClient, emulator_state: EmulatorState) -> None:
    await hub.list_members_page()
    await hub.check_token()
    assert exchanges(emulator_state) == 2
