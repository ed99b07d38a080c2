"""One undo of a change at a time, the original's message following its undo, and an undone time-bound
access ending its recorded expiry. Through the Router against the emulator and the Slack stand-in, on
SQLite and PostgreSQL (the claim is the database's: concurrent clicks, also on two replicas)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.sandbox.slack_api import SlackStandIn
from bot.store import SqlRequestStore
from handlers.context import HandlerContext
from handlers.requests.lifecycle import ChangeRequest, Status
from handlers.requests.render import APPROVE, UNDO
from handlers.router import Router
from handlers.self_service import sweep_timed_grants
from hub.client import HubClient
from hub.emulator import EmulatorState
from tests.databases import OpenReplicas, database_url, open_replicas, store
from tests.handlers.routers import ALICE, BOB, HUB_OPS, IVAN, action_ids, open_router
from tests.handlers.test_undo import Ticking, approved, latest, memberships

__all__ = ["database_url", "open_replicas", "store"]  # both databases, for every test here


@pytest.fixture
def clock() -> Ticking:
    return Ticking()


@pytest.fixture
def router(store: SqlRequestStore, hub: HubClient, slack: SlackStandIn, clock: Ticking) -> Router:
    return open_router(store, hub, slack, clock)


def message_of(slack: SlackStandIn, request: ChangeRequest) -> dict[str, Any]:
    return next(m for m in slack.messages(HUB_OPS) if m["ts"] == request.ts)


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


async def undos_of(store: SqlRequestStore, original: ChangeRequest) -> list[ChangeRequest]:
    return [r for r in await store.list_requests(limit=50) if r.undoes == original.id]


async def done_team_add(router: Router) -> ChangeRequest:
    assert "Requested" in (await router.command("team add data umarkhan --reason joins data", IVAN, HUB_OPS)).text
    return await approved(router, await latest(router))


async def test_two_undo_clicks_at_once_file_one_undo(router: Router, store: SqlRequestStore) -> None:
    for _ in range(3):
        original = await done_team_add(router)
        # Both clicks read the request before either files: the store's claim decides.
        replies = await asyncio.gather(
            router.decision(UNDO, original.id, IVAN), router.decision(UNDO, original.id, BOB)
        )
        (undo,) = await undos_of(store, original)
        texts = sorted(reply.text for reply in replies)
        assert texts[0].startswith(f"An undo of this change is already waiting: request `{undo.id}`."), texts
        assert "Nothing more was requested" in texts[0] and "Requested" in texts[1]
        # Undone and redone, so the next round starts from the same org.
        await approved(router, undo)
        await router.command("team add data umarkhan --reason back", IVAN, HUB_OPS)
        await approved(router, await latest(router))
        await router.command("team remove data umarkhan --reason again", IVAN, HUB_OPS)
        await approved(router, await latest(router))


async def test_two_replicas_clicking_undo_at_once_file_one_undo(
    router: Router, store: SqlRequestStore, open_replicas: OpenReplicas, hub: HubClient, slack: SlackStandIn
) -> None:
    (other_store,) = await open_replicas(1)
    other = open_router(other_store, hub, slack, Ticking())
    original = await done_team_add(router)
    replies = await asyncio.gather(
        router.decision(UNDO, original.id, IVAN),
        other.decision(UNDO, original.id, ALICE),
        other.decision(UNDO, original.id, BOB),
    )
    (undo,) = await undos_of(store, original)
    refused = [r.text for r in replies if "Nothing more was requested" in r.text]
    assert len(refused) == 2 and all(f"request `{undo.id}`" in text for text in refused), [r.text for r in replies]
    assert len(slack.messages(HUB_OPS)) == 2  # the original and one undo


async def test_the_original_message_follows_its_undo(
    router: Router, store: SqlRequestStore, slack: SlackStandIn
) -> None:
    original = await done_team_add(router)
    assert action_ids(message_of(slack, original)) == [UNDO]

    await router.decision(UNDO, original.id, IVAN)
    (first,) = await undos_of(store, original)
    shown = message_of(slack, original)
    assert action_ids(shown) == [] and f"Undo requested: request `{first.id}` in <#{HUB_OPS}>" in text_of(shown)
    assert "Waiting for approval" in text_of(shown)

    # Denied: the change may be undone again, and its message offers Undo again.
    await router.decision("approval_deny", first.id, ALICE)
    shown = message_of(slack, original)
    assert action_ids(shown) == [UNDO] and "Undo requested" not in text_of(shown)

    assert "Requested" in (await router.decision(UNDO, original.id, BOB)).text
    second = await latest(router)
    assert second.undoes == original.id and second.id != first.id
    await approved(router, second)
    shown = message_of(slack, original)
    assert action_ids(shown) == [] and f"Undone by request `{second.id}`" in text_of(shown)
    assert "Undo requested" not in text_of(shown)
    again = await router.decision(UNDO, original.id, IVAN)
    assert again.text == f"This change was already undone by request `{second.id}`. Nothing more was requested."
    assert len(await undos_of(store, original)) == 2  # the denied one and the done one


async def test_a_failed_undo_holds_until_its_retry(
    router: Router, store: SqlRequestStore, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    original = await done_team_add(router)
    await router.decision(UNDO, original.id, IVAN)
    undo = await latest(router)
    emulator_state.fail_next(1, status=403, method="DELETE", path="/v2/orgs/acme/groups/data/members/*")
    await router.decision(APPROVE, undo.id, ALICE)
    failed = await store.get(undo.id)
    assert failed is not None and failed.status is Status.FAILED

    shown = message_of(slack, original)
    assert action_ids(shown) == [] and f"Undo requested: request `{undo.id}`" in text_of(shown)
    assert "Failed" in text_of(shown)
    reply = await router.decision(UNDO, original.id, BOB)
    assert f"An undo of this change failed: request `{undo.id}`; an approver can Retry it there" in reply.text
    assert len(await undos_of(store, original)) == 1

    await router.decision("approval_retry", undo.id, BOB)
    assert ("data", "umarkhan") not in memberships(emulator_state)
    assert f"Undone by request `{undo.id}`" in text_of(message_of(slack, original))


async def test_an_expired_undo_lets_go(
    router: Router, store: SqlRequestStore, slack: SlackStandIn, clock: Ticking
) -> None:
    original = await done_team_add(router)
    await router.decision(UNDO, original.id, IVAN)
    expired = await latest(router)
    clock.now += timedelta(hours=73)
    assert await router.approvals.sweep() == 1
    assert action_ids(message_of(slack, original)) == [UNDO]
    assert "Requested" in (await router.decision(UNDO, original.id, IVAN)).text
    assert [r.status for r in await undos_of(store, original)] == [Status.PENDING, Status.EXPIRED]
    assert expired.id in {r.id for r in await undos_of(store, original)}


async def test_undoing_time_bound_access_ends_its_recorded_expiry(
    router: Router, store: SqlRequestStore, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    assert "Requested" in (await router.command("request acme/docs write for 2h fixing the docs", IVAN, HUB_OPS)).text
    original = await approved(router, await latest(router))
    team = original.result["team"] if original.result else None
    assert (team, "ivanpetrov") in memberships(emulator_state)
    (grant,) = [g for g in await store.active_timed_grants() if g.request_id == original.id]

    await router.decision(UNDO, original.id, IVAN)
    undo = await latest(router)
    # Asking is not undoing: the recorded end still stands while the undo waits (and if it is denied).
    assert [g.id for g in await store.active_timed_grants()] == [grant.id]
    await approved(router, undo)
    assert (team, "ivanpetrov") not in memberships(emulator_state)
    assert await store.active_timed_grants() == []
    ended = [e for e in await store.audit_log(request_id=original.id) if e.event == "grant.undone"]
    assert len(ended) == 1 and ended[0].detail["undone_by"] == undo.id and ended[0].detail["team"] == team

    # The sweep past the old end finds nothing: no second removal, no "has ended" message.
    dms_before = len(slack.dms(IVAN))
    calls_before = len(emulator_state.requests)
    contexts = router.approvals.contexts

    def context(instance: str) -> HandlerContext | None:
        return contexts(instance, "hubkeeper", None)

    assert await sweep_timed_grants(store, context, datetime.now(UTC) + timedelta(hours=3)) == []
    assert len(emulator_state.requests) == calls_before
    assert len(slack.dms(IVAN)) == dms_before
