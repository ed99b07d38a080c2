from __future__ import annotations

import httpx

from hub.emulator import DEMO, EmulatorState

GROUPS = f"/v2/orgs/{DEMO.org}/groups"


async def test_list_groups_with_filters(client: httpx.AsyncClient, oat: dict[str, str]) -> None:
    body = (await client.get(GROUPS, headers=oat)).json()
    assert body["count"] == 6
    assert [g["name"] for g in body["results"]] == ["backend", "data", "frontend", "owners", "platform", "security"]
    assert all(isinstance(g["id"], int) and g["uuid"] and g["description"] for g in body["results"])
    owners = next(g for g in body["results"] if g["name"] == "owners")
    assert owners["member_count"] == 3
    searched = (await client.get(GROUPS, headers=oat, params={"search": "END"})).json()
    assert [g["name"] for g in searched["results"]] == ["backend", "frontend"]
    erin = (await client.get(GROUPS, headers=oat, params={"username": "erinpatel"})).json()
    assert [g["name"] for g in erin["results"]] == ["backend", "platform"]
    paged = (await client.get(GROUPS, headers=oat, params={"page_size": 2, "page": 3})).json()
    assert paged["next"] is None and paged["previous"].endswith(f"{GROUPS}?page=2")
    assert (await client.get(GROUPS, headers=oat, params={"page_size": 2, "page": 4})).status_code == 404


async def test_group_crud(client: httpx.AsyncClient, oat: dict[str, str], state: EmulatorState) -> None:
    created = await client.post(GROUPS, headers=oat, json={"name": "mobile", "description": "Mobile apps"})
    assert created.status_code == 201
    group = created.json()
    assert group["name"] == "mobile" and group["member_count"] == 0 and isinstance(group["id"], int)

    duplicate = await client.post(GROUPS, headers=oat, json={"name": "Mobile"})
    assert duplicate.status_code == 409
    assert duplicate.json()["message"] == "conflict"
    for bad in ({"name": "x"}, {"name": "has space"}, {}, {"name": "ok-name", "description": 5}):
        assert (await client.post(GROUPS, headers=oat, json=bad)).status_code == 400, bad

    fetched = await client.get(f"{GROUPS}/mobile", headers=oat)
    assert fetched.json() == group
    patched = await client.patch(f"{GROUPS}/mobile", headers=oat, json={"description": "iOS and Android"})
    assert patched.status_code == 200
    assert patched.json()["description"] == "iOS and Android" and patched.json()["name"] == "mobile"
    renamed = await client.patch(f"{GROUPS}/mobile", headers=oat, json={"name": "apps"})
    assert renamed.json()["name"] == "apps" and renamed.json()["id"] == group["id"]
    assert (await client.get(f"{GROUPS}/mobile", headers=oat)).status_code == 404
    assert (await client.patch(f"{GROUPS}/apps", headers=oat, json={"name": "backend"})).status_code == 409
    put = await client.put(f"{GROUPS}/apps", headers=oat, json={"name": "apps2", "description": "d"})
    assert put.status_code == 200 and put.json()["name"] == "apps2"
    assert (await client.put(f"{GROUPS}/apps2", headers=oat, json={"description": "d"})).status_code == 400

    assert (await client.delete(f"{GROUPS}/apps2", headers=oat)).status_code == 204
    assert (await client.delete(f"{GROUPS}/apps2", headers=oat)).status_code == 404
    assert "apps2" not in state.org(DEMO.org).groups


async def test_rename_and_delete_follow_members_and_grants(
    client: httpx.AsyncClient, oat: dict[str, str], state: EmulatorState
) -> None:
    org = state.org(DEMO.org)
    assert (await client.patch(f"{GROUPS}/backend", headers=oat, json={"name": "services"})).status_code == 200
    assert "services" in org.members["ivanpetrov"].groups
    assert org.grants[("api", "services")] == "write"
    assert (await client.delete(f"{GROUPS}/services", headers=oat)).status_code == 204
    assert "services" not in org.members["ivanpetrov"].groups
    assert all(team != "services" for _, team in org.grants)
    assert (await client.delete(f"{GROUPS}/owners", headers=oat)).status_code == 400


async def test_group_members(client: httpx.AsyncClient, oat: dict[str, str], state: EmulatorState) -> None:
    members_url = f"{GROUPS}/security/members"
    listing = (await client.get(members_url, headers=oat)).json()
    names = [m["username"] for m in listing["results"]]
    assert names == sorted(state.org(DEMO.org).groups["security"].members)
    assert listing["count"] == len(names)
    assert set(listing["results"][0]) >= {"id", "username", "full_name", "email", "date_joined", "type"}
    assert "role" not in listing["results"][0]
    searched = (await client.get(members_url, headers=oat, params={"search": "zara"})).json()
    assert [m["username"] for m in searched["results"]] == ["zaraahmed"]

    added = await client.post(members_url, headers=oat, json={"member": "umarkhan"})
    assert added.status_code == 200
    assert "umarkhan" in state.org(DEMO.org).groups["security"].members
    assert "security" in state.org(DEMO.org).members["umarkhan"].groups
    again = await client.post(members_url, headers=oat, json={"member": "umarkhan"})
    assert again.status_code == 200  # idempotent

    outsider = await client.post(members_url, headers=oat, json={"member": "ravisharma"})
    assert outsider.status_code == 404
    assert outsider.json()["detail"] == "user ravisharma is not a member of the organization"
    assert (await client.post(members_url, headers=oat, json={})).status_code == 400
    assert (await client.post(f"{GROUPS}/nope/members", headers=oat, json={"member": "umarkhan"})).status_code == 404

    assert (await client.delete(f"{members_url}/umarkhan", headers=oat)).status_code == 204
    assert "umarkhan" not in state.org(DEMO.org).groups["security"].members
    assert (await client.delete(f"{members_url}/umarkhan", headers=oat)).status_code == 404


async def test_owners_team_membership_is_the_owner_role(
    client: httpx.AsyncClient, oat: dict[str, str], state: EmulatorState
) -> None:
    owners = f"{GROUPS}/owners/members"
    assert (await client.post(owners, headers=oat, json={"member": "kenjisato"})).status_code == 200
    assert state.org(DEMO.org).members["kenjisato"].role == "owner"
    assert (await client.delete(f"{owners}/kenjisato", headers=oat)).status_code == 204
    assert state.org(DEMO.org).members["kenjisato"].role == "member"
