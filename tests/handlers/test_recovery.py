"""Nothing stays in flight: leases, the recovery sweep, the Retry window and draining at shutdown.

On real parts (the SQL store on SQLite and PostgreSQL, the Slack stand-in through the bot's own
messenger, the Docker Hub emulator). Two lifecycles on one database play two processes: one that
dies in the middle of a change (its task is cancelled, so it records nothing and renews nothing,
as a killed process would) and one that recovers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text

from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackDirectory, SlackMessenger
from bot.store import SqlRequestStore
from bot.store.access_store import SqlAccessIndexStore
from handlers.context import HandlerContext
from handlers.requests import kinds
from handlers.requests.approvals import SHUTTING_DOWN, ApprovalPolicy, Approvals
from handlers.requests.kind import ChangeKind, Outcome, Params, Plan
from handlers.requests.lifecycle import AuditEvent, ChangeRequest, Status
from handlers.requests.render import APPROVE, DENY, RETRY
from hub.client import HubClient
from hub.emulator import EmulatorState
from tests.databases import database_url  # noqa: F401  (fixture: SQLite and PostgreSQL)

ALICE, BOB, IVAN = "U0ALICE01", "U0BOBOK01", "U0IVANP01"  # alice and bob are S0APPROVERS
HUB_OPS = "C0HUBOPS01"
TOKEN = "xoxb-recovery"
SWEEP_SECONDS = 60
LEASE = timedelta(seconds=2 * SWEEP_SECONDS)
TTL = timedelta(hours=1)


class Gates:
    """What the test kind waits on between its two steps (per team name)."""

    def __init__(self) -> None:
        self.reached: dict[str, asyncio.Event] = {}
        self.opened: dict[str, asyncio.Event] = {}

    def of(self, team: str) -> tuple[asyncio.Event, asyncio.Event]:
        return self.reached.setdefault(team, asyncio.Event()), self.opened.setdefault(team, asyncio.Event())


GATES = Gates()


class TwoTeamsParams(Params):
    team: str


class TwoTeams(ChangeKind[TwoTeamsParams]):
    """Creates `<team>-a`, records it in the audit log (as the policy apply records each change),
    waits at its gate, then creates `<team>-b`: a change that can be cut in the middle."""

    name = "test_two_teams"
    command = None
    params_model = TwoTeamsParams

    def parse(self, args: list[str]) -> TwoTeamsParams:
        return TwoTeamsParams(team=args[0])

    async def plan(self, ctx: HandlerContext, params: TwoTeamsParams) -> Plan:
        return Plan(summary=f"Create teams *{params.team}-a* and *{params.team}-b*", params=params)

    async def execute(self, ctx: HandlerContext, params: TwoTeamsParams) -> Outcome:
        reached, opened = GATES.of(params.team)
        existing = {group.name for group in await ctx.hub.list_groups()}
        for suffix in ("a", "b"):
            name = f"{params.team}-{suffix}"
            if suffix == "b":
                reached.set()
                await opened.wait()
            if name in existing:
                continue
            await ctx.hub.create_group(name, "made by a test")
            await ctx.store.append_audit(
                AuditEvent("test.step", ctx.actor, ctx.instance, request_id=ctx.request_id, detail={"summary": name})
            )
        return Outcome(summary=f"created teams *{params.team}-a* and *{params.team}-b*")


TWO_TEAMS = TwoTeams()


@pytest.fixture(autouse=True)
def _registered(extra_kinds: Callable[[ChangeKind[Any]], None]) -> None:
    extra_kinds(TWO_TEAMS)
    GATES.reached.clear()
    GATES.opened.clear()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def slack() -> AsyncIterator[SlackStandIn]:  # type: ignore[misc]
    with SlackStandIn(bot_token=TOKEN) as standin:
        yield standin


@pytest.fixture
async def stores(database_url: str) -> AsyncIterator[list[SqlRequestStore]]:  # noqa: F811
    """Two processes' stores on one database."""
    opened = [await SqlRequestStore.open(database_url)]
    opened.append(await SqlRequestStore.open(database_url))
    try:
        yield opened
    finally:
        for store in opened:
            await store.close()


