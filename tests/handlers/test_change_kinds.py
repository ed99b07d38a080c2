"""The change kinds against the emulator's demo org: plan (reads only), execute, refusals, re-checks.

Each change is planned, then executed with the plan's normalised parameters, as the approval
lifecycle does; the emulator's state is then read directly. "Behind its back" changes go through
the Hub client, as another admin (or the Docker Hub UI) would make them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from handlers.context import HandlerContext
from handlers.requests import kinds
from handlers.requests.approvals import ApprovalPolicy, approvals_required
from handlers.requests.kind import ChangeRefused, Outcome, Plan
from hub.client import HubClient
from hub.emulator import EmulatorState
from hub.errors import HubError
from tests.conftest import MakeContext

ORG = "acme"
OURS = (
    "team_create",
    "team_update",
    "team_delete",
    "team_add",
    "team_remove",
    "role",
    "member_remove",
    "invite",
    "invite_cancel",
    "grant",
    "revoke",
)


def writes(state: EmulatorState, kind: str) -> list[str]:
    """Requests that could change the org: anything but reads and the token exchange.

    An invite's plan also POSTs the bulk dry run; the emulator does not record bodies, so the
    invite tests check by its effect (no invite appears) that it stayed a dry run.
    """
    allowed = {"/v2/auth/token", "/v2/invites/bulk"} if kind == "invite" else {"/v2/auth/token"}
    return [
        f"{request.method} {request.path}"
        for request in state.requests
        if request.method != "GET" and request.path not in allowed
    ]


def destructive(planned: Plan) -> bool:
    """What the approval counts: the kind's own verdict on the planned parameters."""
    kind = next(kind for kind in kinds.ALL if isinstance(planned.params, kind.params_model))
    return kind.destructive(planned.params)


async def plan(ctx: HandlerContext, state: EmulatorState, kind: str, params: Mapping[str, Any]) -> Plan:
    """Plan, and check that planning sent nothing but reads."""
    state.clear_requests()
    result = await kinds.named(kind).plan(ctx, kinds.named(kind).load(params))
    assert writes(state, kind) == []
    return result


async def plan_and_execute(
    ctx: HandlerContext, state: EmulatorState, kind: str, params: Mapping[str, Any]
) -> tuple[Plan, Outcome]:
    planned = await plan(ctx, state, kind, params)
    return planned, await kinds.named(kind).execute(ctx, kinds.named(kind).load(planned.params))


async def refused(ctx: HandlerContext, state: EmulatorState, kind: str, params: Mapping[str, Any]) -> str:
    """The refusal's message; a refused plan sends no write either."""
    state.clear_requests()
    with pytest.raises(ChangeRefused) as caught:
        await kinds.named(kind).plan(ctx, kinds.named(kind).load(params))
    assert writes(state, kind) == []
    return caught.value.message


async def refused_on_execute(kind: str, ctx: HandlerContext, params: Mapping[str, Any]) -> str:
    with pytest.raises(ChangeRefused) as caught:
        await kinds.named(kind).execute(ctx, kinds.named(kind).load(params))
    return caught.value.message


def test_every_kind_is_registered() -> None:
    assert set(OURS) <= {kind.name for kind in kinds.ALL}
    for name in OURS:
        assert kinds.named(name).name == name


# -- teams ----------------------------------------------------------------------------------------


