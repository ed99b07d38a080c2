"""Offboarding against the emulator's `acme` org: real HTTP, real org state checked before and after."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from handlers.context import HandlerContext
from handlers.requests import kinds
from handlers.requests.kind import ChangeRefused, PartlyApplied
from hub.client import HubClient
from hub.emulator import EmulatorState
from tests.conftest import FAST_RETRIES, MakeContext

ORG = "acme"
APPROVER = "U0ALICE001"
OFFBOARD = kinds.named("offboard")


MakeCtx = Callable[..., HandlerContext]


@pytest.fixture
def make_ctx(make_context: MakeContext) -> MakeCtx:
    def make(hub: HubClient, actor: str = "U0REQUEST1") -> HandlerContext:
        return make_context(actor, hub=hub)

    return make


def snapshot(state: EmulatorState) -> dict[str, Any]:
    org = state.org(ORG)
    return {
        "grants": dict(org.grants),
        "teams": {name: list(group.members) for name, group in org.groups.items()},
        "members": {name: m.role for name, m in org.members.items()},
        "invites": {i.id: i.invitee for i in org.invites.values()},
    }


def invite_id(state: EmulatorState, invitee: str) -> str:
    return next(i.id for i in state.org(ORG).invites.values() if i.invitee == invitee)


def test_registered_at_import() -> None:
    assert kinds.named("offboard") is OFFBOARD


async def test_offboard_a_member_with_invites(hub: HubClient, emulator_state: EmulatorState, make_ctx: MakeCtx) -> None:
    # A second invite sent to ivan's username (say, for another team) is theirs too.
    emulator_state.add_invite(ORG, "ivanpetrov", inviter="alicechen", team="data")
    before = snapshot(emulator_state)
    ctx = make_ctx(hub)
    plan = await OFFBOARD.plan(ctx, OFFBOARD.load({"who": "IvanPetrov@acme.example"}))
    assert OFFBOARD.destructive(plan.params)
    assert plan.params.username == "ivanpetrov"
    assert plan.params.teams == ["backend"]
    assert plan.params.invite_ids == [invite_id(emulator_state, "ivanpetrov")]
    assert "remove *ivanpetrov* from the org (and so from 1 team)" in plan.summary
    assert "cancel 1 pending invite" in plan.summary
    assert plan.details[0].startswith("Org member *ivanpetrov* (`ivanpetrov@acme.example`): role *member*")
    assert "teams: *backend*" in plan.details[0]
    assert plan.details[1].startswith("Pending invite for `ivanpetrov` (team *data*, invited by *alicechen*")
    assert snapshot(emulator_state) == before  # planning only reads

    outcome = await OFFBOARD.execute(make_ctx(hub, APPROVER), OFFBOARD.load(plan.params))
    after = snapshot(emulator_state)
    expected = {
        "grants": before["grants"],
        "teams": {name: [m for m in members if m != "ivanpetrov"] for name, members in before["teams"].items()},
        "members": {name: role for name, role in before["members"].items() if name != "ivanpetrov"},
        "invites": {i: who for i, who in before["invites"].items() if who != "ivanpetrov"},
    }
    assert after == expected
    assert "removed *ivanpetrov* from the org (and so from *backend*)" in outcome.summary
    assert "cancelled the invite for `ivanpetrov`" in outcome.summary
    assert outcome.result["removed"] == "ivanpetrov"
    assert outcome.result["cancelled"] == plan.params.invite_ids

    # Run again (a Retry after success): nothing left, and it says so.
    again = await OFFBOARD.execute(make_ctx(hub, APPROVER), OFFBOARD.load(plan.params))
    assert "no longer an org member" in again.summary
    assert snapshot(emulator_state) == after


async def test_offboard_by_username_cancels_invites_to_their_email(
    hub: HubClient, emulator_state: EmulatorState, make_ctx: MakeCtx
) -> None:
    emulator_state.add_invite(ORG, "kenjisato@acme.example", inviter="alicechen")
    plan = await OFFBOARD.plan(make_ctx(hub), OFFBOARD.load({"who": "kenjisato"}))
    assert plan.params.invite_ids == [invite_id(emulator_state, "kenjisato@acme.example")]
    await OFFBOARD.execute(make_ctx(hub, APPROVER), OFFBOARD.load(plan.params))
    org = emulator_state.org(ORG)
    assert "kenjisato" not in org.members
    assert all(i.invitee != "kenjisato@acme.example" for i in org.invites.values())


@pytest.mark.parametrize("who", ["newhire@acme.example", "RaviSharma"])
async def test_offboard_someone_with_only_an_invite(
    hub: HubClient, emulator_state: EmulatorState, who: str, make_ctx: MakeCtx
) -> None:
    before = snapshot(emulator_state)
    plan = await OFFBOARD.plan(make_ctx(hub), OFFBOARD.load({"who": who}))
    assert plan.params.username is None
    assert len(plan.params.invite_ids) == 1
    assert "remove" not in plan.summary and "cancel 1 pending invite" in plan.summary
    assert plan.details[0].startswith("No org member matches")
    outcome = await OFFBOARD.execute(make_ctx(hub, APPROVER), OFFBOARD.load(plan.params))
    after = snapshot(emulator_state)
    assert after["members"] == before["members"] and after["teams"] == before["teams"]
    assert after["invites"] == {i: w for i, w in before["invites"].items() if i not in plan.params.invite_ids}
    assert outcome.result["cancelled"] == plan.params.invite_ids
    assert "cancelled the invite" in outcome.summary


async def test_offboard_nobody(hub: HubClient, emulator_state: EmulatorState, make_ctx: MakeCtx) -> None:
    for who in ("ghost@acme.example", "ghostuser"):
        with pytest.raises(ChangeRefused, match="Nobody in \\*acme\\* matches"):
            await OFFBOARD.plan(make_ctx(hub), OFFBOARD.load({"who": who}))
    for bad in ("", "a/b", "  "):
        with pytest.raises(ChangeRefused):
            await OFFBOARD.plan(make_ctx(hub), OFFBOARD.load({"who": bad}))


async def test_the_last_owner_is_refused(hub: HubClient, emulator_state: EmulatorState, make_ctx: MakeCtx) -> None:
    await hub.update_member_role("bobokafor", "member")
    await hub.update_member_role("carolsmith", "editor")
    before = snapshot(emulator_state)
    with pytest.raises(ChangeRefused, match="last owner of \\*acme\\*"):
        await OFFBOARD.plan(make_ctx(hub), OFFBOARD.load({"who": "alicechen"}))
    # An approval given while there were other owners is re-checked at execute time.
    params = {"who": "alicechen", "username": "alicechen", "teams": ["owners", "platform"], "invite_ids": []}
    with pytest.raises(ChangeRefused, match="Nothing was changed"):
        await OFFBOARD.execute(make_ctx(hub, APPROVER), OFFBOARD.load(params))
    assert snapshot(emulator_state) == before


async def test_an_owner_among_several_can_go(hub: HubClient, emulator_state: EmulatorState, make_ctx: MakeCtx) -> None:
    plan = await OFFBOARD.plan(make_ctx(hub), OFFBOARD.load({"who": "carolsmith"}))
    assert "role *owner*" in plan.details[0]
    await OFFBOARD.execute(make_ctx(hub, APPROVER), OFFBOARD.load(plan.params))
    assert "carolsmith" not in emulator_state.org(ORG).members


async def test_the_bots_own_account_is_flagged(hub_with_pat: HubClient, make_ctx: MakeCtx) -> None:
    plan = await OFFBOARD.plan(make_ctx(hub_with_pat), OFFBOARD.load({"who": "erinpatel"}))
    assert any("hubkeeper's own PAT" in line for line in plan.details)


async def test_an_email_that_changed_hands_is_refused(
    hub: HubClient, emulator_state: EmulatorState, make_ctx: MakeCtx
) -> None:
    plan = await OFFBOARD.plan(make_ctx(hub), OFFBOARD.load({"who": "newhire@acme.example"}))
    # The invite was accepted (by someone) before the approval: the approval covered an invite, not an account.
    emulator_state.add_member(ORG, "newhire", email="newhire@acme.example")
    before = snapshot(emulator_state)
    with pytest.raises(ChangeRefused, match="now org member \\*newhire\\*"):
        await OFFBOARD.execute(make_ctx(hub, APPROVER), OFFBOARD.load(plan.params))
    assert snapshot(emulator_state) == before


async def test_a_failure_part_way_reports_what_was_and_was_not_done(
    hub: HubClient, emulator_state: EmulatorState, make_ctx: MakeCtx
) -> None:
    emulator_state.add_invite(ORG, "ivanpetrov", inviter="alicechen", team="data")
    plan = await OFFBOARD.plan(make_ctx(hub), OFFBOARD.load({"who": "ivanpetrov"}))
    # Docker Hub refuses the removal (as it does for the last owner in a race with a role change).
    emulator_state.fail_next(
        1,
        400,
        method="DELETE",
        path="/v2/orgs/acme/members/*",
        detail="cannot remove the last owner of the organization",
    )
    with pytest.raises(PartlyApplied) as refused:
        await OFFBOARD.execute(make_ctx(hub, APPROVER), OFFBOARD.load(plan.params))
    message = refused.value.message
    assert "Done: cancelled the invite for `ivanpetrov`" in message
    assert "Not done: removing *ivanpetrov* from the org: Docker Hub refused" in message
    assert "last owner" in message
    org = emulator_state.org(ORG)
    assert "ivanpetrov" in org.members
    assert all(i.invitee != "ivanpetrov" for i in org.invites.values())

    emulator_state.add_invite(ORG, "ivanpetrov", inviter="alicechen", team="data")
    # The invite route stays down through every retry the client makes.
    emulator_state.fail_next(FAST_RETRIES.max_retries + 1, 503, method="DELETE", path="/v2/invites/*")
    with pytest.raises(PartlyApplied) as refused:
        await OFFBOARD.execute(make_ctx(hub, APPROVER), OFFBOARD.load(plan.params))
    message = refused.value.message
    assert "Done: removed *ivanpetrov* from the org" in message
    assert "Not done: cancelling the invite for `ivanpetrov`: Docker Hub is unavailable" in message
    assert "ivanpetrov" not in emulator_state.org(ORG).members

    # A Retry finishes what is left.
    outcome = await OFFBOARD.execute(make_ctx(hub, APPROVER), OFFBOARD.load(plan.params))
    assert "cancelled the invite for `ivanpetrov`" in outcome.summary
    assert all(i.invitee != "ivanpetrov" for i in emulator_state.org(ORG).invites.values())
