"""The emulator's audit log: an event for every change it applies, and changes made "in the web UI"."""

from __future__ import annotations

import httpx

from hub.emulator import DEMO, EmulatorState

from .conftest import exchange


async def test_every_org_change_is_logged_with_its_actor(
    client: httpx.AsyncClient, oat: dict[str, str], state: EmulatorState
) -> None:
    before = len(state.audit_events(DEMO.org))
    groups = f"/v2/orgs/{DEMO.org}/groups"
    assert (await client.post(groups, headers=oat, json={"name": "mobile"})).status_code == 201
    assert (await client.patch(f"{groups}/mobile", headers=oat, json={"name": "apps"})).status_code == 200
    assert (await client.post(f"{groups}/apps/members", headers=oat, json={"member": "umarkhan"})).status_code == 200
    assert (await client.delete(f"{groups}/apps/members/umarkhan", headers=oat)).status_code == 204
    assert (await client.delete(f"{groups}/apps", headers=oat)).status_code == 204
    members = f"/v2/orgs/{DEMO.org}/members"
    assert (await client.put(f"{members}/umarkhan", headers=oat, json={"role": "owner"})).status_code == 200
    assert (await client.delete(f"{members}/umarkhan", headers=oat)).status_code == 204
    invite = {"org": DEMO.org, "invitees": ["newperson@acme.example"]}
    assert (await client.post("/v2/invites/bulk", headers=oat, json=invite)).status_code == 202
    assert (await client.post("/v2/invites/bulk", headers=oat, json={**invite, "dry_run": True})).status_code == 202

    events = state.audit_events(DEMO.org)[before:]
    assert [(e["action"], e["name"]) for e in events] == [
        ("org.team.create", DEMO.org),
        ("org.team.update", DEMO.org),
        ("org.team.member.add", "umarkhan"),
        ("org.team.member.remove", "umarkhan"),
        ("org.team.delete", DEMO.org),
        ("org.member.role.change", DEMO.org),
        ("org.member.remove", DEMO.org),
        ("org.member.invite.send", DEMO.org),
    ]
    assert events[1]["data"] == {"team": "apps", "previous_name": "mobile"}
    assert events[2]["data"] == {"team": "apps"}
    assert events[5]["data"]["role"] == "owner"
    assert {e["actor"] for e in events} == {DEMO.org}


async def test_filters_paging_and_order(client: httpx.AsyncClient, oat: dict[str, str], state: EmulatorState) -> None:
    for team in ("backend", "frontend", "data"):
        state.web_ui_change(DEMO.org, "bobokafor", "team.member.add", team=team, username="umarkhan")
    logs = f"/v2/auditlogs/{DEMO.org}"
    by_name = (await client.get(logs, headers=oat, params={"name": "umarkhan"})).json()["logs"]
    assert [e["data"]["team"] for e in by_name] == ["data", "frontend", "backend"]  # newest first
    # The action with its group or without names the same events.
    short = (await client.get(logs, headers=oat, params={"action": "team.member.add", "actor": "bobokafor"})).json()
    full = (await client.get(logs, headers=oat, params={"action": "org.team.member.add", "actor": "bobokafor"})).json()
    assert short == full and len(short["logs"]) == 3
    everything = (await client.get(logs, headers=oat, params={"page_size": 100})).json()["logs"]
    pages = [
        (await client.get(logs, headers=oat, params={"page_size": 4, "page": page})).json()["logs"]
        for page in range(1, len(everything) // 4 + 3)
    ]
    assert [e for page in pages for e in page] == everything
    assert pages[-1] == []
    bad = await client.get(logs, headers=oat, params={"from": "yesterday"})
    assert bad.status_code == 400


async def test_web_ui_route_makes_the_change_under_its_actor(client: httpx.AsyncClient, state: EmulatorState) -> None:
    body = {"actor": "carolsmith", "action": "member.role.change", "username": "ivanpetrov", "role": "owner"}
    response = await client.post(f"/emulator/web-ui/{DEMO.org}", json=body)
    assert response.status_code == 200, response.text
    assert state.org(DEMO.org).members["ivanpetrov"].role == "owner"
    last = state.audit_events(DEMO.org)[-1]
    assert (last["action"], last["actor"], last["data"]["username"]) == (
        "org.member.role.change",
        "carolsmith",
        "ivanpetrov",
    )
    refused = await client.post(f"/emulator/web-ui/{DEMO.org}", json={"actor": "x", "action": "plan.upgrade"})
    assert refused.status_code == 400


async def test_owner_pat_reads_the_audit_log(client: httpx.AsyncClient, state: EmulatorState) -> None:
    state.add_pat("alicechen", "dckr_pat_alice")
    owner = await exchange(client, "alicechen", "dckr_pat_alice")
    assert (await client.get(f"/v2/auditlogs/{DEMO.org}", headers=owner)).status_code == 200


def test_web_ui_renames_a_team_keeping_its_id_and_members(state: EmulatorState) -> None:
    before = state.org(DEMO.org).groups["backend"]
    team_id, members = before.id, list(before.members)
    state.web_ui_change(DEMO.org, "bobokafor", "team.update", team="backend", name="server-side")
    org = state.org(DEMO.org)
    assert "backend" not in org.groups
    after = org.groups["server-side"]
    assert (after.id, list(after.members)) == (team_id, members)
    assert all("server-side" in org.members[username].groups for username in members)
    last = state.audit_events(DEMO.org)[-1]
    assert (last["action"], last["actor"], last["data"]) == (
        "org.team.update",
        "bobokafor",
        {"team": "server-side", "previous_name": "backend"},
    )
