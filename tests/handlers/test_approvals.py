"""The approval lifecycle against real parts: the SQL store, the Slack stand-in (through the bot's own
SlackMessenger) and the Docker Hub emulator. The change kind here is the test's own: it creates a
team through the real client, so the lifecycle is tested apart from the production kinds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackDirectory, SlackMessenger
from bot.store import SqlRequestStore
from bot.store.access_store import SqlAccessIndexStore
from handlers.changes.fields import Team
from handlers.changes.preconditions import existing_team
from handlers.commands import Change, parse
from handlers.context import HandlerContext
from handlers.grammar import UsageError, positional
from handlers.help import help_reply
from handlers.requests import kinds
from handlers.requests.approvals import ApprovalPolicy, Approvals
from handlers.requests.kind import ChangeKind, ChangeRefused, Outcome, Params, Plan
from handlers.requests.lifecycle import Status
from handlers.requests.render import APPROVE, DENY, RETRY
from hub import paths
from hub.client import HubClient
from hub.emulator import EmulatorState
from tests.databases import database_url  # noqa: F401  (fixture: SQLite and PostgreSQL)

ALICE, BOB, IVAN = "U0ALICE01", "U0BOBOK01", "U0IVANP01"  # alice and bob are S0APPROVERS
HUB_OPS, AUDIT = "C0HUBOPS01", "C0GENERAL1"
TOKEN = "xoxb-approvals"


class CreateTeamParams(Params):
    team: str
    destructive: bool = False


class CreateTeam(ChangeKind[CreateTeamParams]):
    name = "test_create_team"
    command = None
    params_model = CreateTeamParams

    def parse(self, args: list[str]) -> CreateTeamParams:
        return CreateTeamParams(team=args[0])

    def destructive(self, params: CreateTeamParams) -> bool:
        return params.destructive

    async def plan(self, ctx: HandlerContext, params: CreateTeamParams) -> Plan:
        team = params.team
        if team in {group.name for group in await ctx.hub.list_groups()}:
            raise ChangeRefused(f"team {team} exists already")
        return Plan(summary=f"Create team *{team}*", params=params)

    async def execute(self, ctx: HandlerContext, params: CreateTeamParams) -> Outcome:
        created = await ctx.hub.create_group(params.team, "made by a test")
        return Outcome(summary=f"created team *{created.name}*", result={"team_id": created.id})


CREATE_TEAM = CreateTeam()


@pytest.fixture(autouse=True)
def _registered(extra_kinds: Callable[[ChangeKind[Any]], None]) -> None:
    extra_kinds(CREATE_TEAM)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(bot_token=TOKEN) as standin:
        yield standin


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def open_lifecycle(store: SqlRequestStore, hub: HubClient, slack: SlackStandIn, clock: Clock) -> Approvals:
    client = AsyncWebClient(token=TOKEN, base_url=slack.api_url)
    messenger, directory = SlackMessenger(client), SlackDirectory(client)

    def contexts(instance: str, actor: str, request_id: str | None) -> HandlerContext | None:
        if instance != "acme":
            return None
        return HandlerContext(
            hub=hub,
            instance=instance,
            actor=actor,
            messenger=messenger,
            directory=directory,
            store=store,
            access_index=SqlAccessIndexStore(store.engine),
            request_id=request_id,
        )

    policy = ApprovalPolicy(
        channel=HUB_OPS,
        approvers=frozenset({"S0APPROVERS"}),
        destructive_approvals=2,
        request_ttl=timedelta(hours=1),
        audit_channel=AUDIT,
    )
    return Approvals(
        store=store, messenger=messenger, directory=directory, policies={"acme": policy}, contexts=contexts, clock=clock
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlRequestStore]:
    async with await SqlRequestStore.open(f"sqlite:///{tmp_path / 'approvals.db'}") as opened:
        yield opened


@pytest.fixture
async def approvals(store: SqlRequestStore, hub: HubClient, slack: SlackStandIn, clock: Clock) -> Approvals:
    return await open_lifecycle(store, hub, slack, clock)


async def ask(approvals: Approvals, hub: HubClient, team: str = "mobile", **params: Any) -> str:
    ctx = approvals.contexts("acme", IVAN, None)
    reply = await approvals.submit(ctx, CREATE_TEAM, CREATE_TEAM.load({"team": team, **params}), "new app")
    assert "Requested" in reply.text, reply.text
    pending = await approvals.store.list_requests(requester=IVAN, limit=1)
    return pending[0].id


def approval_message(slack: SlackStandIn) -> dict[str, Any]:
    return slack.messages(HUB_OPS)[-1]


def buttons(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def writes(state: EmulatorState) -> list[str]:
    return [f"{r.method} {r.path}" for r in state.requests if r.method != "GET" and r.path != "/v2/auth/token"]


async def test_asking_posts_an_approval_and_changes_nothing(
    approvals: Approvals, hub: HubClient, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    request_id = await ask(approvals, hub)
    message = approval_message(slack)
    text = json.dumps(message)
    assert f"<@{IVAN}> asks to" in text and "Create team *mobile*" in text and "new app" in text
    assert buttons(message) == [APPROVE, DENY]
    assert writes(emulator_state) == []
    stored = await approvals.store.get(request_id)
    assert stored is not None and stored.status is Status.PENDING and stored.ts == message["ts"]


async def test_a_refused_plan_stores_nothing(approvals: Approvals, hub: HubClient, slack: SlackStandIn) -> None:
    reply = await approvals.submit(
        approvals.contexts("acme", IVAN, None), CREATE_TEAM, CREATE_TEAM.load({"team": "backend"}), "x"
    )
    assert "exists already" in reply.text
    assert await approvals.store.list_requests() == [] and slack.messages(HUB_OPS) == []


async def test_approval_executes_once_and_tells_everyone(
    approvals: Approvals, hub: HubClient, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    request_id = await ask(approvals, hub)
    reply = await approvals.approve(request_id, BOB)
    assert "Done" in reply.text
    assert "mobile" in emulator_state.org("acme").groups
    message = approval_message(slack)
    assert buttons(message) == [] and f"Done by <@{BOB}>" in json.dumps(message)
    assert "created team" in json.dumps(slack.dms(IVAN))
    assert request_id in json.dumps(slack.messages(AUDIT))
    events = [event.event for event in await approvals.store.audit_log(request_id=request_id)]
    assert events == ["request.created", "request.approved", "change.started", "change.done"]
    again = await approvals.approve(request_id, ALICE)
    assert f"already approved by <@{BOB}> (now done)" in again.text


async def test_non_approvers_and_self_approval_change_nothing(
    approvals: Approvals, hub: HubClient, store: SqlRequestStore, emulator_state: EmulatorState
) -> None:
    request_id = await ask(approvals, hub)
    assert "Only approvers" in (await approvals.approve(request_id, IVAN)).text
    assert "Only approvers" in (await approvals.deny(request_id, IVAN, "no")).text
    alice_asks = await approvals.submit(
        approvals.contexts("acme", ALICE, None), CREATE_TEAM, CREATE_TEAM.load({"team": "apps"}), ""
    )
    own = (await store.list_requests(requester=ALICE))[0].id
    assert "Requested" in alice_asks.text
    assert "cannot approve your own" in (await approvals.approve(own, ALICE)).text
    assert writes(emulator_state) == []
    assert {r.status for r in await store.list_requests()} == {Status.PENDING}


async def test_deny_with_a_reason(
    approvals: Approvals, hub: HubClient, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    request_id = await ask(approvals, hub)
    await approvals.deny(request_id, ALICE, "use the <existing> team")
    stored = await approvals.store.get(request_id)
    assert stored is not None and stored.status is Status.DENIED and stored.decided_by == ALICE
    assert "use the &lt;existing&gt; team" in json.dumps(slack.dms(IVAN))
    assert buttons(approval_message(slack)) == []
    assert "already denied" in (await approvals.approve(request_id, BOB)).text
    assert writes(emulator_state) == []


async def test_a_failure_is_recorded_and_retry_succeeds(
    approvals: Approvals, hub: HubClient, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    request_id = await ask(approvals, hub)
    emulator_state.fail_next(1, status=503)  # a create is not retried by the client: it fails
    reply = await approvals.approve(request_id, BOB)
    assert "Failed" in reply.text and "unavailable" in reply.text
    failed = await approvals.store.get(request_id)
    assert failed is not None and failed.status is Status.FAILED and failed.error
    assert "mobile" not in emulator_state.org("acme").groups
    assert buttons(approval_message(slack)) == [RETRY]
    done = await approvals.retry(request_id, ALICE)
    assert "Done" in done.text and "mobile" in emulator_state.org("acme").groups
    final = await approvals.store.get(request_id)
    assert final is not None and final.status is Status.DONE and final.attempts == 2


async def test_destructive_changes_need_two_distinct_approvers(
    approvals: Approvals, hub: HubClient, emulator_state: EmulatorState
) -> None:
    request_id = await ask(approvals, hub, destructive=True)
    assert "needs 1 more approver" in (await approvals.approve(request_id, ALICE)).text
    assert "approved this already" in (await approvals.approve(request_id, ALICE)).text
    assert "mobile" not in emulator_state.org("acme").groups
    assert "Done" in (await approvals.approve(request_id, BOB)).text
    assert "mobile" in emulator_state.org("acme").groups


async def test_pending_requests_expire(
    approvals: Approvals, hub: HubClient, slack: SlackStandIn, clock: Clock, emulator_state: EmulatorState
) -> None:
    request_id = await ask(approvals, hub)
    clock.now += timedelta(hours=2)
    assert await approvals.sweep() == 1
    stored = await approvals.store.get(request_id)
    assert stored is not None and stored.status is Status.EXPIRED
    assert "Expired" in json.dumps(slack.dms(IVAN)) and buttons(approval_message(slack)) == []
    assert "already expired" in (await approvals.approve(request_id, BOB)).text
    assert await approvals.sweep() == 0


async def test_an_overdue_request_is_not_approved_before_the_sweep(
    approvals: Approvals, hub: HubClient, clock: Clock, emulator_state: EmulatorState
) -> None:
    request_id = await ask(approvals, hub)
    clock.now += timedelta(hours=2)
    assert "already expired" in (await approvals.approve(request_id, BOB)).text
    assert writes(emulator_state) == []


async def test_a_refused_slack_post_is_retried_by_the_sweep(
    approvals: Approvals, hub: HubClient, slack: SlackStandIn, clock: Clock
) -> None:
    slack.rate_limit_next(10, retry_after=0, method="chat.postMessage")  # past the client's retries
    reply = await approvals.submit(
        approvals.contexts("acme", IVAN, None), CREATE_TEAM, CREATE_TEAM.load({"team": "mobile"}), ""
    )
    assert "is stored" in reply.text and "try again" in reply.text
    stored = (await approvals.store.list_requests())[0]
    assert stored.status is Status.PENDING and stored.ts is None
    slack.state.rate_limits.clear()
    # A sweep right after filing leaves the post to the submit that is (or was) making it: a request
    # still being posted must not get a second approval message.
    await approvals.sweep()
    assert (await approvals.store.get(stored.id)) is not None and slack.calls_to("chat.postMessage")[-1].ok is False
    clock.now += approvals.pickup_grace
    await approvals.sweep()
    again = await approvals.store.get(stored.id)
    assert again is not None and again.ts is not None and buttons(approval_message(slack)) == [APPROVE, DENY]
    await approvals.sweep()
    assert len([c for c in slack.calls_to("chat.postMessage") if c.ok]) == 1


async def test_a_restart_keeps_the_request_approvable(
    store: SqlRequestStore,
    hub: HubClient,
    slack: SlackStandIn,
    clock: Clock,
    emulator_state: EmulatorState,
    tmp_path: Path,
) -> None:
    first = await open_lifecycle(store, hub, slack, clock)
    request_id = await ask(first, hub)
    async with await SqlRequestStore.open(f"sqlite:///{tmp_path / 'approvals.db'}") as reopened:
        second = await open_lifecycle(reopened, hub, slack, clock)
        assert "Done" in (await second.approve(request_id, BOB)).text
    assert "mobile" in emulator_state.org("acme").groups


async def test_ten_concurrent_approvals_execute_once(
    database_url: str,  # noqa: F811
    hub: HubClient,
    slack: SlackStandIn,
    clock: Clock,
    emulator_state: EmulatorState,
) -> None:
    """Ten clicks on ten replicas (each with its own store connection pool) → one Docker Hub write."""
    replicas = [await SqlRequestStore.open(database_url) for _ in range(10)]
    try:
        lifecycles = [await open_lifecycle(store, hub, slack, clock) for store in replicas]
        request_id = await ask(lifecycles[0], hub)
        clicks = [lifecycles[i].approve(request_id, ALICE if i % 2 else BOB) for i in range(10)]
        replies = await asyncio.gather(*clicks)
    finally:
        for replica in replicas:
            await replica.close()
    assert writes(emulator_state) == ["POST /v2/orgs/acme/groups"]
    assert sum("Done" in reply.text for reply in replies) == 1
    assert all("Done" in r.text or "already" in r.text for r in replies)


async def test_the_requester_may_cancel_while_pending(
    approvals: Approvals, hub: HubClient, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    request_id = await ask(approvals, hub)
    assert "Only the person who asked" in (await approvals.cancel(request_id, BOB)).text
    assert (await approvals.cancel(request_id, IVAN)).text.startswith("Cancelled")
    stored = await approvals.store.get(request_id)
    assert stored is not None and stored.status is Status.CANCELLED and stored.decided_by == IVAN
    assert buttons(approval_message(slack)) == [] and "Cancelled" in json.dumps(approval_message(slack))
    assert "already cancelled" in (await approvals.approve(request_id, BOB)).text
    assert writes(emulator_state) == []


# -- a new change kind is one class and one line in the registry --------------------------------------


class ArchiveParams(Params):
    team: Team


class TeamArchive(ChangeKind[ArchiveParams]):
    """What a contributor would add: `/hub team archive <team>` marks a team's description."""

    name = "test_team_archive"
    command = "team archive"
    usage = "team archive <team>"
    description = "Mark a team as archived"
    examples = ("/hub team archive mobile",)
    params_model = ArchiveParams

    def parse(self, args: list[str]) -> ArchiveParams:
        (team,) = positional(self.syntax, args, 1, "one team name")
        return ArchiveParams(team=paths.team(team))

    async def plan(self, ctx: HandlerContext, params: ArchiveParams) -> Plan:
        group = await existing_team(ctx, params.team)
        return Plan(summary=f"Archive team *{group.name}*", params=ArchiveParams(team=group.name))

    async def execute(self, ctx: HandlerContext, params: ArchiveParams) -> Outcome:
        group = await existing_team(ctx, params.team)
        updated = await ctx.hub.update_group(group.name, description=f"[archived] {group.description or ''}")
        return Outcome(summary=f"archived team *{updated.name}*")


