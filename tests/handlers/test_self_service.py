"""Self-service access against the emulator's `acme` org, with a real SqlRequestStore on SQLite.

Only Slack is faked (who has which email, and the DMs hubkeeper sends); Docker Hub is the emulator
over HTTP and the store is the production one.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.directory import SlackUser
from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackMessenger
from bot.store.sql_store import SqlRequestStore
from handlers.context import HandlerContext, Reply
from handlers.durations import NotADuration, parse_seconds
from handlers.requests import kinds
from handlers.requests.kind import ChangeRefused, Plan
from handlers.requests.lifecycle import NewRequest
from handlers.self_service import (
    MANAGED_DESCRIPTION,
    managed_team_name,
    sweep_timed_grants,
)
from hub import paths
from hub.client import HubClient
from hub.emulator import EmulatorState
from hub.errors import NotFound
from tests.conftest import MakeContext
from tests.databases import database_url

__all__ = ["database_url"]

ORG = "acme"
ACCESS_REQUEST = kinds.named("access_request")
IVAN = "U0IVAN0001"  # ivanpetrov: member, team backend
KENJI = "U0KENJI001"  # kenjisato: member, team frontend
STRANGER = "U0STRANGER"  # a Slack user whose email no Docker Hub member has
NO_EMAIL = "U0NOEMAIL1"
APPROVER = "U0ALICE001"

EMAILS = {
    IVAN: "ivanpetrov@acme.example",
    KENJI: "KenjiSato@Acme.example",  # Slack and Docker Hub need not agree on case
    STRANGER: "someone@elsewhere.example",
    APPROVER: "alicechen@acme.example",
}


TOKEN = "xoxb-self-service"
SLACK_USERS = [
    SlackUser(IVAN, "ivan", "Ivan Petrov", EMAILS[IVAN]),
    SlackUser(KENJI, "kenji", "Kenji Sato", EMAILS[KENJI]),
    SlackUser(STRANGER, "someone", "Some One", EMAILS[STRANGER]),
    SlackUser(NO_EMAIL, "noemail", "No Email", ""),
    SlackUser(APPROVER, "alice", "Alice Chen", EMAILS[APPROVER]),
]


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(users=SLACK_USERS, usergroups={}, bot_token=TOKEN) as standin:
        yield standin


def sent_dms(slack: SlackStandIn) -> list[tuple[str, dict[str, Any]]]:
    """Every DM the bot sent, with whom it went to."""
    return [(user.id, message) for user in SLACK_USERS for message in slack.dms(user.id)]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlRequestStore]:
    store = await SqlRequestStore.open(f"sqlite:///{tmp_path}/t.db")
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def client(slack: SlackStandIn) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=slack.api_url)


@pytest.fixture
def messenger(client: AsyncWebClient) -> SlackMessenger:
    return SlackMessenger(client)


MakeCtx = Callable[..., HandlerContext]


@pytest.fixture
def make_ctx(make_context: MakeContext) -> MakeCtx:
    def make(actor: str = IVAN, **changes: Any) -> HandlerContext:
        return make_context(actor, **changes)

    return make


def ask(repository: str, permission: str, duration: int | None = None, namespace: str = ORG) -> dict[str, Any]:
    return {"namespace": namespace, "repository": repository, "permission": permission, "duration_seconds": duration}


def typed(repository: str, permission: str, duration: int | None = None, namespace: str = ORG) -> Any:
    """`ask`'s parameters as the kind reads them."""
    return ACCESS_REQUEST.load(ask(repository, permission, duration, namespace))


async def stored_request(store: SqlRequestStore, plan: Plan, requester: str) -> str:
    """The request as the approval flow would store it (timed grants refer to it)."""
    request = await store.create(
        NewRequest(
            instance=ORG,
            kind=ACCESS_REQUEST.name,
            params=plan.params.model_dump(mode="json"),
            requester=requester,
            reason="testing",
            summary=plan.summary,
            destructive=ACCESS_REQUEST.destructive(plan.params),
            approvals_required=1,
            expires_at=datetime.now(UTC) + timedelta(days=1),
        ),
        now=datetime.now(UTC),
    )
    return request.id