def lifecycle(
    store: SqlRequestStore,
    hub: HubClient,
    slack: SlackStandIn,
    clock: Callable[[], datetime],
    executor: str,
    sweep_seconds: float = SWEEP_SECONDS,
) -> Approvals:
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

    policy = ApprovalPolicy(channel=HUB_OPS, approvers=frozenset({"S0APPROVERS"}), request_ttl=TTL)
    return Approvals(
        store=store,
        messenger=messenger,
        directory=directory,
        policies={"acme": policy},
        contexts=contexts,
        clock=clock,
        sweep_seconds=sweep_seconds,
        executor=executor,
    )


async def ask(approvals: Approvals, team: str = "mobile") -> str:
    ctx = approvals.contexts("acme", IVAN, None)
    assert ctx is not None
    reply = await approvals.submit(ctx, TWO_TEAMS, TWO_TEAMS.load({"team": team}), "new app")
    assert "Requested" in reply.text, reply.text
    return next(r.id for r in await approvals.store.list_requests(requester=IVAN) if r.params["team"] == team)


def approval_message(slack: SlackStandIn) -> dict[str, Any]:
    return slack.messages(HUB_OPS)[-1]


def buttons(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def teams(state: EmulatorState) -> set[str]:
    return set(state.org("acme").groups)


async def status_of(store: SqlRequestStore, request_id: str) -> ChangeRequest:
    request = await store.get(request_id)
    assert request is not None
    return request


async def die_during_the_change(approvals: Approvals, request_id: str, team: str) -> None:
    """Approve as BOB, wait until the change is half done, then kill the execution (nothing recorded)."""
    reached, _ = GATES.of(team)
    approving = asyncio.create_task(approvals.approve(request_id, BOB))
    await asyncio.wait_for(reached.wait(), 30)
    approving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await approving


async def test_an_execution_whose_lease_runs_out_is_interrupted_with_retry(
    stores: list[SqlRequestStore], hub: HubClient, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    clock = Clock()
    dying = lifecycle(stores[0], hub, slack, clock, "host-a:1:dead")
    recovering = lifecycle(stores[1], hub, slack, clock, "host-b:2:live")
    request_id = await ask(dying)
    await die_during_the_change(dying, request_id, "mobile")
    stuck = await status_of(stores[1], request_id)
    assert stuck.status is Status.EXECUTING and stuck.executor == "host-a:1:dead"
    assert teams(emulator_state) >= {"mobile-a"} and "mobile-b" not in teams(emulator_state)

    clock.now += LEASE - timedelta(seconds=1)
    assert await recovering.sweep() == 0  # the lease still holds
    assert (await status_of(stores[1], request_id)).status is Status.EXECUTING

    clock.now += timedelta(seconds=1)
    assert await recovering.sweep() == 1
    interrupted = await status_of(stores[1], request_id)
    assert interrupted.status is Status.INTERRUPTED and interrupted.retry_until == clock.now + TTL
    assert interrupted.error is not None and "Done before it stopped: mobile-a" in interrupted.error
    message = approval_message(slack)
    text = json.dumps(message)
    assert "Interrupted: check and Retry" in text and "host-a:1:dead" in text
    assert "Done before it stopped: mobile-a" in text
    assert buttons(message) == [RETRY]
    assert "Interrupted" in json.dumps(slack.dms(IVAN))
    assert await recovering.sweep() == 0  # once

    GATES.of("mobile")[1].set()
    assert "Done" in (await recovering.retry(request_id, ALICE)).text
    done = await status_of(stores[1], request_id)
    assert done.status is Status.DONE and done.attempts == 2 and done.executor == "host-b:2:live"
    assert {"mobile-a", "mobile-b"} <= teams(emulator_state)
    assert buttons(approval_message(slack)) == []
    # (The test's clock jumps ahead of the steps' own timestamps, so the log is compared unordered.)
    events = sorted(event.event for event in await stores[1].audit_log(request_id=request_id))
    assert events == sorted(
        [
            "request.created",
            "request.approved",
            "change.started",
            "test.step",
            "change.interrupted",
            "request.retried",
            "change.started",
            "test.step",
            "change.done",
        ]
    )


async def test_the_lease_is_renewed_while_the_change_runs(
    stores: list[SqlRequestStore], hub: HubClient, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    """A change that runs for longer than its lease is not interrupted while its executor lives."""
    sweep_seconds = 1.5  # a lease of 3 s, renewed every second
    running = lifecycle(stores[0], hub, slack, lambda: datetime.now(UTC), "host-a:1:slow", sweep_seconds)
    sweeping = lifecycle(stores[1], hub, slack, lambda: datetime.now(UTC), "host-b:2:sweeper", sweep_seconds)
    request_id = await ask(running)
    reached, opened = GATES.of("mobile")
    approving = asyncio.create_task(running.approve(request_id, BOB))
    await asyncio.wait_for(reached.wait(), 30)
    first = (await status_of(stores[1], request_id)).lease_until
    loop = asyncio.get_running_loop()
    end = loop.time() + 3 * 2 * sweep_seconds  # three leases' worth
    while loop.time() < end:
        assert await sweeping.sweep() == 0
        await asyncio.sleep(0.3)
    current = await status_of(stores[1], request_id)
    assert current.status is Status.EXECUTING and first is not None and current.lease_until is not None
    assert current.lease_until > first
    opened.set()
    assert "Done" in (await approving).text


async def test_a_failed_write_between_approve_and_execute_is_recovered_by_the_sweep(
    stores: list[SqlRequestStore], hub: HubClient, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    clock = Clock()
    approvals = lifecycle(stores[0], hub, slack, clock, "host-a:1:x")
    request_id = await ask(approvals)
    GATES.of("mobile")[1].set()
    # The database refuses the write that starts the execution (as a full disk or a lost connection
    # would), after the approval itself was stored.
    async with stores[0].engine.begin() as connection:
        for statement in _failing_trigger(connection.dialect.name):
            await connection.execute(text(statement))
    reply = await approvals.approve(request_id, BOB)
    assert reply.text.startswith("Approved.") and "sweep picks it up" in reply.text
    assert (await status_of(stores[0], request_id)).status is Status.APPROVED
    assert "mobile-a" not in teams(emulator_state)
    async with stores[0].engine.begin() as connection:
        await connection.execute(text("DROP TRIGGER fail_execute" + (" ON requests" if _pg(connection) else "")))

    assert await approvals.sweep() == 0  # within the short grace its approver's process may still start it
    clock.now += approvals.pickup_grace
    assert await approvals.sweep() == 1
    assert await approvals.sweep() == 0  # one start, however many sweeps come while it runs
    await approvals.pickups_finished()
    done = await status_of(stores[0], request_id)
    assert done.status is Status.DONE and done.attempts == 1
    assert {"mobile-a", "mobile-b"} <= teams(emulator_state)
    assert "Done" in json.dumps(approval_message(slack)) and f"<@{BOB}>" in json.dumps(approval_message(slack))
    events = [event.event for event in await stores[0].audit_log(request_id=request_id)]
    assert "request.picked_up" in events and events.count("change.done") == 1


def _pg(connection: Any) -> bool:
    return bool(connection.dialect.name == "postgresql")


def _failing_trigger(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [
            "CREATE TRIGGER fail_execute BEFORE UPDATE OF status ON requests WHEN NEW.status = 'executing' "
            "BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END"
        ]
    return [
        "CREATE FUNCTION fail_execute() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'could not write (injected)'; END $$",
        "CREATE TRIGGER fail_execute BEFORE UPDATE ON requests FOR EACH ROW "
        "WHEN (NEW.status = 'executing') EXECUTE FUNCTION fail_execute()",
    ]


@pytest.mark.parametrize("after_ttl", [False, True], ids=["within-ttl", "after-ttl"])
async def test_retry_of_a_failure_only_within_the_request_ttl(
    stores: list[SqlRequestStore],
    hub: HubClient,
    slack: SlackStandIn,
    emulator_state: EmulatorState,
    after_ttl: bool,
) -> None:
    clock = Clock()
    approvals = lifecycle(stores[0], hub, slack, clock, "host-a:1:x")
    request_id = await ask(approvals)
    GATES.of("mobile")[1].set()
    emulator_state.fail_next(1, status=503, method="POST", path="/v2/orgs/acme/groups")  # a create is not retried
    assert "Failed" in (await approvals.approve(request_id, BOB)).text
    failed = await status_of(stores[0], request_id)
    assert failed.status is Status.FAILED and failed.retry_until == clock.now + TTL
    assert buttons(approval_message(slack)) == [RETRY]
    assert "Retry possible until" in json.dumps(approval_message(slack))

    clock.now += TTL + timedelta(seconds=1) if after_ttl else TTL - timedelta(seconds=1)
    reply = await approvals.retry(request_id, ALICE)
    if after_ttl:
        assert "can no longer be retried" in reply.text and "file it again" in reply.text
        assert (await status_of(stores[0], request_id)).status is Status.FAILED
        assert buttons(approval_message(slack)) == []  # the re-rendered message has no Retry any more
        assert "Retry window closed" in json.dumps(approval_message(slack))
        assert "mobile-a" not in teams(emulator_state)
    else:
        assert "Done" in reply.text
        assert {"mobile-a", "mobile-b"} <= teams(emulator_state)


async def test_draining_lets_a_change_finish_within_the_grace(
    stores: list[SqlRequestStore], hub: HubClient, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    approvals = lifecycle(stores[0], hub, slack, Clock(), "host-a:1:x")
    request_id = await ask(approvals)
    other = await ask(approvals, "other")
    reached, opened = GATES.of("mobile")
    approving = asyncio.create_task(approvals.approve(request_id, BOB))
    await asyncio.wait_for(reached.wait(), 30)
    draining = asyncio.create_task(approvals.drain(60))
    await asyncio.sleep(0)
    # Stopping: no new execution starts here, and nothing about the request is changed.
    assert (await approvals.approve(other, BOB)).text == SHUTTING_DOWN
    assert (await status_of(stores[0], other)).status is Status.PENDING
    assert buttons(approval_message(slack)) == [APPROVE, DENY]
    opened.set()
    assert await asyncio.wait_for(draining, 30) == 0
    assert "Done" in (await approving).text
    assert (await status_of(stores[0], request_id)).status is Status.DONE


async def test_draining_leaves_what_outlasts_the_grace_to_recovery(
    stores: list[SqlRequestStore], hub: HubClient, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    clock = Clock()
    stopping = lifecycle(stores[0], hub, slack, clock, "host-a:1:stopping")
    request_id = await ask(stopping)
    reached, _ = GATES.of("mobile")
    approving = asyncio.create_task(stopping.approve(request_id, BOB))
    await asyncio.wait_for(reached.wait(), 30)
    assert await stopping.drain(0.2) == 1
    with pytest.raises(asyncio.CancelledError):  # stopped: it records nothing and answers nothing
        await approving
    left = await status_of(stores[0], request_id)
    assert left.status is Status.EXECUTING and left.error is None  # not recorded as failed
    assert await stopping.sweep() == 0  # a stopping process starts nothing

    restarted = lifecycle(stores[1], hub, slack, clock, "host-a:2:restarted")
    clock.now += LEASE
    assert await restarted.sweep() == 1
    assert (await status_of(stores[1], request_id)).status is Status.INTERRUPTED
    assert buttons(approval_message(slack)) == [RETRY]


async def test_an_executor_that_lost_its_lease_stops_and_records_nothing(
    stores: list[SqlRequestStore], hub: HubClient, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    """Its renewals could not land in time (say the database was out of reach) and another replica
    marked the request interrupted: the change is stopped before its next step, and its outcome is
    not written over the interruption."""
    alive = lifecycle(stores[0], hub, slack, lambda: datetime.now(UTC), "host-a:1:slow", sweep_seconds=0.3)
    later = Clock()
    later.now += timedelta(hours=1)  # the other replica sees this lease as long run out
    other = lifecycle(stores[1], hub, slack, later, "host-b:2:sweeper")
    request_id = await ask(alive)
    reached, opened = GATES.of("mobile")
    approving = asyncio.create_task(alive.approve(request_id, BOB))
    await asyncio.wait_for(reached.wait(), 30)
    assert await other.sweep() == 1
    reply = await asyncio.wait_for(approving, 30)  # its next renewal fails: the change is stopped
    opened.set()
    assert "Interrupted" in reply.text
    final = await status_of(stores[0], request_id)
    assert final.status is Status.INTERRUPTED and final.attempts == 1
    assert "mobile-a" in teams(emulator_state) and "mobile-b" not in teams(emulator_state)
    assert [e.event for e in await stores[0].audit_log(request_id=request_id)].count("change.done") == 0


async def test_an_interrupted_offboarding_lists_the_steps_it_had_done(
    stores: list[SqlRequestStore], hub: HubClient, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    """A real kind recording its steps as it goes: the member is removed, then the process dies while
    Docker Hub is cancelling the invite; the interrupted request says the removal happened."""
    clock = Clock()
    dying = lifecycle(stores[0], hub, slack, clock, "host-a:1:dead")
    recovering = lifecycle(stores[1], hub, slack, clock, "host-b:2:live")
    emulator_state.add_invite("acme", "ivanpetrov", inviter="alicechen", team="data")
    offboard = kinds.named("offboard")
    ctx = dying.contexts("acme", IVAN, None)
    assert ctx is not None
    await dying.submit(ctx, offboard, offboard.load({"who": "ivanpetrov"}), "leaving")
    request_id = (await stores[0].list_requests(requester=IVAN, limit=1))[0].id
    emulator_state.delay_next(1, 3, method="DELETE", path="/v2/invites/*")
    approving = asyncio.create_task(dying.approve(request_id, BOB))
    for _ in range(300):  # until the first step is done and recorded
        if any(e.event == "change.step" for e in await stores[0].audit_log(request_id=request_id)):
            break
        await asyncio.sleep(0.1)
    assert "ivanpetrov" not in emulator_state.org("acme").members
    approving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await approving

    clock.now += LEASE
    assert await recovering.sweep() == 1
    interrupted = await status_of(stores[1], request_id)
    assert interrupted.status is Status.INTERRUPTED
    text = json.dumps(approval_message(slack))
    assert "Done before it stopped: removed *ivanpetrov* from the org" in text
    assert buttons(approval_message(slack)) == [RETRY]


async def test_the_sweep_takes_retry_off_a_message_once_its_window_closed(
    stores: list[SqlRequestStore], hub: HubClient, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    clock = Clock()
    approvals = lifecycle(stores[0], hub, slack, clock, "host-a:1:x")
    request_id = await ask(approvals)
    emulator_state.fail_next(1, status=503, method="POST", path="/v2/orgs/acme/groups")
    assert "Failed" in (await approvals.approve(request_id, BOB)).text
    await approvals.sweep()
    assert buttons(approval_message(slack)) == [RETRY]
    clock.now += TTL - timedelta(seconds=1)
    await approvals.sweep()
    assert buttons(approval_message(slack)) == [RETRY]
    clock.now += timedelta(seconds=1)
    await approvals.sweep()
    assert buttons(approval_message(slack)) == []
    assert "Retry window closed" in json.dumps(approval_message(slack))
