"""Onboarding end to end in the sandbox: `/hub onboard` and the Approve click as signed Slack requests
into the real bot, the invite accepted on the Docker Hub emulator (as the console's "Accept invite"
does), then the scheduler's sweep — the bot's own job — finishing it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import httpx

from bot.sandbox.run import Sandbox
from bot.store import SqlRequestStore
from bot.store.onboarding_store import SqlOnboardingStore
from handlers.onboarding import OnboardingStatus, sweep_onboardings
from handlers.requests.lifecycle import SYSTEM
from hub.emulator import EmulatorState
from tests.bot.test_approvals_e2e import ALICE, BOB, HUB_OPS, approval, click
from tests.bot.test_slack_e2e import Person, text_of

NOA = "U0NEWBI01"  # in Slack as newbie@acme.example, not yet on Docker Hub
EMAIL = "newbie@acme.example"


def dm_text(sandbox: Sandbox, user: str) -> str:
    return json.dumps(sandbox.slack.dms(user), ensure_ascii=False)


def dms_saying(sandbox: Sandbox, user: str, words: str) -> int:
    return sum(1 for m in sandbox.slack.dms(user) if words in text_of(m))


def hub_calls(state: EmulatorState, method: str, path: str) -> int:
    return sum(1 for r in state.requests if r.method == method and r.path == path)


async def approved(sandbox: Sandbox, http: httpx.AsyncClient, approver: str = BOB) -> str:
    await click(sandbox, http, approver, "approval_approve")
    await sandbox.slack.wait_for_async(
        lambda: ("Done" in text_of(approval(sandbox)) or "Failed" in text_of(approval(sandbox))) or None, timeout=20
    )
    return text_of(approval(sandbox))


async def onboard(sandbox: Sandbox, http: httpx.AsyncClient, teams: str = "backend,data") -> None:
    asked = text_of(await Person(sandbox, http, ALICE).command(f"onboard {EMAIL} --teams {teams} --reason new hire"))
    assert "Requested" in asked, asked
    final = await approved(sandbox, http)
    assert "Done" in final, final


async def accept(sandbox: Sandbox, http: httpx.AsyncClient, username: str = "noanewbie") -> None:
    """Noa accepts the invite on Docker Hub: the console's form, which the sandbox demo uses."""
    answer = await http.post(sandbox.console_url + "/api/accept_invite", json={"invitee": EMAIL, "username": username})
    assert answer.json()["ok"], answer.text


