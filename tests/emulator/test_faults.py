from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from hub.emulator import DEMO, EmulatorState

from .conftest import exchange

MEMBERS = f"/v2/orgs/{DEMO.org}/members"


async def test_no_rate_limit_headers_without_a_limit(client: httpx.AsyncClient, oat: dict[str, str]) -> None:
    response = await client.get(MEMBERS, headers=oat)
    assert "X-RateLimit-Limit" not in response.headers


async def test_rate_limit_headers_and_429(client: httpx.AsyncClient, state: EmulatorState) -> None:
    # A window a loaded machine cannot outlast between two requests, so the count is the count.
    state.set_rate_limit(3, window_seconds=4.0)
    headers = await exchange(client, DEMO.org, DEMO.oat)  # the token route counts per client, not per token
    seen = []
    for _ in range(3):
        response = await client.get(MEMBERS, headers=headers)
        assert response.status_code == 200
        seen.append(int(response.headers["X-RateLimit-Remaining"]))
        assert response.headers["X-RateLimit-Limit"] == "3"
        reset = int(response.headers["X-RateLimit-Reset"])
        assert time.time() <= reset <= time.time() + 5
    assert seen == [2, 1, 0]

    limited = await client.get(MEMBERS, headers=headers)
    assert limited.status_code == 429
    assert limited.json() == {"detail": "Rate limit exceeded", "error": False}
    assert 1 <= int(limited.headers["Retry-After"]) <= 4
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    # Rejected requests count too: a bad path still uses up the window.
    assert (await client.get(f"{MEMBERS}/", headers=headers)).status_code == 429

    await asyncio.sleep(int(limited.headers["Retry-After"]) + 0.1)
    assert (await client.get(MEMBERS, headers=headers)).status_code == 200


async def test_rate_limit_is_per_token_subject(client: httpx.AsyncClient, state: EmulatorState) -> None:
    acme = await exchange(client, DEMO.org, DEMO.oat)
    globex = await exchange(client, DEMO.other_org, DEMO.other_oat)
    state.set_rate_limit(1)
    assert (await client.get(MEMBERS, headers=acme)).status_code == 200
    assert (await client.get(MEMBERS, headers=acme)).status_code == 429
    assert (await client.get(f"/v2/orgs/{DEMO.other_org}/members", headers=globex)).status_code == 200
    state.set_rate_limit(None)
    assert (await client.get(MEMBERS, headers=acme)).status_code == 200


async def test_fail_next(client: httpx.AsyncClient, state: EmulatorState, oat: dict[str, str]) -> None:
    state.fail_next(2, status=502)
    first = await client.get(MEMBERS, headers=oat)
    assert first.status_code == 502 and first.json()["message"] == "bad gateway"
    token = await client.post("/v2/auth/token", json={"identifier": DEMO.org, "secret": DEMO.oat})
    assert token.status_code == 502
    assert (await client.get(MEMBERS, headers=oat)).status_code == 200


async def test_rate_limit_next(client: httpx.AsyncClient, state: EmulatorState, oat: dict[str, str]) -> None:
    state.rate_limit_next(1, retry_after=7)
    response = await client.get(MEMBERS, headers=oat)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json() == {"detail": "Rate limit exceeded", "error": False}
    assert (await client.get(MEMBERS, headers=oat)).status_code == 200


async def test_drop_next(client: httpx.AsyncClient, state: EmulatorState, oat: dict[str, str]) -> None:
    state.drop_next(1)
    with pytest.raises(httpx.TransportError):
        await client.get(MEMBERS, headers=oat)
    assert state.requests[-1].status is None
    assert (await client.get(MEMBERS, headers=oat)).status_code == 200


async def test_latency_does_not_serialize_requests(client: httpx.AsyncClient, state: EmulatorState) -> None:
    headers = await exchange(client, DEMO.org, DEMO.oat)
    state.set_latency(500)
    started = time.monotonic()
    responses = await asyncio.gather(*(client.get(MEMBERS, headers=headers) for _ in range(20)))
    elapsed = time.monotonic() - started
    assert all(r.status_code == 200 for r in responses)
    # Served one after the other, 20 requests would take 10 s; the margin is for a loaded machine.
    assert 0.5 <= elapsed < 5.0
    state.set_latency(0)
    started = time.monotonic()
    for _ in range(5):
        await client.get(MEMBERS, headers=headers)
    assert time.monotonic() - started < 2.5  # with the latency still on, at least 2.5 s


async def test_a_targeted_fault_waits_for_its_request(client: httpx.AsyncClient, state: EmulatorState) -> None:
    headers = await exchange(client, DEMO.org, DEMO.oat)
    state.fail_next(1, 400, method="DELETE", path="/v2/orgs/acme/members/*", detail="cannot remove the last owner")
    assert (await client.get("/v2/orgs/acme/members", headers=headers)).status_code == 200
    refused = await client.delete("/v2/orgs/acme/members/ivanpetrov", headers=headers)
    assert refused.status_code == 400 and refused.json()["detail"] == "cannot remove the last owner"
    assert (await client.delete("/v2/orgs/acme/members/ivanpetrov", headers=headers)).status_code == 204
