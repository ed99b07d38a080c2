from __future__ import annotations

import httpx

from hub.emulator import DEMO, EmulatorState

from .conftest import exchange

REPOS = f"/v2/namespaces/{DEMO.org}/repositories"


def grants_url(repo: str) -> str:
    return f"/v2/repositories/{DEMO.org}/{repo}/groups"


async def group_id(client: httpx.AsyncClient, oat: dict[str, str], name: str) -> int:
    value: int = (await client.get(f"/v2/orgs/{DEMO.org}/groups/{name}", headers=oat)).json()["id"]
    return value


async def test_list_repositories(client: httpx.AsyncClient, oat: dict[str, str]) -> None:
    body = (await client.get(REPOS, headers=oat)).json()
    assert body["count"] == 5 and body["next"] is None
    assert [r["name"] for r in body["results"]] == ["api", "docs", "infra-tools", "sdk", "web"]
    assert {r["is_private"] for r in body["results"]} == {True, False}
    by_pulls = (await client.get(REPOS, headers=oat, params={"ordering": "-pull_count"})).json()
    assert [r["name"] for r in by_pulls["results"]][:2] == ["sdk", "docs"]
    named = (await client.get(REPOS, headers=oat, params={"name": "TOOL"})).json()
    assert [r["name"] for r in named["results"]] == ["infra-tools"]
    paged = (await client.get(REPOS, headers=oat, params={"page_size": 2, "page": 3})).json()
    assert len(paged["results"]) == 1 and paged["next"] is None

    past_end = await client.get(REPOS, headers=oat, params={"page_size": 2, "page": 4})
    assert past_end.status_code == 404
    bad_order = await client.get(REPOS, headers=oat, params={"ordering": "stars"})
    assert bad_order.status_code == 400
    assert bad_order.json()["text"] == "Invalid ordering value"
    assert "ordering" in bad_order.json()["fields"]
    assert (await client.get(REPOS, headers=oat, params={"page_size": 101})).status_code == 400


async def test_default_repository_page_is_10(client: httpx.AsyncClient, state: EmulatorState) -> None:
    for index in range(12):
        state.add_repository(DEMO.org, f"extra{index:02d}")
    headers = await exchange(client, DEMO.org, DEMO.oat)
    body = (await client.get(REPOS, headers=headers)).json()
    assert body["count"] == 17 and len(body["results"]) == 10 and body["next"].endswith("?page=2")


async def test_get_repository(client: httpx.AsyncClient, oat: dict[str, str]) -> None:
    info = (await client.get(f"{REPOS}/api", headers=oat)).json()
    assert info["name"] == "api" and info["namespace"] == DEMO.org and info["is_private"] is True
    assert info["permissions"] == {"read": True, "write": True, "admin": True}
    missing = await client.get(f"{REPOS}/nope", headers=oat)
    assert missing.status_code == 404 and missing.json()["message"] == "not found"


async def test_pat_access_depends_on_the_users_role(client: httpx.AsyncClient, pat: dict[str, str]) -> None:
    assert (await client.get(REPOS, headers=pat)).status_code == 200
    member = await exchange(client, DEMO.member_pat_username, DEMO.member_pat)
    refused = await client.get(REPOS, headers=member)
    assert refused.status_code == 403 and refused.json()["message"] == "permission denied"


async def test_team_grants(
    client: httpx.AsyncClient, oat: dict[str, str], pat: dict[str, str], state: EmulatorState
) -> None:
    data_id = await group_id(client, oat, "data")
    url = grants_url("web")
    created = await client.post(url, headers=pat, json={"group_id": data_id, "permission": "read"})
    assert created.status_code == 200
    assert created.json() == {"group_name": "data", "permission": "read", "group_id": data_id}
    updated = await client.post(url, headers=oat, json={"group_id": data_id, "permission": "write"})
    assert updated.json()["permission"] == "write"
    assert state.org(DEMO.org).grants[("web", "data")] == "write"

    fetched = await client.get(f"{url}/{data_id}", headers=oat)
    assert fetched.json() == {"group_id": data_id, "group_name": "data", "permission": "write"}
    patched = await client.patch(f"{url}/{data_id}", headers=oat, json={"permission": "admin"})
    assert patched.json()["permission"] == "admin"
    assert (await client.delete(f"{url}/{data_id}", headers=pat)).status_code == 204
    assert ("web", "data") not in state.org(DEMO.org).grants
    assert (await client.get(f"{url}/{data_id}", headers=oat)).status_code == 404
    assert (await client.delete(f"{url}/{data_id}", headers=oat)).status_code == 404


async def test_team_grant_errors(client: httpx.AsyncClient, oat: dict[str, str]) -> None:
    data_id = await group_id(client, oat, "data")
    url = grants_url("web")
    for body in (
        {"group_id": data_id, "permission": "owner"},
        {"group_id": str(data_id), "permission": "read"},
        {"group_id": True, "permission": "read"},
        {"permission": "read"},
    ):
        assert (await client.post(url, headers=oat, json=body)).status_code == 400, body
    assert (await client.post(url, headers=oat, json={"group_id": 999999, "permission": "read"})).status_code == 404
    missing_repo = await client.post(grants_url("nope"), headers=oat, json={"group_id": data_id, "permission": "read"})
    assert missing_repo.status_code == 404
    member = await exchange(client, DEMO.member_pat_username, DEMO.member_pat)
    refused = await client.post(url, headers=member, json={"group_id": data_id, "permission": "read"})
    assert refused.status_code == 403
    slashed = await client.post(f"{url}/", headers=oat, json={"group_id": data_id, "permission": "read"})
    assert slashed.status_code == 404 and slashed.headers["content-type"].startswith("text/html")
