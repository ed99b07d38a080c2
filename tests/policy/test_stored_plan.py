"""The approved plan is the plan that runs: stored changes re-checked against the org, never diffed anew.

Pure checks of `recheck` and the approval message's list, then the `policy_apply` kind against the
emulator with the production store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.store import SqlRequestStore
from handlers.context import HandlerContext
from handlers.policy.diff import Change, OrgState, recheck
from handlers.policy.slack import APPROVAL_BUDGET, approval_lines
from handlers.requests import kinds
from handlers.requests.kind import ChangeRefused, PartlyApplied
from handlers.requests.lifecycle import NewRequest
from hub.client import HubClient
from hub.emulator import DEMO, EmulatorState
from tests.conftest import MakeContext

POLICY_APPLY = kinds.named("policy_apply")
TEAM_ADD = kinds.named("team_add")


def org() -> OrgState:
    return OrgState(
        teams={"backend": "Backend", "data": "Data"},
        team_ids={"backend": 1, "data": 2},
        members={"alice", "bob", "carol"},
        team_members={"backend": {"alice"}, "data": {"bob"}},
        grants={("acme/api", "backend"): "write", ("acme/web", "data"): "admin"},
    )


def test_recheck_applies_only_what_still_starts_where_the_plan_saw_it() -> None:
    planned = [
        Change("create_team", "backend", description="x"),  # exists now
        Change("create_team", "newteam", description="New"),
        Change("add_member", "newteam", username="carol"),  # its team comes from this plan
        Change("update_team", "data", description="Data"),  # already so
        Change("update_team", "gone", description="?"),
        Change("add_member", "backend", username="alice"),  # already in
        Change("add_member", "backend", username="zed"),  # left the org
        Change("add_member", "owners", username="bob"),
        Change("remove_member", "backend", username="bob"),  # not in it
        Change("remove_member", "data", username="bob"),
        Change("grant", "backend", repository="acme/api", permission="read"),  # has write now
        Change("grant", "data", repository="acme/api", permission="read"),
        Change("change_permission", "backend", repository="acme/api", permission="admin", previous="read"),
        Change("change_permission", "data", repository="acme/web", permission="read", previous="admin"),
        Change("revoke", "data", repository="acme/web", permission="write"),  # has admin, not write
        Change("revoke", "backend", repository="acme/web", permission="read"),  # no access already
    ]
    checked = recheck(planned, org())
    assert checked.todo == [
        planned[1],
        planned[2],
        planned[9],
        planned[11],
        planned[13],
    ]
    assert [change for change, _ in checked.already] == [planned[0], planned[3], planned[5], planned[8], planned[15]]
    assert dict((change.describe(), why) for change, why in checked.stale) == {
        "set the description of team gone to '?'": "team gone no longer exists",
        "add zed to team backend": "zed is no longer a member of the organization",
        "add bob to team owners": "team owners no longer exists",
        "grant read on acme/api to team backend": "team backend now has write (the plan saw no access)",
        "change team backend on acme/api from read to admin": "team backend now has write (the plan saw read)",
        "revoke write on acme/web from team data": "team data now has admin (the plan saw write)",
    }


def test_recheck_never_touches_the_owners_team() -> None:
    state = org()
    state.teams["owners"] = "Owners"
    state.team_members["owners"] = {"alice"}
    checked = recheck([Change("remove_member", "owners", username="alice")], state)
    assert checked.todo == [] and [why for _, why in checked.stale] == ["the owners team follows the owner role"]


def test_approval_lines_show_removals_first_and_count_what_is_cut() -> None:
    changes = [Change("add_member", "backend", username=f"user{n:04d}") for n in range(300)] + [
        Change("remove_member", "backend", username="alice"),
        Change("revoke", "data", repository="acme/web", permission="admin"),
    ]
    lines = approval_lines(changes)
    assert lines[0].startswith("− remove alice") and lines[1].startswith("− revoke admin on acme/web")
    assert lines[-1] == f"…and {302 - (len(lines) - 1)} more change(s) not shown here (302 in all)"
    assert sum(len(line) + 1 for line in lines[:-1]) <= APPROVAL_BUDGET
    # A short plan is shown whole, with no count.
    assert approval_lines(changes[:3]) == [f"+ add user{n:04d} to team backend" for n in range(3)]


# -- the kind against the emulator ------------------------------------------------------------------

POLICY = """\
teams:
  data:
    members: [georgelee, julianaruiz, ninagarcia, tanyaivanova, valentinadiaz, diegomartin]
repositories:
  acme/web:
    frontend: write
    security: read
    data: read
