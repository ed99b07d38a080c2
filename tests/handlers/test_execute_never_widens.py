"""Execution re-checks what its plan saw and never does more or other than the approval showed.

One test per kind where the org could change between approval and execution so that the same call
would change something else: a team replaced under its name, a permission or role moved since.
Against the emulator's demo org; the web-UI stand-in makes the outside changes.
"""

from __future__ import annotations

from typing import Any

import pytest

from handlers.context import HandlerContext
from handlers.requests import kinds
from handlers.requests.kind import ChangeRefused, Plan
from hub.emulator import DEMO, EmulatorState
from tests.conftest import MakeContext

ORG = DEMO.org


async def planned(ctx: HandlerContext, kind_name: str, params: dict[str, Any]) -> Plan:
    kind = kinds.named(kind_name)
    return await kind.plan(ctx, kind.load(params))


async def refused(ctx: HandlerContext, kind_name: str, plan: Plan, match: str) -> None:
    kind = kinds.named(kind_name)
    with pytest.raises(ChangeRefused, match=match):
        await kind.execute(ctx, kind.load(kind.dump(plan.params)))  # as stored, then read back


def replace_team(state: EmulatorState, name: str) -> None:
    """Someone renames the team in the web UI and makes a new one with its old name."""
    state.web_ui_change(ORG, "bobokafor", "team.update", team=name, name=f"{name}-old")
    state.web_ui_change(ORG, "bobokafor", "team.create", team=name)


REPLACED = "not the team this was approved for"


@pytest.mark.parametrize(
    ("kind_name", "params"),
    [
        ("team_add", {"team": "data", "member": "umarkhan"}),
        ("team_remove", {"team": "data", "username": "jadeturner"}),
        ("team_delete", {"name": "data"}),
        ("team_update", {"name": "data", "description": "Numbers"}),
        ("grant", {"team": "data", "namespace": ORG, "repository": "api", "permission": "read"}),
        ("revoke", {"team": "data", "namespace": ORG, "repository": "docs"}),
        ("invite", {"invitee": "newcomer@acme.example", "team": "data"}),
    ],
)
async def test_a_team_replaced_under_its_name_is_not_changed(
    make_context: MakeContext, emulator_state: EmulatorState, kind_name: str, params: dict[str, Any]
) -> None:
    ctx = make_context()
    plan = await planned(ctx, kind_name, params)
    replace_team(emulator_state, "data")
    if kind_name in ("team_remove", "revoke"):
        # Give the new team what the old one had, so only the id can tell them apart.
        emulator_state.web_ui_change(ORG, "bobokafor", "team.member.add", team="data", username="jadeturner")
        emulator_state.add_grant(ORG, "docs", "data", "read")
    before = emulator_state.org(ORG).groups["data"]
    snapshot = (before.id, before.description, list(before.members))
    await refused(make_context("U0BOBOK01"), kind_name, plan, REPLACED)
    after = emulator_state.org(ORG).groups["data"]
    assert (after.id, after.description, list(after.members)) == snapshot


async def test_grant_changes_a_permission_only_from_what_the_approval_named(
    make_context: MakeContext, emulator_state: EmulatorState
) -> None:
    plan = await planned(
        make_context(), "grant", {"team": "data", "namespace": ORG, "repository": "docs", "permission": "write"}
    )
    assert "from read to write" in plan.summary
    emulator_state.add_grant(ORG, "docs", "data", "admin")  # someone made it admin meanwhile
    await refused(make_context("U0BOBOK01"), "grant", plan, "now admin; the approval was for a change from read")
    org = emulator_state.org(ORG)
    assert org.repositories["docs"].grants[org.groups["data"].id] == "admin"


async def test_revoke_takes_away_only_what_the_approval_named(
    make_context: MakeContext, emulator_state: EmulatorState
) -> None:
    plan = await planned(make_context(), "revoke", {"team": "data", "namespace": ORG, "repository": "docs"})
    assert "read access" in plan.summary
    emulator_state.add_grant(ORG, "docs", "data", "admin")
    await refused(make_context("U0BOBOK01"), "revoke", plan, "now admin; the approval was for a change from read")
    org = emulator_state.org(ORG)
    assert org.repositories["docs"].grants[org.groups["data"].id] == "admin"


async def test_role_changes_only_from_the_role_the_approval_named(
    make_context: MakeContext, emulator_state: EmulatorState
) -> None:
    # Approved as a demotion of an owner…
    emulator_state.web_ui_change(ORG, "bobokafor", "member.role.change", username="ivanpetrov", role="owner")
    plan = await planned(make_context(), "role", {"username": "ivanpetrov", "role": "editor"})
    assert "from owner to editor" in plan.summary
    # …it must not run as a promotion of a member.
    emulator_state.web_ui_change(ORG, "bobokafor", "member.role.change", username="ivanpetrov", role="member")
    await refused(make_context("U0BOBOK01"), "role", plan, "now member; the approval was for a change from owner")
    assert emulator_state.org(ORG).members["ivanpetrov"].role == "member"


async def test_remove_of_a_member_does_not_remove_them_once_they_are_an_owner(
    make_context: MakeContext, emulator_state: EmulatorState
) -> None:
    plan = await planned(make_context(), "member_remove", {"username": "umarkhan"})
    emulator_state.web_ui_change(ORG, "bobokafor", "member.role.change", username="umarkhan", role="owner")
    await refused(
        make_context("U0BOBOK01"), "member_remove", plan, "now owner; the approval was for a change from member"
    )
    assert "umarkhan" in emulator_state.org(ORG).members


async def test_team_remove_of_someone_re_added_removes_only_them(
    make_context: MakeContext, emulator_state: EmulatorState
) -> None:
    plan = await planned(make_context(), "team_remove", {"team": "data", "username": "jadeturner"})
    emulator_state.web_ui_change(ORG, "bobokafor", "team.member.remove", team="data", username="jadeturner")
    emulator_state.web_ui_change(ORG, "bobokafor", "team.member.add", team="data", username="jadeturner")
    emulator_state.web_ui_change(ORG, "bobokafor", "team.member.add", team="data", username="umarkhan")
    kind = kinds.named("team_remove")
    await kind.execute(make_context("U0BOBOK01"), kind.load(kind.dump(plan.params)))
    members = emulator_state.org(ORG).groups["data"].members
    assert "jadeturner" not in members and "umarkhan" in members