async def approve_and_execute(make_ctx: MakeCtx, store: SqlRequestStore, params: dict[str, Any], requester: str) -> Any:
    plan = await ACCESS_REQUEST.plan(make_ctx(requester), ACCESS_REQUEST.load(params))
    request_id = await stored_request(store, plan, requester)
    # At execute time the actor is the approver, never the requester.
    outcome = await ACCESS_REQUEST.execute(make_ctx(APPROVER, request_id=request_id), ACCESS_REQUEST.load(plan.params))
    return plan, request_id, outcome


def snapshot(state: EmulatorState) -> dict[str, Any]:
    org = state.org(ORG)
    return {
        "grants": dict(org.grants),
        "teams": {name: (group.description, list(group.members)) for name, group in org.groups.items()},
        "members": {name: (m.role, sorted(m.groups)) for name, m in org.members.items()},
        "invites": sorted(org.invites),
    }


def text_of(reply: Reply) -> str:
    return reply.text + " ".join(str(block) for block in reply.blocks)


# -- team names -----------------------------------------------------------------------------------


def test_registered_at_import() -> None:
    assert kinds.named("access_request") is ACCESS_REQUEST


def test_managed_names_are_plain_when_they_fit() -> None:
    assert managed_team_name(ORG, ORG, "api", "write") == "hk-api-w"
    assert managed_team_name(ORG, ORG, "infra-tools", "read") == "hk-infra-tools-r"
    assert managed_team_name(ORG, ORG, "sdk", "admin") == "hk-sdk-a"


def test_managed_names_are_valid_stable_and_distinct() -> None:
    long_a = "a" * 255
    long_b = "a" * 254 + "b"
    cases = [
        (ORG, long_a),
        (ORG, long_b),  # shortens exactly like long_a
        (ORG, "my.repo"),
        (ORG, "my-repo"),  # `.` becomes `-`: the hash keeps them apart
        (ORG, "my_repo"),
        (ORG, "x" * 25),  # hk- + 25 + -w is exactly 30
        (ORG, "x" * 26),
        ("globex", "api"),  # another namespace than the org's
        (ORG, "api"),
    ]
    names = set()
    for namespace, repository in cases:
        for permission in ("read", "write", "admin"):
            name = managed_team_name(ORG, namespace, repository, permission)
            assert re.fullmatch(r"[A-Za-z0-9_-]{3,30}", name), name
            assert paths.team(name) == name
            assert managed_team_name(ORG, namespace, repository, permission) == name  # stable
            names.add(name)
    assert len(names) == len(cases) * 3
    assert len(managed_team_name(ORG, ORG, "x" * 25, "write")) == 30
    assert managed_team_name(ORG, ORG, "x" * 25, "write") == "hk-" + "x" * 25 + "-w"
    assert len(managed_team_name(ORG, ORG, long_a, "write")) <= 30
    # The same repository name in another namespace gets a different team.
    assert managed_team_name(ORG, "globex", "api", "write") != managed_team_name(ORG, ORG, "api", "write")


def test_durations_as_typed() -> None:
    assert parse_seconds("90m") == 5400
    assert parse_seconds("3d") == 3 * 86400
    for bad in ("2w", "h", "-1h", "90", "2 hours"):
        with pytest.raises(NotADuration):
            parse_seconds(bad)


# -- plan ------------------------------------------------------------------------------------------


async def test_plan_resolves_from_access_teams(make_ctx: MakeCtx, emulator_state: EmulatorState) -> None:
    before = snapshot(emulator_state)
    ctx = make_ctx(KENJI, access_teams={"acme/api:write": "backend"})
    plan = await ACCESS_REQUEST.plan(ctx, typed("api", "write"))
    assert plan.params.team == "backend"
    assert plan.params.managed is False
    assert plan.params.username == "kenjisato"
    assert plan.params.requester == KENJI
    assert "team *backend*" in plan.summary
    assert "with no end date" in plan.summary
    assert any("[access_teams]" in line and "other grants" in line for line in plan.details)
    assert snapshot(emulator_state) == before  # planning only reads