async def test_team_create(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    planned, outcome = await plan_and_execute(
        ctx, emulator_state, "team_create", {"name": "mobile", "description": "<!channel> iOS & Android"}
    )
    assert planned.summary == "Create team *mobile* in *acme*"
    assert not destructive(planned)
    assert planned.details == ["Description: &lt;!channel&gt; iOS &amp; Android"]
    group = emulator_state.org(ORG).groups["mobile"]
    assert group.description == "<!channel> iOS & Android"
    assert outcome.result == {"team": "mobile", "team_id": group.id}
    assert outcome.summary == "Created team *mobile* in *acme*"


async def test_team_create_refuses_a_taken_name_in_any_case(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    message = await refused(ctx, emulator_state, "team_create", {"name": "Backend", "description": ""})
    assert message == "There is already a team *backend* in *acme*."


async def test_team_create_rechecks(ctx: HandlerContext, emulator_state: EmulatorState, hub: HubClient) -> None:
    planned = await plan(ctx, emulator_state, "team_create", {"name": "mobile", "description": ""})
    await hub.create_group("MOBILE")
    assert "already a team *MOBILE*" in await refused_on_execute("team_create", ctx, planned.params)


async def test_team_update_renames_and_describes(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    params = {"name": "backend", "new_name": "services", "description": "APIs"}
    planned, outcome = await plan_and_execute(ctx, emulator_state, "team_update", params)
    assert planned.summary == "Rename team *backend* to *services* and change its description"
    assert planned.details == ["Description now: API and service developers", "Description after: APIs"]
    groups = emulator_state.org(ORG).groups
    assert "backend" not in groups and groups["services"].description == "APIs"
    assert "ivanpetrov" in groups["services"].members
    assert outcome.result["team"] == "services" and outcome.result["previous_name"] == "backend"


async def test_team_update_description_only(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    params = {"name": "data", "new_name": None, "description": ""}
    planned, _ = await plan_and_execute(ctx, emulator_state, "team_update", params)
    assert planned.summary == "Change the description of team *data*"
    assert emulator_state.org(ORG).groups["data"].description == ""


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"name": "data", "description": "Data engineering and analytics"}, "already has that name and description"),
        ({"name": "data", "new_name": "data"}, "already has that name and description"),
        ({"name": "data", "new_name": "FRONTEND"}, "There is already a team *frontend*"),
        ({"name": "owners", "new_name": "admins"}, "The *owners* team cannot be renamed"),
        ({"name": "nosuchteam", "new_name": "other"}, "There is no team *nosuchteam* in *acme*"),
        ({"name": "../x", "new_name": "other"}, "The request's team name '../x' is not valid"),
        ({"new_name": "other"}, "The request has no valid name"),
    ],
)
async def test_team_update_refusals(
    ctx: HandlerContext, emulator_state: EmulatorState, params: dict[str, Any], message: str
) -> None:
    assert message in await refused(ctx, emulator_state, "team_update", params)