async def test_an_onboarding_finishes_itself_once_the_invite_is_accepted(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    assert sandbox.bot is not None
    asked = text_of(
        await Person(sandbox, http, ALICE).command(f"onboard {EMAIL} --teams backend,data --reason new hire")
    )
    assert "Requested" in asked, asked
    message = text_of(approval(sandbox))
    assert "invite them to team *backend*" in message and "*data* once they accept" in message
    assert not any(i.invitee == EMAIL for i in emulator_state.org("acme").invites.values())  # not before approval

    assert "Done" in await approved(sandbox, http)
    (invite,) = [i for i in emulator_state.org("acme").invites.values() if i.invitee == EMAIL]
    assert invite.team == "backend"
    home = json.dumps(await sandbox.bot.router.home(ALICE))
    assert "Onboardings waiting for the invite to be accepted* (1)" in home and EMAIL in home

    await sandbox.bot.sweep()  # not accepted yet: it keeps waiting
    assert (await sandbox.bot.onboardings.waiting())[0].status is OnboardingStatus.PENDING  # type: ignore[union-attr]
    digest = text_of(await Person(sandbox, http, ALICE).command("digest"))
    assert digest
    posted = await sandbox.slack.wait_for_async(
        lambda: [m for m in sandbox.slack.messages(HUB_OPS) if "Digest" in text_of(m)] or None, timeout=20
    )
    assert "Onboardings waiting for the invite to be accepted* (1)" in text_of(posted[-1])

    await accept(sandbox, http)
    assert "noanewbie" in emulator_state.org("acme").groups["backend"].members  # the invite's team
    assert "noanewbie" not in emulator_state.org("acme").groups["data"].members

    await sandbox.bot.sweep()  # the scheduler's job: it sees the new member and finishes the onboarding
    assert "noanewbie" in emulator_state.org("acme").groups["data"].members
    told = await sandbox.slack.wait_for_async(lambda: "accepted the invite" in dm_text(sandbox, ALICE) or None)
    assert told and "*noanewbie*" in dm_text(sandbox, ALICE)
    welcome = dm_text(sandbox, NOA)
    assert "Welcome to *acme*" in welcome and "*backend*, *data*" in welcome
    assert await sandbox.bot.onboardings.waiting() == []  # type: ignore[union-attr]
    assert "Onboardings waiting" not in json.dumps(await sandbox.bot.router.home(ALICE))

    await sandbox.bot.sweep()  # nothing left to do
    assert hub_calls(emulator_state, "POST", "/v2/orgs/acme/groups/data/members") == 1
    assert dms_saying(sandbox, ALICE, "accepted the invite") == 1
    events = [e.event for e in await sandbox.bot.store.audit_log(limit=100)]
    assert events.count("onboarding.completed") == 1


async def test_two_replicas_complete_an_onboarding_once(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    assert sandbox.bot is not None
    await onboard(sandbox, http, "backend,data,frontend")
    await accept(sandbox, http)
    # A second replica: its own engine on the same database, sweeping at the same moment.
    other = await SqlRequestStore.open(f"sqlite:///{sandbox.folder / 'hubkeeper.db'}")
    try:
        replica = SqlOnboardingStore(other.engine)
        contexts = sandbox.bot.approvals.contexts
        await asyncio.gather(
            sandbox.bot.sweep(),
            sweep_onboardings(
                replica, lambda i: contexts(i, SYSTEM, None), now=datetime.now(UTC), claimed_by="replica-2"
            ),
            sweep_onboardings(
                replica, lambda i: contexts(i, SYSTEM, None), now=datetime.now(UTC), claimed_by="replica-3"
            ),
        )
    finally:
        await other.close()
    org = emulator_state.org("acme")
    assert "noanewbie" in org.groups["data"].members and "noanewbie" in org.groups["frontend"].members
    assert hub_calls(emulator_state, "POST", "/v2/orgs/acme/groups/data/members") == 1
    assert hub_calls(emulator_state, "POST", "/v2/orgs/acme/groups/frontend/members") == 1
    await sandbox.slack.wait_for_async(lambda: "accepted the invite" in dm_text(sandbox, ALICE) or None)
    assert dms_saying(sandbox, ALICE, "accepted the invite") == 1
    assert dms_saying(sandbox, NOA, "Welcome") == 1


async def test_an_onboarding_ends_with_its_invite(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    assert sandbox.bot is not None
    await onboard(sandbox, http)
    (invite,) = [i for i in emulator_state.org("acme").invites.values() if i.invitee == EMAIL]
    await sandbox.bot.hubs["acme"].cancel_invite(invite.id)  # withdrawn on Docker Hub (or expired)
    await sandbox.bot.sweep()
    ended = await sandbox.slack.wait_for_async(lambda: "has ended" in dm_text(sandbox, ALICE) or None)
    assert ended and "cancelled or expired" in dm_text(sandbox, ALICE)
    assert await sandbox.bot.onboardings.waiting() == []  # type: ignore[union-attr]
    assert sandbox.slack.dms(NOA) == []
    events = [e.event for e in await sandbox.bot.store.audit_log(limit=100)]
    assert events.count("onboarding.ended") == 1


async def test_onboard_cancel_stops_one_through_approval(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    assert sandbox.bot is not None
    await onboard(sandbox, http)
    ivan = Person(sandbox, http, "U0IVANP01")
    asked = text_of(await ivan.command(f"onboard cancel {EMAIL}"))
    assert "Requested" in asked, asked
    assert "Stop onboarding" in text_of(approval(sandbox))
    await click(sandbox, http, "U0IVANP01", "approval_approve")  # not an approver: refused, nothing changes
    assert any(i.invitee == EMAIL for i in emulator_state.org("acme").invites.values())
    assert "Done" in await approved(sandbox, http, ALICE)
    assert not any(i.invitee == EMAIL for i in emulator_state.org("acme").invites.values())
    assert await sandbox.bot.onboardings.waiting() == []  # type: ignore[union-attr]
    told = await sandbox.slack.wait_for_async(lambda: "was stopped" in dm_text(sandbox, ALICE) or None)
    assert told
    await accept_refused(sandbox, http)
    again = text_of(await ivan.command(f"onboard cancel {EMAIL}"))
    assert "No onboarding of" in again


async def accept_refused(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    answer = await http.post(sandbox.console_url + "/api/accept_invite", json={"invitee": EMAIL, "username": "noa"})
    assert not answer.json()["ok"]  # the invite is gone (and `noa` is no Docker ID anyway)


async def test_what_cannot_be_onboarded_is_refused_before_approval(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    alice = Person(sandbox, http, ALICE)
    member = text_of(await alice.command("onboard kenjisato@acme.example --teams data --reason again"))
    assert "already org member *kenjisato*" in member and "/hub team add data kenjisato" in member
    no_team = text_of(await alice.command(f"onboard {EMAIL} --teams nosuchteam --reason new"))
    assert "There is no team *nosuchteam*" in no_team
    no_teams = text_of(await alice.command(f"onboard {EMAIL} --reason new"))
    assert "--teams" in no_teams
    no_reason = text_of(await alice.command(f"onboard {EMAIL} --teams data"))
    assert "--reason" in no_reason
    invited = text_of(await alice.command("onboard newhire@acme.example --teams data --reason new"))
    assert "already has a pending invite" in invited
    username = text_of(await alice.command("onboard noa.newbie --teams data --reason new"))
    assert "invites an email address" in username
    assert sandbox.slack.messages(HUB_OPS) == []
    writes = [r for r in emulator_state.requests if r.method != "GET" and r.path != "/v2/auth/token"]
    assert all(r.path == "/v2/invites/bulk" for r in writes)  # dry runs only
