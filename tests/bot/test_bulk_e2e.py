"""Bulk changes end to end in the sandbox: signed `/hub` commands into the real bot, the approval
message in #hub-ops naming who is left out, Approve and Retry clicks, against the emulator."""

from __future__ import annotations

import httpx

from bot.sandbox.run import Sandbox
from hub.emulator import EmulatorState
from tests.bot.test_approvals_e2e import approval, click
from tests.bot.test_slack_e2e import Person, text_of

ALICE, BOB, IVAN = "U0ALICE01", "U0BOBOK01", "U0IVANP01"
MEMBERS = "/v2/orgs/acme/groups/backend/members"


def posts(state: EmulatorState, path: str) -> int:
    return sum(1 for r in state.requests if r.method == "POST" and r.path == path)


async def test_a_bulk_team_add_fails_one_and_retry_adds_only_it(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    ivan = Person(sandbox, http, IVAN)
    asked = text_of(
        await ivan.command(
            "team add backend umarkhan aaronwright elenarossi ivanpetrov ravisharma --reason new quarter"
        )
    )
    assert "Requested: Add 3 members to team *backend*" in asked
    message = text_of(approval(sandbox))
    assert "Adds: *umarkhan*, *aaronwright*, *elenarossi*" in message
    assert "Cannot be done, left out (2):" in message
    assert "*ivanpetrov* is already in team *backend*." in message and "`ravisharma` is not a member" in message
    assert posts(emulator_state, MEMBERS) == 0

    emulator_state.fail_next(1, 500, method="POST", path=MEMBERS, detail="injected")
    await click(sandbox, http, ALICE, "approval_approve")
    failed = await sandbox.slack.wait_for_async(lambda: "Failed" in text_of(approval(sandbox)) or None, timeout=20)
    assert failed
    message = text_of(approval(sandbox))
    assert "1 of 3 failed. Retry runs only those." in message and "(2 done, 1 failed)" in message
    backend = set(emulator_state.org("acme").groups["backend"].members)
    missing = {"umarkhan", "aaronwright", "elenarossi"} - backend
    assert len(missing) == 1 and posts(emulator_state, MEMBERS) == 3

    emulator_state.clear_requests()
    await click(sandbox, http, BOB, "approval_retry")
    done = await sandbox.slack.wait_for_async(lambda: "Done" in text_of(approval(sandbox)) or None, timeout=20)
    assert done and "(3 done)" in text_of(approval(sandbox))
    assert posts(emulator_state, MEMBERS) == 1
    assert {"umarkhan", "aaronwright", "elenarossi"} <= set(emulator_state.org("acme").groups["backend"].members)


async def test_a_bulk_invite_shows_the_dry_run_and_invites_on_approval(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    ivan = Person(sandbox, http, IVAN)
    asked = text_of(
        await ivan.command("invite ada@acme.example grace@acme.example umarkhan --team data --reason new hires")
    )
    assert "Requested: Invite 2 people to *acme*, into team *data*" in asked
    message = text_of(approval(sandbox))
    assert "Docker Hub's dry run:" in message
    assert "`ada@acme.example` would be invited" in message and "`umarkhan` is already a member of the org" in message
    assert not any(i.invitee == "ada@acme.example" for i in emulator_state.org("acme").invites.values())

    await click(sandbox, http, BOB, "approval_approve")
    done = await sandbox.slack.wait_for_async(lambda: "Done" in text_of(approval(sandbox)) or None, timeout=20)
    assert done and "(2 done)" in text_of(approval(sandbox))
    invited = {i.invitee: i.team for i in emulator_state.org("acme").invites.values()}
    assert invited["ada@acme.example"] == "data" and invited["grace@acme.example"] == "data"


async def test_over_a_hundred_is_refused_before_anything_is_asked(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    emulator_state.clear_requests()
    people = " ".join(f"user{n:03d}" for n in range(101))
    reply = text_of(await Person(sandbox, http, IVAN).command(f"team add backend {people} --reason too many"))
    assert "101 subjects is more than the 100 one request may name" in reply
    assert sandbox.slack.messages("C0HUBOPS01") == []
    assert [r for r in emulator_state.requests if r.path != "/v2/auth/token"] == []


async def test_a_bulk_dry_run_shows_the_plan_and_files_nothing(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    reply = text_of(
        await Person(sandbox, http, IVAN).command("team add backend umarkhan ivanpetrov aaronwright --dry-run")
    )
    assert "Add 2 members to team *backend*" in reply and "*ivanpetrov* is already in team *backend*." in reply
    assert sandbox.slack.messages("C0HUBOPS01") == []
    assert posts(emulator_state, MEMBERS) == 0
