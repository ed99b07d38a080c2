from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from hub.emulator import DEMO, EmulatorState
from hub.emulator.errors import HubError

from .conftest import exchange

INVITES = f"/v2/orgs/{DEMO.org}/invites"


async def test_list_invites_is_unpaginated(client: httpx.AsyncClient, oat: dict[str, str]) -> None:
    body = (await client.get(INVITES, headers=oat)).json()
    assert set(body) == {"data"}
    invites = body["data"]
    assert len(invites) == 4
    assert set(invites[0]) == {"id", "inviter_username", "invitee", "org", "team", "role", "created_at"}
    ages = [(datetime.now(UTC) - datetime.fromisoformat(i["created_at"].replace("Z", "+00:00"))).days for i in invites]
    assert sorted(ages) == [1, 10, 40, 100]
    assert len({i["inviter_username"] for i in invites}) >= 3
    assert any(i["team"] for i in invites) and any(not i["team"] for i in invites)


async def test_bulk_invite_statuses(client: httpx.AsyncClient, oat: dict[str, str], state: EmulatorState) -> None:
    response = await client.post(
        "/v2/invites/bulk",
        headers=oat,
        json={
            "org": DEMO.org,
            "team": "frontend",
            "role": "member",
            "invitees": ["newperson@acme.example", "kenjisato", "kenjisato@acme.example", "not an id!", "abc"],
        },
    )
    assert response.status_code == 202
    results = response.json()["invitees"]
    assert [(r["invitee"], r["status"]) for r in results] == [
        ("newperson@acme.example", "invited"),
        ("kenjisato", "existing_org_member"),
        ("kenjisato@acme.example", "existing_org_member"),
        ("not an id!", "invalid_email_or_docker_id"),
        ("abc", "invalid_email_or_docker_id"),  # Docker IDs are 4-30 characters
    ]
    invite = results[0]["invite"]
    assert invite["team"] == "frontend" and invite["org"] == DEMO.org and invite["inviter_username"] == DEMO.org
    assert invite["id"] in state.org(DEMO.org).invites

    # Inviting a pending invitee again returns the same invite and creates nothing.
    again = await client.post(
        "/v2/invites/bulk", headers=oat, json={"org": DEMO.org, "invitees": ["NewPerson@acme.example"]}
    )
    assert again.json()["invitees"][0]["invite"]["id"] == invite["id"]
    assert len(state.org(DEMO.org).invites) == 5


async def test_bulk_invite_dry_run_changes_nothing(
    client: httpx.AsyncClient, oat: dict[str, str], state: EmulatorState
) -> None:
    response = await client.post(
        "/v2/invites/bulk",
        headers=oat,
        json={"org": DEMO.org, "invitees": ["someone@acme.example", "alicechen"], "dry_run": True},
    )
    assert response.status_code == 202
    assert [r["status"] for r in response.json()["invitees"]] == ["invited", "existing_org_member"]
    assert "invite" not in response.json()["invitees"][0]
    assert len(state.org(DEMO.org).invites) == 4


async def test_bulk_invite_validation(client: httpx.AsyncClient, oat: dict[str, str], pat: dict[str, str]) -> None:
    bad_bodies = [
        {"invitees": ["a@b.example"]},
        {"org": DEMO.org},
        {"org": DEMO.org, "invitees": []},
        {"org": DEMO.org, "invitees": ["a@b.example"], "role": "boss"},
    ]
    for body in bad_bodies:
        assert (await client.post("/v2/invites/bulk", headers=oat, json=body)).status_code == 400, body
    unknown_team = {"org": DEMO.org, "team": "nope", "invitees": ["a@b.example"]}
    assert (await client.post("/v2/invites/bulk", headers=oat, json=unknown_team)).status_code == 404
    other_org = {"org": DEMO.other_org, "invitees": ["a@b.example"]}
    assert (await client.post("/v2/invites/bulk", headers=oat, json=other_org)).status_code == 403
    by_pat = await client.post("/v2/invites/bulk", headers=pat, json={"org": DEMO.org, "invitees": ["a@b.example"]})
    assert by_pat.status_code == 403
    assert by_pat.json()["detail"] == "token issued from personal access token is not allowed"


async def test_cancel_and_resend(client: httpx.AsyncClient, oat: dict[str, str], state: EmulatorState) -> None:
    invite_id = next(iter(state.org(DEMO.org).invites))
    assert (await client.patch(f"/v2/invites/{invite_id}/resend", headers=oat)).status_code == 204
    other = await exchange(client, DEMO.other_org, DEMO.other_oat)
    assert (await client.delete(f"/v2/invites/{invite_id}", headers=other)).status_code == 403
    assert (await client.patch(f"/v2/invites/{invite_id}/resend", headers=other)).status_code == 403
    assert (await client.delete(f"/v2/invites/{invite_id}", headers=oat)).status_code == 204
    assert invite_id not in state.org(DEMO.org).invites
    assert (await client.delete(f"/v2/invites/{invite_id}", headers=oat)).status_code == 404
    assert (await client.patch(f"/v2/invites/{invite_id}/resend", headers=oat)).status_code == 404


async def test_an_accepted_invite_makes_a_member_in_its_team(
    client: httpx.AsyncClient, oat: dict[str, str], state: EmulatorState
) -> None:
    # newhire@acme.example is invited to backend in the demo org.
    response = await client.post(
        f"/emulator/web-ui/{DEMO.org}",
        json={
            "actor": "newhire",
            "action": "member.invite.accept",
            "invitee": "NewHire@acme.example",
            "username": "newhire",
        },
    )
    assert response.status_code == 200, response.text
    invites = (await client.get(INVITES, headers=oat)).json()["data"]
    assert all(i["invitee"] != "newhire@acme.example" for i in invites)
    members = (await client.get(f"/v2/orgs/{DEMO.org}/members", headers=oat, params={"search": "newhire"})).json()
    (joined,) = [m for m in members["results"] if m["username"] == "newhire"]
    assert joined["email"] == "newhire@acme.example" and joined["role"] == "Member"
    assert "newhire" in state.org(DEMO.org).groups["backend"].members
    actions = [e["action"] for e in state.audit_events(DEMO.org)[-2:]]
    assert actions == ["org.member.add", "org.team.member.add"]


async def test_accepting_needs_a_pending_invite_and_a_free_docker_id(
    client: httpx.AsyncClient, state: EmulatorState
) -> None:
    missing = await client.post(
        f"/emulator/web-ui/{DEMO.org}",
        json={"actor": "x", "action": "member.invite.accept", "invitee": "nobody@acme.example", "username": "nobody"},
    )
    assert missing.status_code == 404
    with pytest.raises(HubError) as taken:
        state.accept_invite(DEMO.org, "ravisharma", username="kenjisato")
    assert taken.value.status == 409
    assert any(i.invitee == "ravisharma" for i in state.org(DEMO.org).invites.values())  # nothing changed
