from __future__ import annotations

from typing import Any

import httpx
import pytest

from hub.emulator import DEMO, EmulatorServer, EmulatorState

MEMBERS = f"/v2/orgs/{DEMO.org}/members"


async def get_members(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get(MEMBERS, headers=headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_default_page_is_25_and_links_carry_only_the_page(
    client: httpx.AsyncClient, oat: dict[str, str], server: EmulatorServer, state: EmulatorState
) -> None:
    total = len(state.org(DEMO.org).members)
    first = await get_members(client, oat)
    assert first["count"] == total == 40
    assert len(first["results"]) == 25
    assert first["previous"] is None
    # Docker Hub's quirks: http:// even behind TLS, and page_size/filters dropped.
    host = server.base_url.removeprefix("http://")
    assert first["next"] == f"http://{host}{MEMBERS}?page=2"

    second = await get_members(client, oat, page=2, page_size=10, search="a")
    assert second["next"] == f"http://{host}{MEMBERS}?page=3"
    assert second["previous"] == f"http://{host}{MEMBERS}?page=1"

    last = await get_members(client, oat, page=2)
    assert len(last["results"]) == 15
    assert last["next"] is None
    usernames = [m["username"] for m in first["results"] + last["results"]]
    assert usernames == sorted(state.org(DEMO.org).members)


async def test_page_size_limits_and_past_end(client: httpx.AsyncClient, oat: dict[str, str]) -> None:
    everyone = await get_members(client, oat, page_size=100)
    assert len(everyone["results"]) == 40 and everyone["next"] is None
    for params in ({"page_size": 101}, {"page_size": 0}, {"page": 0}, {"page": "two"}):
        response = await client.get(MEMBERS, headers=oat, params=params)
        assert response.status_code == 400, params
        assert response.json()["message"] == "bad request"
    past_end = await client.get(MEMBERS, headers=oat, params={"page": 3})
    assert past_end.status_code == 404
    assert past_end.json()["message"] == "not found"


async def test_search_is_case_insensitive_over_username_name_and_email(
    client: httpx.AsyncClient, oat: dict[str, str]
) -> None:
    by_name = await get_members(client, oat, search="PATEL")
    assert [m["username"] for m in by_name["results"]] == ["erinpatel"]
    by_email = await get_members(client, oat, search="gmail.example")
    assert [m["username"] for m in by_email["results"]] == ["contractorlin"]
    by_full_name = await get_members(client, oat, search="grace hop")
    assert [m["username"] for m in by_full_name["results"]] == ["gracehopper"]


async def test_role_filter_is_lowercase_and_role_field_capitalized(
    client: httpx.AsyncClient, oat: dict[str, str]
) -> None:
    owners = await get_members(client, oat, role="owner")
    assert {m["username"] for m in owners["results"]} == {"alicechen", "bobokafor", "carolsmith"}
    assert {m["role"] for m in owners["results"]} == {"Owner"}
    assert all("owners" in m["groups"] for m in owners["results"])
    editors = await get_members(client, oat, role="editor")
    assert editors["count"] == 5 and {m["role"] for m in editors["results"]} == {"Editor"}
    members = await get_members(client, oat, role="member")
    assert {m["role"] for m in members["results"]} == {"Member"}
    bad = await client.get(MEMBERS, headers=oat, params={"role": "Owner"})
    assert bad.status_code == 400


async def test_invitees_only_with_invites_or_type(client: httpx.AsyncClient, oat: dict[str, str]) -> None:
    plain = await get_members(client, oat, page_size=100)
    assert "Invitee" not in {m["role"] for m in plain["results"]}
    with_invites = await get_members(client, oat, page_size=100, invites="true")
    assert with_invites["count"] == 44
    invitees = await get_members(client, oat, type="invitee")
    assert invitees["count"] == 4
    assert {m["role"] for m in invitees["results"]} == {"Invitee"}
    assert {m["email"] or m["username"] for m in invitees["results"]} == {
        "newhire@acme.example",
        "ravisharma",
        "olga.petrova@acme.example",
        "stale.contractor@outsource.example",
    }
    assert (await get_members(client, oat, type="all"))["count"] == 44
    assert (await get_members(client, oat, type="member", invites="true"))["count"] == 40
    assert (await client.get(MEMBERS, headers=oat, params={"type": "guests"})).status_code == 400


async def test_insights_fields_only_when_enabled(client: httpx.AsyncClient, oat: dict[str, str]) -> None:
    acme = (await get_members(client, oat, page_size=100))["results"]
    assert all({"last_logged_in_at", "last_seen_at", "last_desktop_version"} <= set(m) for m in acme)
    never = [m["username"] for m in acme if m["last_seen_at"] is None]
    assert len(never) >= 3
    globex_headers = {
        "Authorization": "Bearer "
        + (await client.post("/v2/auth/token", json={"identifier": DEMO.other_org, "secret": DEMO.other_oat})).json()[
            "access_token"
        ]
    }
    response = await client.get(f"/v2/orgs/{DEMO.other_org}/members", headers=globex_headers)
    globex = response.json()["results"]
    assert globex and all("last_seen_at" not in m for m in globex)


async def test_update_role(client: httpx.AsyncClient, oat: dict[str, str], state: EmulatorState) -> None:
    response = await client.put(f"{MEMBERS}/ivanpetrov", headers=oat, json={"role": "owner"})
    assert response.status_code == 200
    assert response.json()["role"] == "Owner"
    assert "owners" in response.json()["groups"]
    assert state.org(DEMO.org).members["ivanpetrov"].role == "owner"
    assert "ivanpetrov" in state.org(DEMO.org).groups["owners"].members

    demoted = await client.put(f"{MEMBERS}/ivanpetrov", headers=oat, json={"role": "editor"})
    assert demoted.json()["role"] == "Editor"
    assert "ivanpetrov" not in state.org(DEMO.org).groups["owners"].members

    for body in ({"role": "Owner"}, {"role": "admin"}, {}):
        assert (await client.put(f"{MEMBERS}/ivanpetrov", headers=oat, json=body)).status_code == 400
    assert (await client.put(f"{MEMBERS}/nobody123", headers=oat, json={"role": "member"})).status_code == 404
    garbled = await client.put(f"{MEMBERS}/ivanpetrov", headers=oat, content=b"{")
    assert garbled.status_code == 400


async def test_remove_member_from_org_and_teams(
    client: httpx.AsyncClient, oat: dict[str, str], state: EmulatorState
) -> None:
    org = state.org(DEMO.org)
    assert "julianaruiz" in org.groups["data"].members
    response = await client.delete(f"{MEMBERS}/julianaruiz", headers=oat)
    assert response.status_code == 204
    assert "julianaruiz" not in org.members
    assert all("julianaruiz" not in g.members for g in org.groups.values())
    assert (await client.delete(f"{MEMBERS}/julianaruiz", headers=oat)).status_code == 404


@pytest.mark.parametrize("action", ["delete", "demote"])
async def test_last_owner_cannot_leave(
    client: httpx.AsyncClient, oat: dict[str, str], state: EmulatorState, action: str
) -> None:
    assert (await client.delete(f"{MEMBERS}/bobokafor", headers=oat)).status_code == 204
    assert (await client.delete(f"{MEMBERS}/carolsmith", headers=oat)).status_code == 204
    if action == "delete":
        response = await client.delete(f"{MEMBERS}/alicechen", headers=oat)
    else:
        response = await client.put(f"{MEMBERS}/alicechen", headers=oat, json={"role": "member"})
    assert response.status_code == 400
    assert "last owner" in response.json()["detail"]
    assert state.org(DEMO.org).members["alicechen"].role == "owner"