"""
# against the demo: jadeturner leaves data; data is granted read on web.


@pytest.fixture
def ctx(make_context: MakeContext, store: SqlRequestStore) -> Callable[..., HandlerContext]:
    def make(actor: str = "U0ALICE01", **extra: Any) -> HandlerContext:
        return make_context(actor, **extra)

    return make


async def stored(store: SqlRequestStore, params: dict[str, Any]) -> str:
    now = datetime.now(UTC)
    request = await store.create(
        NewRequest(
            instance="acme",
            kind="policy_apply",
            params=params,
            requester="U0ALICE01",
            reason="",
            summary="Apply the policy",
            destructive=True,
            approvals_required=1,
            expires_at=now + timedelta(hours=1),
        ),
        now=now,
    )
    return request.id


async def test_a_member_added_after_the_plan_is_not_removed(
    ctx: Callable[..., HandlerContext], store: SqlRequestStore, emulator_state: EmulatorState
) -> None:
    plan = await POLICY_APPLY.plan(ctx(), POLICY_APPLY.load({"text": POLICY, "source": "policy.yml"}))
    assert [Change.from_dict(c).describe() for c in plan.params.changes] == [
        "remove jadeturner from team data",
        "grant read on acme/web to team data",
    ]
    # An approved `team add` runs between the plan and the apply.
    await TEAM_ADD.execute(ctx("U0BOBOK01"), TEAM_ADD.load({"team": "data", "member": "ivanpetrov"}))
    request_id = await stored(store, POLICY_APPLY.dump(plan.params))
    outcome = await POLICY_APPLY.execute(ctx("U0BOBOK01", request_id=request_id), POLICY_APPLY.load(plan.params))
    members = emulator_state.org(DEMO.org).groups["data"].members
    assert "ivanpetrov" in members and "jadeturner" not in members
    assert len(outcome.result["applied"]) == 2 and "2 of 2 planned" in outcome.summary
    audit = [e.detail["summary"] for e in await store.audit_log(request_id=request_id) if e.event == "policy.change"]
    assert sorted(audit) == ["grant read on acme/web to team data", "remove jadeturner from team data"]


async def test_retry_finishes_the_same_plan_and_adds_nothing(
    ctx: Callable[..., HandlerContext], store: SqlRequestStore, emulator_state: EmulatorState, hub: HubClient
) -> None:
    plan = await POLICY_APPLY.plan(ctx(), POLICY_APPLY.load({"text": POLICY, "source": "policy.yml"}))
    emulator_state.fail_next(1, 403, method="POST", path="/v2/repositories/acme/web/groups")
    with pytest.raises(PartlyApplied, match=r"1 of 2 planned change\(s\) applied"):
        await POLICY_APPLY.execute(ctx("U0BOBOK01"), POLICY_APPLY.load(plan.params))
    # Meanwhile someone joins data: a new diff would take them out again; the Retry must not.
    await hub.add_group_member("data", "kenjisato")
    emulator_state.clear_requests()
    outcome = await POLICY_APPLY.execute(ctx("U0BOBOK01"), POLICY_APPLY.load(plan.params))
    org = emulator_state.org(DEMO.org)
    assert "kenjisato" in org.groups["data"].members
    assert org.repositories["web"].grants[org.groups["data"].id] == "read"
    assert [c["action"] for c in outcome.result["applied"]] == ["grant"]
    assert [c["username"] for c in outcome.result["already"]] == ["jadeturner"]
    writes = [f"{r.method} {r.path}" for r in emulator_state.requests if r.method != "GET" and "auth" not in r.path]
    assert writes == ["POST /v2/repositories/acme/web/groups"]


async def test_a_permission_moved_since_the_plan_is_skipped_and_reported(
    ctx: Callable[..., HandlerContext], emulator_state: EmulatorState
) -> None:
    policy = "repositories:\n  acme/web:\n    frontend: write\n    security: write\n"
    plan = await POLICY_APPLY.plan(ctx(), POLICY_APPLY.load({"text": policy, "source": "p.yml"}))
    assert [Change.from_dict(c).describe() for c in plan.params.changes] == [
        "change team security on acme/web from read to write"
    ]
    emulator_state.add_grant(DEMO.org, "web", "security", "admin")  # someone changed it by hand
    outcome = await POLICY_APPLY.execute(ctx("U0BOBOK01"), POLICY_APPLY.load(plan.params))
    org = emulator_state.org(DEMO.org)
    assert org.repositories["web"].grants[org.groups["security"].id] == "admin"  # not narrowed unasked
    assert "1 skipped because the org changed since the plan" in outcome.summary
    assert "now has admin (the plan saw read)" in outcome.summary
    assert outcome.result["applied"] == [] and len(outcome.result["stale"]) == 1


async def test_filing_a_shown_plan_does_not_diff_again(
    ctx: Callable[..., HandlerContext], emulator_state: EmulatorState
) -> None:
    shown = [{"action": "grant", "team": "data", "repository": "acme/web", "permission": "read"}]
    plan = await POLICY_APPLY.plan(ctx(), POLICY_APPLY.load({"changes": shown, "source": "p.yml", "plan_id": "p1"}))
    assert plan.params.changes == shown and plan.params.plan_id == "p1"
    assert plan.details == ["+ grant read on acme/web to team data"]
    assert "exactly these changes" in plan.summary
    with pytest.raises(ChangeRefused, match="cannot be read"):
        await POLICY_APPLY.plan(ctx(), POLICY_APPLY.load({"changes": [{"action": "drop_table", "team": "x"}]}))