async def test_a_new_kind_is_parsed_planned_helped_and_executed(
    approvals: Approvals,
    hub: HubClient,
    slack: SlackStandIn,
    emulator_state: EmulatorState,
    extra_kinds: Callable[[ChangeKind[Any]], None],
) -> None:
    archive = TeamArchive()
    with pytest.raises(UsageError, match="there is no command 'team archive'"):
        parse("team archive data")
    extra_kinds(archive)

    parsed = parse("team archive data --reason done with it").command
    assert parsed == Change(archive, ArchiveParams(team="data"), "done with it")
    help_text = json.dumps(help_reply(None, ("acme",)).blocks)
    assert "/hub team archive &lt;team&gt;" in help_text and "Mark a team as archived" in help_text
    assert "Mark a team as archived" in json.dumps(help_reply("team archive", ("acme",)).blocks)

    assert isinstance(parsed, Change)
    reply = await approvals.submit(approvals.contexts("acme", IVAN, None), parsed.kind, parsed.params, parsed.reason)
    assert "Requested: Archive team *data*" in reply.text
    request = (await approvals.store.list_requests(requester=IVAN, limit=1))[0]
    assert (request.kind, request.params) == ("test_team_archive", {"team": "data"})
    assert "Archive team *data*" in json.dumps(approval_message(slack))
    assert "Done" in (await approvals.approve(request.id, ALICE)).text
    assert (emulator_state.org("acme").groups["data"].description or "").startswith("[archived]")


