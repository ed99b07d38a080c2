"""Each client method against the emulator's demo org, and the errors a person would see."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from hub.client import HubClient, HubConnection
from hub.emulator import DEMO, EmulatorServer, EmulatorState
from hub.errors import BadRequest, Conflict, NotAnOrgMember, NotFound, PermissionDenied, UnexpectedResponse
from hub.models import Permission, Role
from tests.conftest import FAST_RETRIES


async def test_members_with_filters(hub: HubClient) -> None:
    members = await hub.list_members()
    assert len(members) == 40
    owners = await hub.list_members(role="owner")
    assert {m.username for m in owners} == {"alicechen", "bobokafor", "carolsmith"}
    assert all(m.role == "Owner" and m.role_key == "owner" for m in owners)
    invitees = await hub.list_members(type="invitee")
    assert invitees and all(m.is_invitee for m in invitees)
    with_invites = await hub.list_members(invites=True)
    assert len(with_invites) == len(members) + len(invitees)


async def test_insights_fields_distinguish_unknown_from_never(hub: HubClient, emulator: EmulatorServer) -> None:
    samuel = await hub.get_member("samuelosei")  # never logged in, Insights on
    assert samuel.has_insights and samuel.last_logged_in_at is None
    alice = await hub.get_member("alicechen")
    assert alice.last_seen_at is not None
    connection = HubConnection(org=DEMO.other_org, oat=SecretStr(DEMO.other_oat), base_url=emulator.base_url)
    async with HubClient(connection, retry_policy=FAST_RETRIES) as globex:
        member = (await globex.list_members())[0]
    assert not member.has_insights  # Insights off: activity unknown, not "never"


async def test_member_by_username_or_email(hub: HubClient) -> None:
    by_name = await hub.get_member("ErinPatel")
    assert by_name.username == "erinpatel"
    assert by_name.email is not None
    by_email = await hub.get_member(by_name.email.upper())
    assert by_email.username == "erinpatel"
    assert await hub.find_member("erin") is None  # a search hit is not an exact match
    with pytest.raises(NotAnOrgMember, match="invite them first"):
        await hub.get_member("nobody@acme.example")


async def test_update_role_sends_lowercase_and_reads_capitalized(hub: HubClient, emulator_state: EmulatorState) -> None:
    updated = await hub.update_member_role("ivanpetrov", Role.EDITOR)
    assert updated.role == "Editor"
    assert emulator_state.org("acme").members["ivanpetrov"].role == "editor"
    updated = await hub.update_member_role("ivanpetrov", "MEMBER")
    assert updated.role_key == "member"
    with pytest.raises(NotFound, match="'ghostuser' is not a member of 'acme'"):
        await hub.update_member_role("ghostuser", "member")


async def test_remove_member(hub: HubClient, emulator_state: EmulatorState) -> None:
    await hub.remove_member("weizhang")
    assert "weizhang" not in emulator_state.org("acme").members
    assert await hub.find_member("weizhang") is None
    with pytest.raises(NotFound):
        await hub.remove_member("weizhang")


async def test_team_lifecycle(hub: HubClient) -> None:
    created = await hub.create_group("mobile", "iOS and Android")
    assert created.name == "mobile" and created.id > 0
    with pytest.raises(Conflict):
        await hub.create_group("mobile")
    renamed = await hub.update_group("mobile", new_name="apps")
    assert renamed.name == "apps" and renamed.description == "iOS and Android"
    described = await hub.update_group("apps", description="Mobile apps")
    assert described.description == "Mobile apps"
    assert (await hub.get_group("apps")).id == created.id
    await hub.delete_group("apps")
    with pytest.raises(NotFound, match="team 'apps' not found in 'acme'"):
        await hub.get_group("apps")


async def test_list_teams(hub: HubClient) -> None:
    teams = await hub.list_groups()
    assert {t.name for t in teams} == {"owners", "backend", "frontend", "platform", "data", "security"}
    mine = await hub.list_groups(username="erinpatel")
    assert {t.name for t in mine} == {"platform", "backend"}


async def test_team_membership(hub: HubClient, emulator_state: EmulatorState) -> None:
    await hub.add_group_member("data", "umarkhan")
    assert "umarkhan" in {m.username for m in await hub.list_group_members("data")}
    await hub.remove_group_member("data", "umarkhan")
    assert "umarkhan" not in {m.username for m in await hub.list_group_members("data")}
    with pytest.raises(NotFound):
        await hub.remove_group_member("data", "umarkhan")


async def test_adding_a_non_member_to_a_team_says_to_invite(hub: HubClient, emulator_state: EmulatorState) -> None:
    with pytest.raises(NotAnOrgMember) as caught:
        await hub.add_group_member("backend", "ravisharma")  # only invited, not a member
    assert "invite them first" in caught.value.message
    assert not [r for r in emulator_state.requests if r.method == "POST" and "groups" in r.path]


async def test_without_the_precheck_docker_hubs_refusal_is_still_explained(hub: HubClient) -> None:
    with pytest.raises(NotAnOrgMember):
        await hub.add_group_member("backend", "ravisharma", check_membership=False)
    with pytest.raises(NotFound, match="team 'nosuchteam'"):
        await hub.add_group_member("nosuchteam", "ivanpetrov", check_membership=False)


async def test_invites(hub: HubClient, emulator_state: EmulatorState) -> None:
    invites = await hub.list_invites()
    assert len(invites) == 4
    assert {i.invitee for i in invites} >= {"newhire@acme.example", "ravisharma"}
    preview = await hub.bulk_invite(["new.person@acme.example", "alicechen"], team="backend", dry_run=True)
    statuses = {r.invitee: r.status for r in preview}
    assert statuses["new.person@acme.example"] == "invited"
    assert statuses["alicechen"] == "existing_org_member"
    assert len(await hub.list_invites()) == 4  # a dry run changes nothing
    done = await hub.bulk_invite(["new.person@acme.example"], team="backend", role="member")
    assert done[0].status == "invited" and done[0].invite is not None
    assert len(await hub.list_invites()) == 5
    await hub.resend_invite(done[0].invite.id)
    await hub.cancel_invite(done[0].invite.id)
    assert len(await hub.list_invites()) == 4
    with pytest.raises(NotFound, match="invite"):
        await hub.cancel_invite(done[0].invite.id)


async def test_repositories(hub: HubClient) -> None:
    repositories = await hub.list_repositories()
    assert {r.name for r in repositories} == {"api", "web", "infra-tools", "docs", "sdk"}
    api = await hub.get_repository("api")
    assert api.is_private
    with pytest.raises(NotFound, match="repository 'acme/nope' not found"):
        await hub.get_repository("nope")


async def test_team_access_grant_read_change_revoke(hub: HubClient) -> None:
    assert await hub.get_team_access("data", "api") is None
    granted = await hub.grant_team_access("data", "api", Permission.READ)
    assert (granted.group_name, granted.permission) == ("data", "read")
    team = await hub.get_group("data")
    assert granted.group_id == team.id
    await hub.grant_team_access(team, "api", "write")  # an OrgGroup saves the id lookup
    current = await hub.get_team_access(team, "api")
    assert current is not None and current.permission == "write"
    assert await hub.revoke_team_access(team, "api") is True
    assert await hub.get_team_access(team, "api") is None
    assert await hub.revoke_team_access(team, "api") is False


async def test_a_member_pat_cannot_grant(emulator: EmulatorServer) -> None:
    connection = HubConnection(
        org=DEMO.org,
        oat=SecretStr(DEMO.oat),
        base_url=emulator.base_url,
        pat_username=DEMO.member_pat_username,
        pat=SecretStr(DEMO.member_pat),
    )
    async with HubClient(connection, retry_policy=FAST_RETRIES) as hub:
        with pytest.raises(PermissionDenied):
            await hub.grant_team_access("data", "api", "read")


async def test_removing_the_last_owner_is_refused(hub: HubClient) -> None:
    await hub.remove_member("bobokafor")
    await hub.remove_member("carolsmith")
    with pytest.raises(BadRequest):
        await hub.remove_member("alicechen")


async def test_a_wrong_base_url_is_named_as_such(emulator: EmulatorServer) -> None:
    connection = HubConnection(org=DEMO.org, oat=SecretStr(DEMO.oat), base_url=emulator.base_url + "/api")
    async with HubClient(connection, retry_policy=FAST_RETRIES) as hub:
        with pytest.raises(UnexpectedResponse, match="wrong path or base URL"):
            await hub.list_members()
