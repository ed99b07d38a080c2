from __future__ import annotations

import asyncio
import base64
import json
import time

import httpx

from hub.emulator import DEMO, EmulatorConfig, EmulatorServer, EmulatorState, seed_demo

from .conftest import exchange

MEMBERS = f"/v2/orgs/{DEMO.org}/members"


def claims_of(headers: dict[str, str]) -> dict[str, object]:
    payload = headers["Authorization"].removeprefix("Bearer ").split(".")[1]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


async def test_oat_exchange_gives_a_jwt_for_the_org(client: httpx.AsyncClient, state: EmulatorState) -> None:
    headers = await exchange(client, DEMO.org, DEMO.oat)
    claims = claims_of(headers)
    assert claims["sub"] == DEMO.org
    assert claims["token_kind"] == "oat"
    assert claims["org"] == DEMO.org
    assert isinstance(claims["exp"], int) and isinstance(claims["iat"], int)
    assert 600 <= claims["exp"] - claims["iat"] <= 602
    assert state.token_exchanges == 1
    assert (await client.get(MEMBERS, headers=headers)).status_code == 200


async def test_pat_exchange_names_the_user(client: httpx.AsyncClient) -> None:
    claims = claims_of(await exchange(client, DEMO.pat_username, DEMO.pat))
    assert claims["token_kind"] == "pat"
    assert claims["username"] == DEMO.pat_username


async def test_bad_credentials_are_401_without_echoing_the_secret(
    client: httpx.AsyncClient, state: EmulatorState
) -> None:
    attempts = [
        {"identifier": DEMO.org, "secret": "dckr_oat_wrong"},
        {"identifier": DEMO.other_org, "secret": DEMO.oat},  # right secret, wrong org
        {"identifier": DEMO.org, "secret": DEMO.pat},  # PAT with the org as identifier
    ]
    for body in attempts:
        response = await client.post("/v2/auth/token", json=body)
        assert response.status_code == 401
        error = response.json()
        assert error["message"] == "unauthorized"
        assert set(error) == {"errinfo", "detail", "message"}
        assert body["secret"] not in response.text
    assert state.token_exchanges == 0


async def test_token_request_validation(client: httpx.AsyncClient) -> None:
    missing = await client.post("/v2/auth/token", json={"identifier": DEMO.org})
    assert missing.status_code == 400
    assert missing.json()["message"] == "bad request"
    garbled = await client.post("/v2/auth/token", content=b"{not json", headers={"Content-Type": "application/json"})
    assert garbled.status_code == 400


async def test_routes_need_a_valid_bearer_token(client: httpx.AsyncClient, oat: dict[str, str]) -> None:
    token = oat["Authorization"].removeprefix("Bearer ")
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{'A' * len(signature)}"
    cases = {
        "authentication credentials were not provided": {},
        "authorization header must be 'Bearer <token>'": {"Authorization": f"Token {token}"},
        "malformed token": {"Authorization": "Bearer not-a-jwt"},
        "invalid token signature": {"Authorization": f"Bearer {forged}"},
    }
    for detail, headers in cases.items():
        response = await client.get(MEMBERS, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"errinfo": {}, "detail": detail, "message": "unauthorized"}


async def test_expired_token_is_401() -> None:
    state = EmulatorState(EmulatorConfig(token_ttl_seconds=0.2))
    seed_demo(state)
    with EmulatorServer(state) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            headers = await exchange(client, DEMO.org, DEMO.oat)
            assert (await client.get(MEMBERS, headers=headers)).status_code == 200
            exp = claims_of(headers)["exp"]
            assert isinstance(exp, int)
            await asyncio.sleep(max(0.0, exp - time.time()) + 0.05)
            response = await client.get(MEMBERS, headers=headers)
            assert response.status_code == 401
            assert response.json()["detail"] == "token expired"
            # A fresh exchange works again.
            assert (await client.get(MEMBERS, headers=await exchange(client, DEMO.org, DEMO.oat))).is_success


async def test_revoke_invalidates_every_issued_token(
    client: httpx.AsyncClient, state: EmulatorState, oat: dict[str, str], pat: dict[str, str]
) -> None:
    state.revoke_tokens()
    for headers in (oat, pat):
        response = await client.get(f"/v2/namespaces/{DEMO.org}/repositories", headers=headers)
        assert response.status_code == 401
        assert response.json()["detail"] == "token revoked"
    fresh = await exchange(client, DEMO.org, DEMO.oat)
    assert (await client.get(MEMBERS, headers=fresh)).status_code == 200


async def test_pat_is_refused_on_every_org_route(client: httpx.AsyncClient, pat: dict[str, str]) -> None:
    expected = {
        "errinfo": {},
        "detail": "token issued from personal access token is not allowed",
        "message": "forbidden",
    }
    org = f"/v2/orgs/{DEMO.org}"
    calls = [
        ("GET", f"{org}/members", None),
        ("PUT", f"{org}/members/ivanpetrov", {"role": "editor"}),
        ("DELETE", f"{org}/members/ivanpetrov", None),
        ("GET", f"{org}/groups", None),
        ("POST", f"{org}/groups", {"name": "newteam"}),
        ("GET", f"{org}/groups/backend", None),
        ("PATCH", f"{org}/groups/backend", {"description": "x"}),
        ("DELETE", f"{org}/groups/backend", None),
        ("GET", f"{org}/groups/backend/members", None),
        ("POST", f"{org}/groups/backend/members", {"member": "umarkhan"}),
        ("DELETE", f"{org}/groups/backend/members/ivanpetrov", None),
        ("GET", f"{org}/invites", None),
        ("GET", "/v2/orgs/no-such-org/members", None),
    ]
    for method, path, body in calls:
        response = await client.request(method, path, headers=pat, json=body)
        assert response.status_code == 403, (method, path)
        assert response.json() == expected


async def test_oat_only_works_on_its_own_org(client: httpx.AsyncClient, oat: dict[str, str]) -> None:
    response = await client.get(f"/v2/orgs/{DEMO.other_org}/members", headers=oat)
    assert response.status_code == 403
    assert response.json()["message"] == "permission denied"
    repos = await client.get(f"/v2/namespaces/{DEMO.other_org}/repositories", headers=oat)
    assert repos.status_code == 403
    other = await exchange(client, DEMO.other_org, DEMO.other_oat)
    assert (await client.get(f"/v2/orgs/{DEMO.other_org}/members", headers=other)).status_code == 200


async def test_unknown_org_is_404(client: httpx.AsyncClient, oat: dict[str, str]) -> None:
    response = await client.get("/v2/orgs/nosuchorg/members", headers=oat)
    assert response.status_code == 404
    assert response.json()["message"] == "not found"