async def test_an_owners_invite_needs_the_destructive_approvers(
    approvals: Approvals, hub: HubClient, emulator_state: EmulatorState
) -> None:
    invite = kinds.named("invite")
    params = invite.load({"invitee": "ada@acme.example", "team": "owners"})
    reply = await approvals.submit(approvals.contexts("acme", IVAN, None), invite, params, "")
    assert "Requested" in reply.text
    request = (await approvals.store.list_requests(requester=IVAN, limit=1))[0]
    assert request.destructive and request.approvals_required == 2
    assert "needs 1 more approver" in (await approvals.approve(request.id, ALICE)).text
    assert not any(i.invitee == "ada@acme.example" for i in emulator_state.org("acme").invites.values())


async def test_a_partly_applied_change_says_what_was_and_was_not_done_and_retry_finishes(
    approvals: Approvals, hub: HubClient, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    emulator_state.add_invite("acme", "ivanpetrov", inviter="alicechen", team="data")
    offboard = kinds.named("offboard")
    ctx = approvals.contexts("acme", IVAN, None)
    await approvals.submit(ctx, offboard, offboard.load({"who": "ivanpetrov"}), "leaving")
    request = (await approvals.store.list_requests(requester=IVAN, limit=1))[0]
    emulator_state.fail_next(1, 400, method="DELETE", path="/v2/orgs/acme/members/*", detail="not now")
    await approvals.approve(request.id, ALICE)
    assert "Approved" in (await approvals.approve(request.id, BOB)).text
    failed = await approvals.store.get(request.id)
    assert failed is not None and failed.status is Status.FAILED and failed.error is not None
    assert "Done: cancelled the invite for `ivanpetrov`" in failed.error
    assert "Not done: removing *ivanpetrov* from the org" in failed.error
    message = json.dumps(approval_message(slack))
    assert "Not done: removing" in message and RETRY in buttons(approval_message(slack))
    audit = [e for e in await approvals.store.audit_log(request_id=request.id) if e.event == "change.failed"]
    assert audit[-1].detail["partly_applied"]["done"] == ["cancelled the invite for `ivanpetrov`"]
    assert audit[-1].detail["partly_applied"]["not_done"][0].startswith("removing *ivanpetrov* from the org")

    assert "Done" in (await approvals.retry(request.id, ALICE)).text
    assert "ivanpetrov" not in emulator_state.org("acme").members