async def test_team_update_may_change_only_the_case(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    await plan_and_execute(ctx, emulator_state, "team_update", {"name": "data", "new_name": "Data"})
    assert "Data" in emulator_state.org(ORG).groups


async def test_team_update_rechecks(ctx: HandlerContext, emulator_state: EmulatorState, hub: HubClient) -> None:
    planned = await plan(ctx, emulator_state, "team_update", {"name": "backend", "new_name": "services"})
    await hub.create_group("services")
    assert "already a team *services*" in await refused_on_execute("team_update", ctx, planned.params)
    assert "backend" in emulator_state.org(ORG).groups


async def test_team_delete(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    planned, outcome = await plan_and_execute(ctx, emulator_state, "team_delete", {"name": "backend"})
    assert destructive(planned)
    assert planned.summary == "Delete team *backend* from *acme*"
    assert planned.details[0].startswith("11 members lose what the team gave them: `beatrizsilva`, ")
    assert "`ivanpetrov`" in planned.details[0]
    org = emulator_state.org(ORG)
    assert "backend" not in org.groups
    assert ("api", "backend") not in org.grants
    assert "backend" not in org.members["ivanpetrov"].groups
    assert outcome.result["team"] == "backend"


async def test_team_delete_refusals(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    assert await refused(ctx, emulator_state, "team_delete", {"name": "mobile"}) == (
        "There is no team *mobile* in *acme*; `/hub teams` lists them."
    )
    assert "cannot be deleted" in await refused(ctx, emulator_state, "team_delete", {"name": "owners"})


async def test_team_delete_rechecks(ctx: HandlerContext, emulator_state: EmulatorState, hub: HubClient) -> None:
    planned = await plan(ctx, emulator_state, "team_delete", {"name": "data"})
    await hub.delete_group("data")
    assert "There is no team *data*" in await refused_on_execute("team_delete", ctx, planned.params)


async def test_team_add_by_username(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    planned, outcome = await plan_and_execute(
        ctx, emulator_state, "team_add", {"team": "backend", "member": "umarkhan"}
    )
    assert planned.summary == "Add *umarkhan* to team *backend*"
    assert not destructive(planned) and planned.details == []
    assert "umarkhan" in emulator_state.org(ORG).groups["backend"].members
    assert outcome.result == {
        "team": "backend",
        "team_id": emulator_state.org(ORG).groups["backend"].id,
        "items": [{"item": "umarkhan", "status": "done", "reason": ""}],
        "changed": ["umarkhan"],
    }


async def test_team_add_resolves_an_email(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    planned, _ = await plan_and_execute(
        ctx, emulator_state, "team_add", {"team": "data", "member": "UmarKhan@acme.example"}
    )
    assert planned.params.model_dump() == {"team": "data", "members": ["umarkhan"], "team_id": 1005}
    assert planned.details == ["`UmarKhan@acme.example` is the Docker ID *umarkhan*."]
    assert "data" in emulator_state.org(ORG).members["umarkhan"].groups


async def test_team_add_to_owners_is_destructive(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    planned = await plan(ctx, emulator_state, "team_add", {"team": "owners", "member": "ivanpetrov"})
    assert destructive(planned)
    assert "makes them an owner of *acme*" in planned.details[0]


async def test_team_add_of_a_non_member_suggests_an_invite(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    message = await refused(ctx, emulator_state, "team_add", {"team": "backend", "member": "newhire@acme.example"})
    assert "`newhire@acme.example` is not a member of *acme*" in message
    assert "`/hub invite newhire@acme.example --team backend`" in message


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"team": "backend", "member": "ivanpetrov"}, "*ivanpetrov* is already in team *backend*."),
        ({"team": "mobile", "member": "ivanpetrov"}, "There is no team *mobile*"),
        ({"team": "backend", "member": "ravisharma"}, "`/hub invite ravisharma --team backend`"),
        ({"team": "backend", "member": 42}, "The request has no valid members"),
    ],
)
async def test_team_add_refusals(
    ctx: HandlerContext, emulator_state: EmulatorState, params: dict[str, Any], message: str
) -> None:
    assert message in await refused(ctx, emulator_state, "team_add", params)


async def test_team_add_rechecks(ctx: HandlerContext, emulator_state: EmulatorState, hub: HubClient) -> None:
    planned = await plan(ctx, emulator_state, "team_add", {"team": "backend", "member": "umarkhan"})
    await hub.remove_member("umarkhan")
    message = await refused_on_execute("team_add", ctx, planned.params)
    assert "not a member of *acme*" in message and "/hub invite umarkhan" in message


async def test_team_remove(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    planned, outcome = await plan_and_execute(
        ctx, emulator_state, "team_remove", {"team": "data", "username": "ninagarcia"}
    )
    assert planned.summary == "Remove *ninagarcia* from team *data*"
    org = emulator_state.org(ORG)
    assert "ninagarcia" not in org.groups["data"].members and "ninagarcia" in org.members
    assert outcome.result["changed"] == ["ninagarcia"]


async def test_team_remove_refusals(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    message = await refused(ctx, emulator_state, "team_remove", {"team": "backend", "username": "umarkhan"})
    assert message == "`umarkhan` is not in team *backend*; nothing to remove."
    assert "There is no team" in await refused(
        ctx, emulator_state, "team_remove", {"team": "mobile", "username": "umarkhan"}
    )


async def test_team_remove_from_owners_keeps_an_owner(
    ctx: HandlerContext, emulator_state: EmulatorState, hub: HubClient
) -> None:
    planned = await plan(ctx, emulator_state, "team_remove", {"team": "owners", "username": "carolsmith"})
    assert "plain member" in planned.details[0]
    await hub.update_member_role("bobokafor", "member")
    await hub.update_member_role("carolsmith", "member")
    message = await refused(ctx, emulator_state, "team_remove", {"team": "owners", "username": "alicechen"})
    assert "only owner" in message


async def test_team_remove_rechecks(ctx: HandlerContext, emulator_state: EmulatorState, hub: HubClient) -> None:
    planned = await plan(ctx, emulator_state, "team_remove", {"team": "data", "username": "ninagarcia"})
    await hub.remove_group_member("data", "ninagarcia")
    assert "is not in team *data*" in await refused_on_execute("team_remove", ctx, planned.params)


# -- members --------------------------------------------------------------------------------------


async def test_role_to_editor(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    planned, outcome = await plan_and_execute(ctx, emulator_state, "role", {"username": "ivanpetrov", "role": "editor"})
    assert planned.summary == "Change *ivanpetrov*'s role in *acme* from member to editor"
    assert not destructive(planned)
    assert emulator_state.org(ORG).members["ivanpetrov"].role == "editor"
    assert outcome.result == {"username": "ivanpetrov", "role": "editor", "previous_role": "member"}
    assert outcome.summary == "*ivanpetrov* is now an editor of *acme*"


async def test_role_to_owner_is_destructive(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    planned, _ = await plan_and_execute(ctx, emulator_state, "role", {"username": "umarkhan", "role": "owner"})
    assert destructive(planned) and "Owners can change everything" in planned.details[0]
    assert emulator_state.org(ORG).members["umarkhan"].role == "owner"


async def test_role_refusals(ctx: HandlerContext, emulator_state: EmulatorState, hub: HubClient) -> None:
    message = await refused(ctx, emulator_state, "role", {"username": "alicechen", "role": "owner"})
    assert message == "*alicechen* is already an owner; nothing to change."
    message = await refused(ctx, emulator_state, "role", {"username": "ravisharma", "role": "editor"})
    assert message.startswith("`ravisharma` is not a member of *acme*")
    assert "role 'boss' is not valid" in await refused(
        ctx, emulator_state, "role", {"username": "ivanpetrov", "role": "boss"}
    )
    await hub.update_member_role("bobokafor", "member")
    await hub.update_member_role("carolsmith", "member")
    message = await refused(ctx, emulator_state, "role", {"username": "alicechen", "role": "editor"})
    assert "*alicechen* is the only owner of *acme*" in message


async def test_role_rechecks(ctx: HandlerContext, emulator_state: EmulatorState, hub: HubClient) -> None:
    planned = await plan(ctx, emulator_state, "role", {"username": "ivanpetrov", "role": "editor"})
    await hub.update_member_role("ivanpetrov", "editor")
    assert "already an editor" in await refused_on_execute("role", ctx, planned.params)


async def test_member_remove(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    planned, outcome = await plan_and_execute(ctx, emulator_state, "member_remove", {"username": "julianaruiz"})
    assert destructive(planned)
    assert planned.summary == "Remove *julianaruiz* from *acme* and from every team"
    assert planned.details == ["Role: member", "Teams: `backend`, `data`"]
    org = emulator_state.org(ORG)
    assert "julianaruiz" not in org.members and "julianaruiz" not in org.groups["data"].members
    assert outcome.result == {
        "username": "julianaruiz",
        "role": "member",
        "teams": ["backend", "data"],
        "email": "julianaruiz@acme.example",
    }


async def test_member_remove_refusals(ctx: HandlerContext, emulator_state: EmulatorState, hub: HubClient) -> None:
    assert "not a member of *acme*" in await refused(ctx, emulator_state, "member_remove", {"username": "nobody1"})
    await hub.update_member_role("bobokafor", "member")
    await hub.update_member_role("carolsmith", "member")
    assert "only owner" in await refused(ctx, emulator_state, "member_remove", {"username": "alicechen"})


async def test_member_remove_rechecks(ctx: HandlerContext, emulator_state: EmulatorState, hub: HubClient) -> None:
    planned = await plan(ctx, emulator_state, "member_remove", {"username": "umarkhan"})
    await hub.remove_member("umarkhan")
    assert "not a member" in await refused_on_execute("member_remove", ctx, planned.params)


# -- invites --------------------------------------------------------------------------------------


async def test_invite(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    before = len(emulator_state.org(ORG).invites)
    params = {"invitee": "ada@acme.example", "team": "backend", "role": None}
    planned = await plan(ctx, emulator_state, "invite", params)
    # The dry run is the only POST, and it invites nobody.
    assert [r.method for r in emulator_state.requests if r.method != "GET" and r.path != "/v2/auth/token"] == ["POST"]
    assert len(emulator_state.org(ORG).invites) == before
    assert planned.summary == "Invite `ada@acme.example` to *acme*, into team *backend*"
    assert planned.details == ["`ada@acme.example` would be invited"]
    assert not destructive(planned)
    outcome = await kinds.named("invite").execute(ctx, kinds.named("invite").load(planned.params))
    invite = next(i for i in emulator_state.org(ORG).invites.values() if i.invitee == "ada@acme.example")
    assert invite.team == "backend"
    assert outcome.result["items"] == [
        {"item": "ada@acme.example", "status": "done", "reason": "", "invite_id": invite.id, "hub_status": "invited"}
    ]
    assert outcome.result["changed"] == ["ada@acme.example"]


async def test_invite_as_owner_is_destructive(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    planned, _ = await plan_and_execute(
        ctx, emulator_state, "invite", {"invitee": "adalovelace", "team": None, "role": "owner"}
    )
    assert destructive(planned) and planned.summary.endswith(", as owner")
    assert any(i.invitee == "adalovelace" and i.role == "owner" for i in emulator_state.org(ORG).invites.values())


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"invitee": "ivanpetrov", "team": "data"},
            "`ivanpetrov` is already a member of *acme*; to put them in a team, use `/hub team add data ivanpetrov`",
        ),
        ({"invitee": "ivanpetrov@acme.example"}, "`/hub team add &lt;team&gt; ivanpetrov@acme.example`"),
        ({"invitee": "Ada.Lovelace"}, "`Ada.Lovelace` is not a valid email or Docker ID (says Docker Hub)"),
        ({"invitee": "ravisharma"}, "`ravisharma` already has a pending invite (invited by `bobokafor`"),
        ({"invitee": "ada@acme.example", "team": "mobile"}, "There is no team *mobile*"),
        ({"invitee": "a/b"}, "The request's username 'a/b' is not valid"),
    ],
)
async def test_invite_refusals(
    ctx: HandlerContext, emulator_state: EmulatorState, params: dict[str, Any], message: str
) -> None:
    before = dict(emulator_state.org(ORG).invites)
    assert message in await refused(ctx, emulator_state, "invite", params)
    assert emulator_state.org(ORG).invites == before


async def test_invite_rechecks(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    planned = await plan(ctx, emulator_state, "invite", {"invitee": "ada@acme.example"})
    emulator_state.add_member(ORG, "adalovelace", email="ada@acme.example")
    before = dict(emulator_state.org(ORG).invites)
    assert "already a member" in await refused_on_execute("invite", ctx, planned.params)
    assert emulator_state.org(ORG).invites == before


async def test_invite_cancel(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    invite_id = next(i.id for i in emulator_state.org(ORG).invites.values() if i.invitee == "newhire@acme.example")
    planned, outcome = await plan_and_execute(ctx, emulator_state, "invite_cancel", {"invitee": "NewHire@acme.example"})
    assert destructive(planned)
    assert planned.summary == "Cancel the pending invite for `newhire@acme.example` to *acme*"
    assert planned.params.invite_ids == [invite_id]
    assert "invited by `alicechen`" in planned.details[0] and "team `backend`" in planned.details[0]
    assert invite_id not in emulator_state.org(ORG).invites
    assert outcome.result == {"invitee": "NewHire@acme.example", "cancelled": [invite_id], "already_gone": []}


async def test_invite_cancel_by_id(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    invite_id = next(i.id for i in emulator_state.org(ORG).invites.values() if i.invitee == "ravisharma")
    planned, _ = await plan_and_execute(ctx, emulator_state, "invite_cancel", {"invitee": invite_id.upper()})
    assert "`ravisharma`" in planned.summary
    assert all(i.invitee != "ravisharma" for i in emulator_state.org(ORG).invites.values())


async def test_invite_cancel_refusals(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    message = await refused(ctx, emulator_state, "invite_cancel", {"invitee": "nobody@acme.example"})
    assert message == "There is no pending invite for `nobody@acme.example` in *acme*; `/hub invites` lists them."
    message = await refused(ctx, emulator_state, "invite_cancel", {"invitee": "ivanpetrov"})
    assert "no pending invite" in message


async def test_invite_cancel_rechecks(ctx: HandlerContext, emulator_state: EmulatorState, hub: HubClient) -> None:
    planned = await plan(ctx, emulator_state, "invite_cancel", {"invitee": "ravisharma"})
    await hub.cancel_invite(planned.params.invite_ids[0])
    assert "no longer pending" in await refused_on_execute("invite_cancel", ctx, planned.params)


async def test_invite_cancel_touches_only_the_approved_invites(
    ctx: HandlerContext, emulator_state: EmulatorState, hub: HubClient
) -> None:
    planned = await plan(ctx, emulator_state, "invite_cancel", {"invitee": "ravisharma"})
    approved = planned.params.invite_ids[0]
    await hub.cancel_invite(approved)
    newer = emulator_state.add_invite(ORG, "ravisharma", inviter="alicechen")
    assert "no longer pending" in await refused_on_execute("invite_cancel", ctx, planned.params)
    assert newer.id in emulator_state.org(ORG).invites


# -- repository access ------------------------------------------------------------------------------


async def test_grant_a_new_permission(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    params = {"team": "data", "namespace": "acme", "repository": "api", "permission": "read"}
    planned, outcome = await plan_and_execute(ctx, emulator_state, "grant", params)
    assert planned.summary == "Give team *data* read access to *acme/api*"
    assert planned.details == ["Everyone in *data* gets read: view and pull."]
    assert emulator_state.org(ORG).grants[("api", "data")] == "read"
    assert outcome.result["permission"] == "read" and outcome.result["previous"] is None


async def test_grant_changes_a_permission_over_the_pat(
    hub_with_pat: HubClient, emulator_state: EmulatorState, make_context: MakeContext
) -> None:
    ctx = make_context(hub=hub_with_pat)
    params = {"team": "backend", "namespace": "acme", "repository": "api", "permission": "admin"}
    planned, outcome = await plan_and_execute(ctx, emulator_state, "grant", params)
    assert planned.summary == "Change *backend* on *acme/api* from write to admin"
    assert emulator_state.org(ORG).grants[("api", "backend")] == "admin"
    assert outcome.result["previous"] == "write"
    repository_calls = [r for r in emulator_state.requests if r.path.startswith("/v2/repositories/")]
    assert repository_calls and all(r.token_kind == "pat" for r in repository_calls)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"team": "backend", "namespace": "acme", "repository": "api", "permission": "write"},
            "Team *backend* already has write access to *acme/api*.",
        ),
        (
            {"team": "data", "namespace": "acme", "repository": "nope", "permission": "read"},
            "no repository *acme/nope*",
        ),
        (
            {"team": "mobile", "namespace": "acme", "repository": "api", "permission": "read"},
            "There is no team *mobile*",
        ),
        (
            {"team": "data", "namespace": "globex", "repository": "reactor", "permission": "read"},
            "can only be given access to repositories in *acme*, not *globex/reactor*",
        ),
        ({"team": "data", "namespace": "acme", "repository": "api", "permission": "root"}, "permission 'root'"),
        ({"team": "data", "namespace": "acme", "repository": "API", "permission": "read"}, "repository 'API'"),
    ],
)
async def test_grant_refusals(
    ctx: HandlerContext, emulator_state: EmulatorState, params: dict[str, Any], message: str
) -> None:
    assert message in await refused(ctx, emulator_state, "grant", params)


async def test_grant_rechecks(ctx: HandlerContext, emulator_state: EmulatorState, hub: HubClient) -> None:
    params = {"team": "data", "namespace": "acme", "repository": "docs", "permission": "write"}
    planned = await plan(ctx, emulator_state, "grant", params)
    await hub.grant_team_access("data", "docs", "write")
    assert "already has write access" in await refused_on_execute("grant", ctx, planned.params)


async def test_revoke(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    params = {"team": "security", "namespace": "acme", "repository": "api"}
    planned, outcome = await plan_and_execute(ctx, emulator_state, "revoke", params)
    assert destructive(planned)
    assert planned.summary == "Remove team *security*'s read access to *acme/api*"
    grants = emulator_state.org(ORG).grants
    assert ("api", "security") not in grants and ("web", "security") in grants
    assert outcome.result["previous"] == "read"


async def test_revoke_refusals(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    message = await refused(ctx, emulator_state, "revoke", {"team": "data", "namespace": "acme", "repository": "api"})
    assert message == "Team *data* has no access to *acme/api*; nothing to revoke."


async def test_revoke_rechecks(ctx: HandlerContext, emulator_state: EmulatorState, hub: HubClient) -> None:
    planned = await plan(ctx, emulator_state, "revoke", {"team": "platform", "namespace": "acme", "repository": "api"})
    await hub.revoke_team_access("platform", "api")
    assert "has no access" in await refused_on_execute("revoke", ctx, planned.params)


# -- across kinds ---------------------------------------------------------------------------------


async def test_docker_hub_failures_propagate_as_hub_errors(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    planned = await plan(ctx, emulator_state, "team_create", {"name": "mobile", "description": ""})
    # Enough failures to outlast the retries on the execute's reads.
    emulator_state.fail_next(20, status=503)
    with pytest.raises(HubError):
        await kinds.named("team_create").execute(ctx, kinds.named("team_create").load(planned.params))


async def test_hostile_names_from_docker_hub_are_escaped(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    emulator_state.add_group(ORG, "mobile", "<!here> & <http://evil|click>")
    planned = await plan(ctx, emulator_state, "team_update", {"name": "mobile", "description": "fine"})
    assert planned.details[0] == "Description now: &lt;!here&gt; &amp; &lt;http://evil|click&gt;"


# -- how many approvers (HUBKEEPER_DESTRUCTIVE_APPROVALS=2) ----------------------------------------

TWO_FOR_DESTRUCTIVE = ApprovalPolicy(channel="C0HUBOPS01", destructive_approvals=2)
REVOKE_CHANGE = {"action": "revoke", "team": "security", "repository": "acme/api", "permission": "read"}
GRANT_CHANGE = {"action": "grant", "team": "data", "repository": "acme/api", "permission": "read"}


@pytest.mark.parametrize(
    ("kind", "params", "required"),
    [
        ("team_create", {"name": "mobile"}, 1),
        ("team_update", {"name": "backend", "new_name": "services"}, 1),
        ("team_delete", {"name": "mobile"}, 2),
        ("team_add", {"team": "backend", "member": "umarkhan"}, 1),
        ("team_add", {"team": "owners", "member": "umarkhan"}, 2),
        ("team_add", {"team": "Owners", "member": "umarkhan"}, 2),
        ("team_remove", {"team": "data", "username": "ninagarcia"}, 2),
        ("role", {"username": "ivanpetrov", "role": "editor"}, 1),
        ("role", {"username": "ivanpetrov", "role": "owner"}, 2),
        ("member_remove", {"username": "umarkhan"}, 2),
        ("invite", {"invitee": "ada@acme.example"}, 1),
        ("invite", {"invitee": "ada@acme.example", "role": "owner"}, 2),
        ("invite", {"invitee": "ada@acme.example", "team": "owners"}, 2),
        ("invite_cancel", {"invitee": "ravisharma"}, 2),
        ("grant", {"team": "data", "namespace": "acme", "repository": "api", "permission": "admin"}, 1),
        ("revoke", {"team": "data", "namespace": "acme", "repository": "api"}, 2),
        ("access_request", {"namespace": "acme", "repository": "api", "permission": "write"}, 1),
        ("offboard", {"who": "ivanpetrov"}, 2),
        ("policy_apply", {"text": "teams: {}\n", "changes": [GRANT_CHANGE]}, 1),
        ("policy_apply", {"text": "teams: {}\n", "changes": [GRANT_CHANGE, REVOKE_CHANGE]}, 2),
        (
            "policy_apply",
            {"text": "teams: {}\n", "changes": [{"action": "add_member", "team": "owners", "username": "x"}]},
            2,
        ),
        (
            "policy_apply",
            {"text": "teams: {}\n", "changes": [{"action": "remove_member", "team": "data", "username": "x"}]},
            2,
        ),
    ],
)
def test_every_removal_and_every_new_owner_needs_the_destructive_approvers(
    kind: str, params: dict[str, Any], required: int
) -> None:
    change = kinds.named(kind)
    assert approvals_required(change, change.load(params), TWO_FOR_DESTRUCTIVE) == required
