"""Dry run and Undo end to end in the sandbox: signed slash commands and signed button clicks into the
real bot over HTTP (the console signs them as Slack does), the emulator and the Slack stand-in."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.sandbox.run import Sandbox
from handlers.requests.lifecycle import SYSTEM
from handlers.self_service import sweep_timed_grants
from hub.emulator import EmulatorState
from tests.bot.test_approvals_e2e import HUB_OPS, click, hub_writes
from tests.bot.test_slack_e2e import Person, text_of

ALICE, BOB, IVAN, KENJI = "U0ALICE01", "U0BOBOK01", "U0IVANP01", "U0KENJI01"


def data_team(state: EmulatorState) -> set[str]:
    return set(state.org("acme").groups["data"].members)


async def wait_done(sandbox: Sandbox, count: int) -> list[dict[str, Any]]:
    """The approval messages, once `count` of them exist and the newest says Done."""

    def ready() -> list[dict[str, Any]] | None:
        messages = sandbox.slack.messages(HUB_OPS)
        return messages if len(messages) >= count and "Done" in text_of(messages[count - 1]) else None

    found: list[dict[str, Any]] = await sandbox.slack.wait_for_async(ready, timeout=20)
    return found


async def test_a_dry_run_answers_the_asker_only(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    reply = await Person(sandbox, http, IVAN).command("team add data umarkhan --reason joins data --dry-run")
    text = text_of(reply)
    assert "Add *umarkhan* to team *data*" in text and "Dry run" in text and "joins data" in text
    assert sandbox.slack.messages(HUB_OPS) == []
    assert sandbox.bot is not None and await sandbox.bot.approvals.store.list_requests() == []
    assert hub_writes(emulator_state) == []


async def test_undo_by_the_requester_then_by_an_approver_and_a_stranger_is_refused(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    ivan = Person(sandbox, http, IVAN)
    assert "Requested" in text_of(await ivan.command("team add data umarkhan --reason joins data"))
    await click(sandbox, http, ALICE, "approval_approve")
    (original,) = await wait_done(sandbox, 1)
    assert "umarkhan" in data_team(emulator_state)

    # Someone who neither asked nor approves: refused, nothing filed.
    await click(sandbox, http, KENJI, "approval_undo", original)
    refused = await sandbox.slack.wait_for_async(
        lambda: [m for m in sandbox.slack.ephemerals(KENJI) if "Only approvers" in json.dumps(m)] or None
    )
    assert refused and len(sandbox.slack.messages(HUB_OPS)) == 1

    # The requester: the reverse is filed as a new request, through approval.
    await click(sandbox, http, IVAN, "approval_undo", original)
    undo = await sandbox.slack.wait_for_async(lambda: sandbox.slack.messages(HUB_OPS)[1:2] or None, timeout=15)
    text = text_of(undo[0])
    assert "Remove *umarkhan* from team *data*" in text and "Undoes request" in text
    assert "umarkhan" in data_team(emulator_state)  # not before approval
    await click(sandbox, http, ALICE, "approval_approve", undo[0])
    messages = await wait_done(sandbox, 2)
    assert "umarkhan" not in data_team(emulator_state)

    # An approver undoes the undo.
    await click(sandbox, http, BOB, "approval_undo", messages[1])
    redo = await sandbox.slack.wait_for_async(lambda: sandbox.slack.messages(HUB_OPS)[2:3] or None, timeout=15)
    assert "Add *umarkhan* to team *data*" in text_of(redo[0])
    await click(sandbox, http, ALICE, "approval_approve", redo[0])
    await wait_done(sandbox, 3)
    assert "umarkhan" in data_team(emulator_state)


def undo_button(message: dict[str, Any]) -> bool:
    return any(e.get("action_id") == "approval_undo" for b in message.get("blocks", []) for e in b.get("elements", []))


async def test_two_undo_clicks_at_once_file_one_undo_and_the_original_says_so(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    assert sandbox.bot is not None
    store = sandbox.bot.approvals.store
    assert "Requested" in text_of(await Person(sandbox, http, IVAN).command("team add data umarkhan --reason joins"))
    await click(sandbox, http, ALICE, "approval_approve")
    (original,) = await wait_done(sandbox, 1)

    # The requester and an approver click Undo at the same moment: two signed requests into Bolt.
    await asyncio.gather(
        click(sandbox, http, IVAN, "approval_undo", original), click(sandbox, http, BOB, "approval_undo", original)
    )

    def told() -> list[str] | None:
        said = [json.dumps(m) for user in (IVAN, BOB) for m in sandbox.slack.ephemerals(user)]
        return [text for text in said if "Nothing more was requested" in text] or None

    (refusal,) = await sandbox.slack.wait_for_async(told, timeout=20)
    undos = [r for r in await store.list_requests(limit=10) if r.undoes is not None]
    assert len(undos) == 1 and f"already waiting: request `{undos[0].id}`" in refusal
    (undo,) = undos

    def original_now() -> dict[str, Any]:
        return next(m for m in sandbox.slack.messages(HUB_OPS) if m["ts"] == original["ts"])

    shown = await sandbox.slack.wait_for_async(
        lambda: original_now() if f"Undo requested: request `{undo.id}`" in text_of(original_now()) else None
    )
    assert not undo_button(shown)
    messages = sandbox.slack.messages(HUB_OPS)
    assert len(messages) == 2 and f"Undoes request `{undo.undoes}`" in text_of(messages[1])

    await click(sandbox, http, ALICE, "approval_approve", messages[1])
    await wait_done(sandbox, 2)
    shown = await sandbox.slack.wait_for_async(
        lambda: original_now() if f"Undone by request `{undo.id}`" in text_of(original_now()) else None
    )
    assert not undo_button(shown) and "umarkhan" not in data_team(emulator_state)


async def test_undoing_time_bound_access_ends_it_for_good(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    assert sandbox.bot is not None
    bot = sandbox.bot
    ivan = Person(sandbox, http, IVAN)
    assert "Requested" in text_of(await ivan.command("request acme/docs write for 2h fixing the docs"))
    await click(sandbox, http, ALICE, "approval_approve")
    (original,) = await wait_done(sandbox, 1)
    (grant,) = await bot.store.active_timed_grants()
    assert "ivanpetrov" in emulator_state.org("acme").groups[grant.team].members

    await click(sandbox, http, IVAN, "approval_undo", original)
    undo = await sandbox.slack.wait_for_async(lambda: sandbox.slack.messages(HUB_OPS)[1:2] or None, timeout=15)
    assert f"Remove *ivanpetrov* from team *{grant.team}*" in text_of(undo[0])
    await click(sandbox, http, BOB, "approval_approve", undo[0])
    await wait_done(sandbox, 2)
    assert "ivanpetrov" not in emulator_state.org("acme").groups[grant.team].members
    assert await bot.store.active_timed_grants() == []

    # Past the old end, the sweep has nothing left to end and tells nobody. (Ivan's DMs so far say that
    # his request and his undo are done — each after the DM telling him, as the person affected, what
    # changed — so once both "Your request" DMs are there, nothing else is on its way.)
    await sandbox.slack.wait_for_async(
        lambda: sum("Your request" in json.dumps(m) for m in sandbox.slack.dms(IVAN)) >= 2 or None, timeout=15
    )
    dms = len(sandbox.slack.dms(IVAN))
    ended = await sweep_timed_grants(
        bot.store,
        lambda instance: bot.approvals.contexts(instance, SYSTEM, None),
        datetime.now(UTC) + timedelta(hours=3),
    )
    assert ended == [] and len(sandbox.slack.dms(IVAN)) == dms
    assert not any("has ended" in json.dumps(m) for m in sandbox.slack.dms(IVAN))