async def test_configured_team_must_exist_and_hold_the_grant(make_ctx: MakeCtx) -> None:
    with pytest.raises(ChangeRefused, match="does not exist"):
        await ACCESS_REQUEST.plan(make_ctx(KENJI, access_teams={"acme/api:write": "ghosts"}), typed("api", "write"))
    # backend has write on api, not admin: the config is wrong, and hubkeeper never re-grants people's teams.
    with pytest.raises(ChangeRefused, match="has \\*write\\*"):
        await ACCESS_REQUEST.plan(make_ctx(KENJI, access_teams={"acme/api:admin": "backend"}), typed("api", "admin"))


async def test_plan_resolves_to_a_managed_team(make_ctx: MakeCtx, emulator_state: EmulatorState) -> None:
    before = snapshot(emulator_state)
    plan = await ACCESS_REQUEST.plan(make_ctx(IVAN), typed("web", "read", 2 * 3600))
    assert plan.params.model_dump() == {
        "namespace": ORG,
        "repository": "web",
        "permission": "read",
        "duration_seconds": 7200,
        "requester": IVAN,
        "username": "ivanpetrov",
        "team": "hk-web-r",
        "managed": True,
        "create_team": True,
        "expires_after": "2 hours",
    }
    assert plan.summary == "Give *ivanpetrov* *read* on *acme/web* for 2 hours by adding them to team *hk-web-r*"
    assert "will create it and grant it *read* on *acme/web* only" in plan.details[0]
    assert "removes *ivanpetrov*" in plan.details[1]
    assert not ACCESS_REQUEST.destructive(plan.params)
    assert snapshot(emulator_state) == before


async def test_unknown_requester_email_is_refused(make_ctx: MakeCtx) -> None:
    with pytest.raises(ChangeRefused) as refused:
        await ACCESS_REQUEST.plan(make_ctx(STRANGER), typed("web", "read"))
    assert "No Docker Hub member of *acme* has your Slack email `someone@elsewhere.example`" in refused.value.message
    assert "invite" in refused.value.message
    with pytest.raises(ChangeRefused, match="no email address"):
        await ACCESS_REQUEST.plan(make_ctx(NO_EMAIL), typed("web", "read"))


async def test_unknown_repository_and_other_namespaces(make_ctx: MakeCtx) -> None:
    with pytest.raises(NotFound, match="acme/nope"):
        await ACCESS_REQUEST.plan(make_ctx(IVAN), typed("nope", "read"))
    with pytest.raises(ChangeRefused, match="another namespace"):
        await ACCESS_REQUEST.plan(make_ctx(IVAN), typed("reactor", "read", namespace="globex"))
    with pytest.raises(ChangeRefused, match="not a permission"):
        await ACCESS_REQUEST.plan(make_ctx(IVAN), typed("web", "owner"))
    with pytest.raises(ChangeRefused, match="Time-bound access lasts"):
        await ACCESS_REQUEST.plan(make_ctx(IVAN), typed("web", "read", 10))


async def test_already_has_access_through_the_configured_team(make_ctx: MakeCtx) -> None:
    with pytest.raises(ChangeRefused, match="You already have \\*write\\* on \\*acme/api\\*"):
        await ACCESS_REQUEST.plan(make_ctx(IVAN, access_teams={"acme/api:write": "backend"}), typed("api", "write"))


# -- execute --------------------------------------------------------------------------------------


async def test_execute_creates_grants_and_adds_and_changes_nothing_else(
    make_ctx: MakeCtx, store: SqlRequestStore, emulator_state: EmulatorState
) -> None:
    before = snapshot(emulator_state)
    _, _, outcome = await approve_and_execute(make_ctx, store, ask("web", "read"), IVAN)
    after = snapshot(emulator_state)

    expected = copy.deepcopy(before)
    expected["grants"][("web", "hk-web-r")] = "read"
    description = after["teams"]["hk-web-r"][0]
    assert description.startswith(MANAGED_DESCRIPTION) and "acme/web:read" in description
    expected["teams"]["hk-web-r"] = (description, ["ivanpetrov"])
    expected["members"]["ivanpetrov"] = ("member", ["backend", "hk-web-r"])
    assert after == expected

    assert outcome.result == {
        "team": "hk-web-r",
        "username": "ivanpetrov",
        "managed": True,
        "created": True,
        "granted": True,
        "added": True,
    }
    assert outcome.summary.startswith("*ivanpetrov* now has *read* on *acme/web* through team *hk-web-r*")
    # Asking again: the access is there now.
    with pytest.raises(ChangeRefused, match="You already have"):
        await ACCESS_REQUEST.plan(make_ctx(IVAN), typed("web", "read"))


