"""Telling the affected person, end to end: changes asked and approved as signed Slack requests into
the real bot; the person the change is about is found on the Slack stand-in by their Docker Hub email
(users.lookupByEmail) and DMed what changed, who approved it and why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from bot.sandbox.demo_users import DEMO_SLACK_USERS
from bot.sandbox.run import Sandbox
from hub.emulator import EmulatorState
from tests.bot.test_approvals_e2e import ALICE, BOB, IVAN, approval, click
from tests.bot.test_slack_e2e import Person, text_of

KENJI, PRIYA = "U0KENJI01", "U0PRIYA01"


def dms_saying(sandbox: Sandbox, user: str, words: str) -> list[str]:
    return [text_of(m) for m in sandbox.slack.dms(user) if words in text_of(m)]


def all_dms(sandbox: Sandbox) -> dict[str, int]:
    return {user.id: len(sandbox.slack.dms(user.id)) for user in DEMO_SLACK_USERS}


async def asked_and_approved(sandbox: Sandbox, http: httpx.AsyncClient, asker: str, command: str) -> None:
    asked = text_of(await Person(sandbox, http, asker).command(command))
    assert "Requested" in asked, asked
    await click(sandbox, http, BOB if asker != BOB else ALICE, "approval_approve")
    await sandbox.slack.wait_for_async(
        lambda: ("Done" in text_of(approval(sandbox)) or "Failed" in text_of(approval(sandbox))) or None, timeout=20
    )
    assert "Done" in text_of(approval(sandbox)), text_of(approval(sandbox))
    # The requester's DM comes after every follower of the done change has run.
    await sandbox.slack.wait_for_async(lambda: dms_saying(sandbox, asker, "Your request") or None)


async def test_the_person_added_to_a_team_is_told_who_approved_and_why(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    await asked_and_approved(sandbox, http, ALICE, "team add data kenjisato --reason joins the data team")
    (told,) = dms_saying(sandbox, KENJI, "added to team")
    assert "*acme*" in told and "*data*" in told
    assert f"Approved by <@{BOB}>" in told and f"asked by <@{ALICE}>" in told
    assert "joins the data team" in told
    lookups = sandbox.slack.calls_to("users.lookupByEmail")
    assert lookups and all(call.ok for call in lookups)


async def test_nobody_is_told_when_slack_does_not_know_the_email(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    before = all_dms(sandbox)
    # umarkhan's Docker Hub email (umarkhan@acme.example) belongs to no one in the Slack workspace.
    await asked_and_approved(sandbox, http, ALICE, "team add data umarkhan --reason joins data")
    assert "umarkhan" in emulator_state.org("acme").groups["data"].members
    lookups = sandbox.slack.calls_to("users.lookupByEmail")
    assert [call.error for call in lookups] == ["users_not_found"]
    after = all_dms(sandbox)
    assert {user: after[user] - before[user] for user in after if after[user] != before[user]} == {ALICE: 1}


async def test_someone_removed_from_the_org_is_still_found_by_the_email_they_had(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    await asked_and_approved(sandbox, http, ALICE, "remove priyanair --reason left the company")
    assert "priyanair" not in emulator_state.org("acme").members
    (told,) = dms_saying(sandbox, PRIYA, "removed from the organization")
    assert "left the company" in told and f"<@{BOB}>" in told


async def test_a_role_change_is_told(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    await asked_and_approved(sandbox, http, ALICE, "role kenjisato editor --reason leads the API")
    (told,) = dms_saying(sandbox, KENJI, "Your role changed")
    assert "from member to *editor*" in told and "leads the API" in told


async def test_time_bound_access_is_told_warned_ten_minutes_before_and_once(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    assert sandbox.bot is not None and sandbox.bot.affected is not None
    await asked_and_approved(sandbox, http, IVAN, "request acme/docs write for 2h fixing the docs")
    (granted,) = dms_saying(sandbox, IVAN, "time-bound access")
    assert "*write* on *acme/docs*" in granted and f"Approved by <@{BOB}>" in granted
    (grant,) = await sandbox.bot.store.active_timed_grants()

    # The sweep's warning step, at chosen moments: half an hour before the end is too early.
    assert await sandbox.bot.affected.warn_ending(grant.expires_at - timedelta(minutes=30)) == []
    assert await sandbox.bot.affected.warn_ending(grant.expires_at - timedelta(minutes=8)) == [grant]
    (warning,) = dms_saying(sandbox, IVAN, "ends in 8 minutes")
    assert "fixing the docs" in warning and "/hub request" in warning
    # Later sweeps (here or on another replica) do not warn again.
    assert await sandbox.bot.affected.warn_ending(grant.expires_at - timedelta(minutes=2)) == []
    assert len(dms_saying(sandbox, IVAN, "ends in")) == 1


@pytest.fixture
async def quiet_sandbox(emulator_state: EmulatorState) -> AsyncIterator[Sandbox]:
    async with Sandbox(console_port=0, emulator_state=emulator_state, notify_affected=False) as running:
        yield running


async def test_nobody_is_told_when_the_setting_is_off(quiet_sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    sandbox = quiet_sandbox
    assert sandbox.bot is not None and sandbox.bot.affected is not None
    await asked_and_approved(sandbox, http, ALICE, "team add data kenjisato --reason joins the data team")
    assert sandbox.slack.dms(KENJI) == []
    assert sandbox.slack.calls_to("users.lookupByEmail") == []
    await asked_and_approved(sandbox, http, IVAN, "request acme/docs write for 2h fixing the docs")
    (grant,) = await sandbox.bot.store.active_timed_grants()
    assert await sandbox.bot.affected.warn_ending(grant.expires_at - timedelta(minutes=5)) == []
    assert dms_saying(sandbox, IVAN, "ends in") == []


async def test_a_bulk_add_tells_each_person_added(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    await asked_and_approved(sandbox, http, ALICE, "team add data kenjisato priyanair ivanpetrov --reason new squad")
    for person in (KENJI, PRIYA, IVAN):
        (told,) = dms_saying(sandbox, person, "added to team")
        assert "*data*" in told and "new squad" in told


async def test_nobody_already_in_the_team_is_told(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    # kenjisato is in frontend already: the plan leaves him out, and he hears nothing of it.
    await asked_and_approved(sandbox, http, ALICE, "team add frontend kenjisato ivanpetrov --reason new squad")
    (told,) = dms_saying(sandbox, IVAN, "added to team")
    assert "*frontend*" in told
    assert dms_saying(sandbox, KENJI, "added to team") == []