async def test_second_requester_joins_the_existing_managed_team(
    make_ctx: MakeCtx, store: SqlRequestStore, emulator_state: EmulatorState
) -> None:
    await approve_and_execute(make_ctx, store, ask("web", "read"), IVAN)
    before = snapshot(emulator_state)
    plan, _, outcome = await approve_and_execute(make_ctx, store, ask("web", "read"), KENJI)
    assert plan.params.create_team is False
    assert "has that grant already" in plan.details[0]
    assert "created" not in outcome.result and "granted" not in outcome.result
    after = snapshot(emulator_state)
    assert after["grants"] == before["grants"]
    assert after["teams"]["hk-web-r"][1] == ["ivanpetrov", "kenjisato"]


async def test_configured_team_execute_only_adds_the_member(
    make_ctx: MakeCtx, store: SqlRequestStore, emulator_state: EmulatorState
) -> None:
    before = snapshot(emulator_state)
    teams = {"acme/api:write": "backend"}
    plan = await ACCESS_REQUEST.plan(make_ctx(KENJI, access_teams=teams), typed("api", "write"))
    request_id = await stored_request(store, plan, KENJI)
    approver = make_ctx(APPROVER, access_teams=teams, request_id=request_id)
    await ACCESS_REQUEST.execute(approver, ACCESS_REQUEST.load(plan.params))
    after = snapshot(emulator_state)
    assert after["grants"] == before["grants"]
    assert set(after["teams"]) == set(before["teams"])
    assert after["teams"]["backend"][1] == [*before["teams"]["backend"][1], "kenjisato"]


async def test_a_widened_managed_team_is_refused(
    make_ctx: MakeCtx, store: SqlRequestStore, emulator_state: EmulatorState
) -> None:
    plan, request_id, _ = await approve_and_execute(make_ctx, store, ask("web", "read"), IVAN)
    # Someone raised the managed team's grant by hand: joining it would now give write.
    emulator_state.add_grant(ORG, "web", "hk-web-r", "write")
    with pytest.raises(ChangeRefused, match="someone changed it"):
        await ACCESS_REQUEST.plan(make_ctx(KENJI), typed("web", "read"))
    # And execute re-checks: an approval given before the change does not go through either.
    plan = Plan(summary="", params=plan.params.model_copy(update={"requester": KENJI, "username": "kenjisato"}))
    before = snapshot(emulator_state)
    with pytest.raises(ChangeRefused, match="someone changed it"):
        await ACCESS_REQUEST.execute(make_ctx(APPROVER, request_id=request_id), ACCESS_REQUEST.load(plan.params))
    assert snapshot(emulator_state) == before


async def test_a_team_of_the_managed_name_made_by_a_person_is_refused(
    make_ctx: MakeCtx, emulator_state: EmulatorState
) -> None:
    emulator_state.add_group(ORG, "hk-web-r", "made by hand")
    with pytest.raises(ChangeRefused, match="hubkeeper did not create it"):
        await ACCESS_REQUEST.plan(make_ctx(IVAN), typed("web", "read"))


async def test_execute_refuses_when_the_org_resolves_differently(make_ctx: MakeCtx, store: SqlRequestStore) -> None:
    plan = await ACCESS_REQUEST.plan(make_ctx(KENJI, access_teams={"acme/api:write": "backend"}), typed("api", "write"))
    request_id = await stored_request(store, plan, KENJI)
    # The config changed between approval and execution: the approved team is no longer the one.
    with pytest.raises(ChangeRefused, match="now resolves to"):
        await ACCESS_REQUEST.execute(make_ctx(APPROVER, request_id=request_id), ACCESS_REQUEST.load(plan.params))


# -- timed grants ---------------------------------------------------------------------------------


def contexts_for(make_ctx: MakeCtx, **changes: Any) -> Callable[[str], HandlerContext | None]:
    def contexts(instance: str) -> HandlerContext | None:
        return make_ctx("hubkeeper", **changes) if instance == ORG else None

    return contexts


async def test_timed_grant_is_recorded_and_swept(
    make_ctx: MakeCtx, store: SqlRequestStore, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    start = datetime.now(UTC)
    _, request_id, outcome = await approve_and_execute(make_ctx, store, ask("web", "read", 3600), IVAN)
    [grant] = await store.active_timed_grants()
    assert (grant.team, grant.username, grant.requester, grant.request_id) == (
        "hk-web-r",
        "ivanpetrov",
        IVAN,
        request_id,
    )
    assert start + timedelta(hours=1) <= grant.expires_at <= datetime.now(UTC) + timedelta(hours=1)
    assert outcome.result["timed_grant_id"] == grant.id
    assert "Access ends" in outcome.summary and "(1 hour)" in outcome.summary
    assert "ivanpetrov" in emulator_state.org(ORG).groups["hk-web-r"].members

    contexts = contexts_for(make_ctx)
    assert await sweep_timed_grants(store, contexts, start + timedelta(minutes=30)) == []
    assert "ivanpetrov" in emulator_state.org(ORG).groups["hk-web-r"].members

    later = start + timedelta(hours=2)
    ended = await sweep_timed_grants(store, contexts, later)
    assert [g.id for g in ended] == [grant.id]
    org = emulator_state.org(ORG)
    assert "ivanpetrov" not in org.groups["hk-web-r"].members
    assert org.grants[("web", "hk-web-r")] == "read"  # the team and its grant stay for the next request
    assert "ivanpetrov" in org.members  # only the team membership ends
    assert await store.active_timed_grants() == []
    [event] = [e for e in await store.audit_log() if e.event == "grant.expired"]
    assert (event.actor, event.instance, event.request_id) == ("hubkeeper", ORG, request_id)
    assert event.detail["team"] == "hk-web-r" and event.detail["removed"] is True
    assert event.detail["access"] == "read on acme/web"
    [(user, dm)] = sent_dms(slack)
    assert user == IVAN
    assert "*read on acme/web* has ended" in dm["text"]

    # Nothing left to do: no second DM.
    assert await sweep_timed_grants(store, contexts, later + timedelta(minutes=1)) == []
    assert len(sent_dms(slack)) == 1


async def test_retrying_an_execution_records_one_expiry(
    make_ctx: MakeCtx, store: SqlRequestStore, emulator_state: EmulatorState
) -> None:
    plan, request_id, _ = await approve_and_execute(make_ctx, store, ask("web", "read", 3600), IVAN)
    again = await ACCESS_REQUEST.execute(make_ctx(APPROVER, request_id=request_id), ACCESS_REQUEST.load(plan.params))
    assert len(await store.active_timed_grants()) == 1
    assert "added" not in again.result


async def test_already_removed_counts_as_ended(
    make_ctx: MakeCtx, store: SqlRequestStore, slack: SlackStandIn, hub: HubClient
) -> None:
    await approve_and_execute(make_ctx, store, ask("web", "read", 3600), IVAN)
    await hub.remove_group_member("hk-web-r", "ivanpetrov")
    ended = await sweep_timed_grants(store, contexts_for(make_ctx), datetime.now(UTC) + timedelta(hours=2))
    assert len(ended) == 1
    [event] = [e for e in await store.audit_log() if e.event == "grant.expired"]
    assert event.detail["removed"] is False
    assert len(sent_dms(slack)) == 1


async def test_two_concurrent_sweeps_send_one_dm(
    make_ctx: MakeCtx, store: SqlRequestStore, slack: SlackStandIn, tmp_path: Path, emulator_state: EmulatorState
) -> None:
    await approve_and_execute(make_ctx, store, ask("web", "read", 3600), IVAN)
    replica = await SqlRequestStore.open(f"sqlite:///{tmp_path}/t.db")
    try:
        later = datetime.now(UTC) + timedelta(hours=2)
        results = await asyncio.gather(
            sweep_timed_grants(store, contexts_for(make_ctx), later),
            sweep_timed_grants(replica, contexts_for(make_ctx, store=replica), later),
        )
    finally:
        await replica.close()
    assert sorted(len(r) for r in results) == [0, 1]
    assert len(sent_dms(slack)) == 1
    assert len([e for e in await store.audit_log() if e.event == "grant.expired"]) == 1
    assert "ivanpetrov" not in emulator_state.org(ORG).groups["hk-web-r"].members


async def test_a_hub_failure_leaves_the_grant_due(
    make_ctx: MakeCtx,
    store: SqlRequestStore,
    slack: SlackStandIn,
    emulator_state: EmulatorState,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await approve_and_execute(make_ctx, store, ask("web", "read", 3600), IVAN)
    later = datetime.now(UTC) + timedelta(hours=2)
    emulator_state.fail_next(1, status=403)  # not retried: the sweep sees it at once
    with caplog.at_level(logging.WARNING, logger="hubkeeper.self_service"):
        assert await sweep_timed_grants(store, contexts_for(make_ctx), later) == []
    assert "could not end timed grant" in caplog.text
    assert len(await store.due_timed_grants(later)) == 1
    assert "ivanpetrov" in emulator_state.org(ORG).groups["hk-web-r"].members
    assert sent_dms(slack) == []
    # The next sweep finishes it.
    assert len(await sweep_timed_grants(store, contexts_for(make_ctx), later)) == 1
    assert "ivanpetrov" not in emulator_state.org(ORG).groups["hk-web-r"].members
    assert len(sent_dms(slack)) == 1


async def test_an_unknown_instance_is_skipped(
    make_ctx: MakeCtx, store: SqlRequestStore, caplog: pytest.LogCaptureFixture
) -> None:
    await approve_and_execute(make_ctx, store, ask("web", "read", 3600), IVAN)
    later = datetime.now(UTC) + timedelta(hours=2)
    with caplog.at_level(logging.WARNING, logger="hubkeeper.self_service"):
        assert await sweep_timed_grants(store, lambda instance: None, later) == []
    assert "unknown instance" in caplog.text
    assert len(await store.due_timed_grants(later)) == 1


async def test_expiries_survive_a_restart(
    make_ctx: MakeCtx, store: SqlRequestStore, slack: SlackStandIn, tmp_path: Path
) -> None:
    await approve_and_execute(make_ctx, store, ask("web", "read", 3600), IVAN)
    await store.close()
    reopened = await SqlRequestStore.open(f"sqlite:///{tmp_path}/t.db")
    try:
        later = datetime.now(UTC) + timedelta(hours=2)
        assert len(await sweep_timed_grants(reopened, contexts_for(make_ctx, store=reopened), later)) == 1
    finally:
        await reopened.close()
    assert len(sent_dms(slack)) == 1


async def test_timed_access_needs_its_stored_request(make_ctx: MakeCtx, emulator_state: EmulatorState) -> None:
    # The end of time-bound access is recorded against the stored request: without one, nothing starts.
    before = snapshot(emulator_state)
    params = {**ask("web", "read", 3600), "requester": IVAN, "username": "ivanpetrov", "team": "hk-web-r"}
    with pytest.raises(ChangeRefused, match="Nothing was changed"):
        await ACCESS_REQUEST.execute(make_ctx(APPROVER), ACCESS_REQUEST.load({**params, "managed": True}))
    assert snapshot(emulator_state) == before


# -- the team is known by its id (a rename during the grant must not let the access outlive it) -----

TEAM_UPDATE = kinds.named("team_update")


@pytest.fixture
async def any_store(database_url: str) -> AsyncIterator[SqlRequestStore]:
    """The production store on SQLite and on PostgreSQL."""
    opened = await SqlRequestStore.open(database_url)
    try:
        yield opened
    finally:
        await opened.close()


async def test_a_team_renamed_in_the_web_ui_still_loses_the_member_at_expiry(
    make_ctx: MakeCtx, any_store: SqlRequestStore, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    def ctx(actor: str, **changes: Any) -> HandlerContext:
        return make_ctx(actor, store=any_store, **changes)

    await approve_and_execute(ctx, any_store, ask("web", "write", 3600), IVAN)
    [grant] = await any_store.active_timed_grants()
    team_id = emulator_state.org(ORG).groups["hk-web-w"].id
    assert grant.team_id == team_id
    # Someone renames the team in Docker Hub's web UI while the access runs.
    emulator_state.web_ui_change(ORG, "bobokafor", "team.update", team="hk-web-w", name="web-writers")

    ended = await sweep_timed_grants(any_store, contexts_for(ctx), datetime.now(UTC) + timedelta(hours=2))
    assert [g.id for g in ended] == [grant.id]
    org = emulator_state.org(ORG)
    assert "ivanpetrov" not in org.groups["web-writers"].members
    assert "web-writers" not in org.members["ivanpetrov"].groups
    [event] = [e for e in await any_store.audit_log() if e.event == "grant.expired"]
    assert event.detail["team"] == "web-writers" and event.detail["team_when_granted"] == "hk-web-w"
    assert event.detail["team_id"] == team_id and event.detail["removed"] is True
    [(user, dm)] = sent_dms(slack)
    assert user == IVAN and "removed from team *web-writers* (called *hk-web-w* when granted)" in dm["text"]


async def test_a_rename_through_hubkeeper_is_refused_while_the_grant_runs(
    make_ctx: MakeCtx, store: SqlRequestStore, emulator_state: EmulatorState
) -> None:
    await approve_and_execute(make_ctx, store, ask("web", "write", 3600), IVAN)
    [grant] = await store.active_timed_grants()
    rename = TEAM_UPDATE.load({"name": "hk-web-w", "new_name": "web-writers"})
    with pytest.raises(ChangeRefused) as refused:
        await TEAM_UPDATE.plan(make_ctx(APPROVER), rename)
    message = refused.value.message
    assert "time-bound access running" in message and "*ivanpetrov* until" in message
    assert grant.expires_at.strftime("%Y-%m-%d %H:%M UTC") in message and grant.request_id in message
    # Execute checks again: a rename approved before the grant began is refused too.
    with pytest.raises(ChangeRefused, match="time-bound access running"):
        await TEAM_UPDATE.execute(make_ctx(APPROVER), rename)
    assert "hk-web-w" in emulator_state.org(ORG).groups
    # Once it has ended the team is hubkeeper's managed team still: a rename stays refused, for that reason.
    await sweep_timed_grants(store, contexts_for(make_ctx), datetime.now(UTC) + timedelta(hours=2))
    with pytest.raises(ChangeRefused, match="managed by hubkeeper"):
        await TEAM_UPDATE.plan(make_ctx(APPROVER), rename)


async def test_a_team_deleted_during_the_grant_ends_it(
    make_ctx: MakeCtx, store: SqlRequestStore, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    await approve_and_execute(make_ctx, store, ask("web", "read", 3600), IVAN)
    emulator_state.web_ui_change(ORG, "bobokafor", "team.delete", team="hk-web-r")
    ended = await sweep_timed_grants(store, contexts_for(make_ctx), datetime.now(UTC) + timedelta(hours=2))
    assert len(ended) == 1
    [event] = [e for e in await store.audit_log() if e.event == "grant.expired"]
    assert event.detail["team_gone"] is True and event.detail["removed"] is False
    [(_, dm)] = sent_dms(slack)
    assert "team *hk-web-r* no longer exists" in dm["text"]


async def test_a_404_ends_the_grant_only_when_a_read_confirms(
    make_ctx: MakeCtx,
    store: SqlRequestStore,
    slack: SlackStandIn,
    emulator_state: EmulatorState,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await approve_and_execute(make_ctx, store, ask("web", "read", 3600), IVAN)
    later = datetime.now(UTC) + timedelta(hours=2)
    # Docker Hub answers the DELETE with a 404 although the member is still there.
    emulator_state.fail_next(1, status=404, method="DELETE", path="/v2/orgs/acme/groups/*/members/*")
    with caplog.at_level(logging.WARNING, logger="hubkeeper.self_service"):
        assert await sweep_timed_grants(store, contexts_for(make_ctx), later) == []
    assert "still in team" in caplog.text
    assert len(await store.due_timed_grants(later)) == 1 and sent_dms(slack) == []
    assert "ivanpetrov" in emulator_state.org(ORG).groups["hk-web-r"].members
    assert len(await sweep_timed_grants(store, contexts_for(make_ctx), later)) == 1
    assert "ivanpetrov" not in emulator_state.org(ORG).groups["hk-web-r"].members


async def old_grant(store: SqlRequestStore, request_id: str, expires_at: datetime) -> str:
    """A grant as recorded before team ids were (the migration leaves `team_id` empty)."""
    added = await store.add_timed_grant(
        instance=ORG,
        request_id=request_id,
        team="backend",
        username="ivanpetrov",
        requester=IVAN,
        expires_at=expires_at,
    )
    return added.id


async def test_an_old_grant_learns_its_team_id_before_a_rename(
    make_ctx: MakeCtx, store: SqlRequestStore, emulator_state: EmulatorState
) -> None:
    plan = await ACCESS_REQUEST.plan(make_ctx(KENJI), typed("web", "read", 3600))
    now = datetime.now(UTC)
    grant_id = await old_grant(store, await stored_request(store, plan, IVAN), now + timedelta(hours=1))
    # A sweep before the expiry records the id while the team still has its name…
    assert await sweep_timed_grants(store, contexts_for(make_ctx), now) == []
    [grant] = await store.active_timed_grants()
    assert grant.team_id == emulator_state.org(ORG).groups["backend"].id
    # …so a rename afterwards does not lose it.
    emulator_state.web_ui_change(ORG, "bobokafor", "team.update", team="backend", name="server-side")
    assert [g.id for g in await sweep_timed_grants(store, contexts_for(make_ctx), now + timedelta(hours=2))] == [
        grant_id
    ]
    assert "ivanpetrov" not in emulator_state.org(ORG).groups["server-side"].members


async def test_an_old_grant_whose_team_lost_its_name_is_left_due(
    make_ctx: MakeCtx, store: SqlRequestStore, emulator_state: EmulatorState, caplog: pytest.LogCaptureFixture
) -> None:
    plan = await ACCESS_REQUEST.plan(make_ctx(KENJI), typed("web", "read", 3600))
    later = datetime.now(UTC) + timedelta(hours=2)
    await old_grant(store, await stored_request(store, plan, IVAN), later - timedelta(hours=1))
    emulator_state.web_ui_change(ORG, "bobokafor", "team.update", team="backend", name="server-side")
    with caplog.at_level(logging.WARNING, logger="hubkeeper.self_service"):
        assert await sweep_timed_grants(store, contexts_for(make_ctx), later) == []
    assert "cannot tell which team" in caplog.text
    assert len(await store.due_timed_grants(later)) == 1  # never recorded as ended on a guess
    assert "ivanpetrov" in emulator_state.org(ORG).groups["server-side"].members


# -- `/hub team update` of a team self-service uses ---------------------------------------------------


async def test_team_update_of_an_access_teams_team(make_ctx: MakeCtx, emulator_state: EmulatorState) -> None:
    key, team = "acme/api:write", "backend"
    # The config may spell the name in another case: Docker Hub's team names ignore it.
    ctx = make_ctx(APPROVER, access_teams={key: "Backend"})
    with pytest.raises(ChangeRefused, match=r"\[access_teams\]") as refused:
        await TEAM_UPDATE.plan(ctx, TEAM_UPDATE.load({"name": team, "new_name": "server-side"}))
    assert key in refused.value.message
    with pytest.raises(ChangeRefused, match=r"\[access_teams\]"):
        await TEAM_UPDATE.execute(ctx, TEAM_UPDATE.load({"name": team, "new_name": "server-side"}))
    assert team in emulator_state.org(ORG).groups
    # Its description is people's business: self-service needs only the name and the grant.
    described = TEAM_UPDATE.load({"name": team, "description": "The API people"})
    await TEAM_UPDATE.plan(ctx, described)
    await TEAM_UPDATE.execute(ctx, described)
    assert emulator_state.org(ORG).groups[team].description == "The API people"


async def test_a_managed_team_keeps_its_mark(
    make_ctx: MakeCtx, store: SqlRequestStore, emulator_state: EmulatorState
) -> None:
    await approve_and_execute(make_ctx, store, ask("web", "read"), IVAN)
    with pytest.raises(ChangeRefused, match="must start with"):
        await TEAM_UPDATE.plan(make_ctx(APPROVER), TEAM_UPDATE.load({"name": "hk-web-r", "description": "mine now"}))
    kept = TEAM_UPDATE.load({"name": "hk-web-r", "description": f"{MANAGED_DESCRIPTION} for acme/web:read (docs)"})
    await TEAM_UPDATE.execute(make_ctx(APPROVER), kept)
    assert emulator_state.org(ORG).groups["hk-web-r"].description.endswith("(docs)")
