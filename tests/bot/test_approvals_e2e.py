"""Changes end to end in the sandbox: a /hub change command, the approval message in #hub-ops, clicks
on Approve and Deny (with its reason modal) — all as signed Slack requests into the real bot."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.sandbox.run import Sandbox
from hub.emulator import EmulatorState
from tests.bot.test_slack_e2e import Person, text_of

ALICE, BOB, IVAN = "U0ALICE01", "U0BOBOK01", "U0IVANP01"
HUB_OPS = "C0HUBOPS01"


def approval(sandbox: Sandbox) -> dict[str, Any]:
    return sandbox.slack.messages(HUB_OPS)[-1]


async def click(
    sandbox: Sandbox, http: httpx.AsyncClient, user: str, action_id: str, message: dict[str, Any] | None = None
) -> None:
    """Click a button on a channel message (by default the latest approval message) as `user`."""
    message = message or approval(sandbox)
    block_id = next(
        b["block_id"] for b in message["blocks"] if any(e.get("action_id") == action_id for e in b.get("elements", []))
    )
    result = await http.post(
        sandbox.console_url + "/api/action",
        json={
            "user": user,
            "channel": HUB_OPS,
            "message_ts": message["ts"],
            "ephemeral": False,
            "action_id": action_id,
            "block_id": block_id,
        },
    )
    assert result.json()["ok"], result.text


# The invite plan's dry run is a POST that changes nothing (the tests' `happened` checks show it).
def hub_writes(state: EmulatorState, *, dry_run_done: bool = False) -> list[str]:
    """Docker Hub calls that could change something, before an approval (dry runs aside)."""
    calls = [f"{r.method} {r.path}" for r in state.requests if r.method != "GET" and r.path != "/v2/auth/token"]
    return [call for call in calls if not (dry_run_done and call == "POST /v2/invites/bulk")]


async def test_a_team_add_is_asked_approved_and_done(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    ivan = Person(sandbox, http, IVAN)
    asked = text_of(await ivan.command("team add data ivanpetrov --reason onboarding to the data team"))
    assert "Requested" in asked
    assert "https://acme.slack.com/archives/C0HUBOPS01/p" in asked  # a link to the approval message
    message = approval(sandbox)
    assert "onboarding to the data team" in text_of(message) and f"<@{IVAN}>" in text_of(message)
    assert hub_writes(emulator_state) == []  # nothing reaches Docker Hub before approval

    await click(sandbox, http, IVAN, "approval_approve")  # the requester (and not an approver)
    refused = await sandbox.slack.wait_for_async(
        lambda: [m for m in sandbox.slack.ephemerals(IVAN) if "Only approvers" in json.dumps(m)] or None
    )
    assert refused and hub_writes(emulator_state) == []

    await click(sandbox, http, ALICE, "approval_approve")
    done = await sandbox.slack.wait_for_async(lambda: "Done" in text_of(approval(sandbox)) or None, timeout=15)
    assert done
    assert "ivanpetrov" in emulator_state.org("acme").groups["data"].members
    assert hub_writes(emulator_state) == ["POST /v2/orgs/acme/groups/data/members"]
    # Approve and Deny are gone; a done team add can be undone.
    buttons = [e["action_id"] for b in approval(sandbox)["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["approval_undo"]
    # Ivan is told twice: as the requester (the outcome) and as the person added (who approved and why).
    dm = await sandbox.slack.wait_for_async(
        lambda: [m for m in sandbox.slack.dms(IVAN) if "Your request" in json.dumps(m)] or None
    )
    assert "Done" in json.dumps(dm)


async def test_deny_asks_why_and_tells_the_requester(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    ivan = Person(sandbox, http, IVAN)
    await ivan.command("team create mobile Mobile apps --reason new app")
    await click(sandbox, http, BOB, "approval_deny")
    modal = await sandbox.slack.wait_for_async(lambda: sandbox.slack.modal_stack(BOB) or None)
    submitted = await http.post(
        sandbox.console_url + "/api/view_submission",
        json={"user": BOB, "view_id": modal[-1]["id"], "values": {"reason": {"reason": "use the frontend team"}}},
    )
    assert submitted.json()["ok"], submitted.text
    denied = await sandbox.slack.wait_for_async(lambda: "Denied" in text_of(approval(sandbox)) or None, timeout=15)
    assert denied and "use the frontend team" in text_of(approval(sandbox))
    dm = await sandbox.slack.wait_for_async(lambda: sandbox.slack.dms(IVAN) or None)
    assert "use the frontend team" in json.dumps(dm)
    assert "mobile" not in emulator_state.org("acme").groups
    assert hub_writes(emulator_state) == []


async def test_a_refused_precondition_suggests_what_to_do(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    reply = text_of(await Person(sandbox, http, IVAN).command("team add data ravisharma --reason new hire"))
    assert "/hub invite" in reply
    assert sandbox.slack.messages(HUB_OPS) == []
    assert hub_writes(emulator_state) == []


async def test_a_reason_is_required_for_role_changes(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    reply = text_of(await Person(sandbox, http, IVAN).command("role ivanpetrov owner"))
    assert "role" in reply and "--reason" in reply
    assert sandbox.slack.messages(HUB_OPS) == []


async def test_app_home_shows_requests_and_the_approvers_queue(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    await Person(sandbox, http, IVAN).command("team create mobile --reason new app")
    ivan_home = await sandbox.bot.router.home(IVAN) if sandbox.bot else {}
    alice_home = await sandbox.bot.router.home(ALICE) if sandbox.bot else {}
    assert "Create" in json.dumps(ivan_home) and "Waiting for your approval" not in json.dumps(ivan_home)
    assert "Waiting for your approval* (1)" in json.dumps(alice_home)


def team_of(state: EmulatorState, team: str) -> set[str]:
    return set(state.org("acme").groups[team].members) if team in state.org("acme").groups else set()


def grant(state: EmulatorState, repository: str, team: str) -> str | None:
    org = state.org("acme")
    group = org.groups.get(team)
    return None if group is None else org.repositories[repository].grants.get(group.id)


Check = Callable[[EmulatorState], bool]
CHANGES: list[tuple[str, Check]] = [
    ("team create mobile Mobile apps --reason new app", lambda s: "mobile" in s.org("acme").groups),
    (
        "team update frontend --description Web UI --reason clearer",
        lambda s: s.org("acme").groups["frontend"].description == "Web UI",
    ),
    ("team delete security --reason merged", lambda s: "security" not in s.org("acme").groups),
    ("team add data umarkhan --reason joins data", lambda s: "umarkhan" in team_of(s, "data")),
    ("team remove backend ivanpetrov --reason moved", lambda s: "ivanpetrov" not in team_of(s, "backend")),
    ("role kenjisato editor --reason lead", lambda s: s.org("acme").members["kenjisato"].role == "editor"),
    ("remove weizhang --reason left", lambda s: "weizhang" not in s.org("acme").members),
    (
        "invite new.person@acme.example --team backend --reason new hire",
        lambda s: any(i.invitee == "new.person@acme.example" for i in s.org("acme").invites.values()),
    ),
    (
        "invite cancel newhire@acme.example --reason not joining",
        lambda s: all(i.invitee != "newhire@acme.example" for i in s.org("acme").invites.values()),
    ),
    ("grant data acme/api read --reason dashboards", lambda s: grant(s, "api", "data") == "read"),
    ("revoke security acme/api --reason not needed", lambda s: grant(s, "api", "security") is None),
    (
        "request acme/docs write for 2h fixing the docs",
        lambda s: any("ivanpetrov" in g.members and g.name.startswith("hk-") for g in s.org("acme").groups.values()),
    ),
    ("offboard weizhang --reason leaving", lambda s: "weizhang" not in s.org("acme").members),
]


async def settled(sandbox: Sandbox, ts: str, words: tuple[str, ...]) -> str:
    """The approval message's text (found by its ts, not as the channel's latest message) once it says
    one of `words`; on a timeout the error shows what #hub-ops holds."""

    def text() -> str | None:
        (message,) = [m for m in sandbox.slack.messages(HUB_OPS) if m["ts"] == ts]
        shown = text_of(message)
        return shown if any(word in shown for word in words) else None

    try:
        found: str = await sandbox.slack.wait_for_async(text, timeout=60)
    except TimeoutError as error:
        shown = [(m["ts"], m.get("thread_ts"), text_of(m)[:300]) for m in sandbox.slack.messages(HUB_OPS)]
        raise AssertionError(f"{error}; #hub-ops now: {shown}") from None
    return found


async def deny_through_modal(sandbox: Sandbox, http: httpx.AsyncClient, approver: str, why: str) -> None:
    await click(sandbox, http, approver, "approval_deny")
    modal = await sandbox.slack.wait_for_async(lambda: sandbox.slack.modal_stack(approver) or None)
    submitted = await http.post(
        sandbox.console_url + "/api/view_submission",
        json={"user": approver, "view_id": modal[-1]["id"], "values": {"reason": {"reason": why}}},
    )
    assert submitted.json()["ok"], submitted.text


@pytest.mark.parametrize(("command", "happened"), CHANGES, ids=[c.split(" --")[0][:40] for c, _ in CHANGES])
async def test_every_change_kind_approved(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState, command: str, happened: Check
) -> None:
    asked = text_of(await Person(sandbox, http, IVAN).command(command))
    assert "Requested" in asked, asked
    assert hub_writes(emulator_state, dry_run_done=True) == [] and not happened(emulator_state)
    asked_ts = approval(sandbox)["ts"]
    await click(sandbox, http, ALICE, "approval_approve")
    final = await settled(sandbox, asked_ts, ("Done", "Failed"))
    assert "Done" in final, final
    assert happened(emulator_state)


@pytest.mark.parametrize(("command", "happened"), CHANGES, ids=[c.split(" --")[0][:40] for c, _ in CHANGES])
async def test_every_change_kind_denied(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState, command: str, happened: Check
) -> None:
    asked = text_of(await Person(sandbox, http, IVAN).command(command))
    assert "Requested" in asked, asked
    asked_ts = approval(sandbox)["ts"]
    await deny_through_modal(sandbox, http, BOB, "not now")
    await settled(sandbox, asked_ts, ("Denied",))
    assert hub_writes(emulator_state, dry_run_done=True) == [] and not happened(emulator_state)


async def test_cancel_from_app_home(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    await Person(sandbox, http, IVAN).command("team create mobile --reason new app")
    assert sandbox.bot is not None
    home = await sandbox.bot.router.home(IVAN)
    cancel = next(b for b in home["blocks"] if b.get("accessory", {}).get("action_id") == "request_cancel")
    payload = {
        "type": "block_actions",
        "user": {"id": IVAN, "username": "ivan", "name": "ivan", "team_id": "T0ACME0001"},
        "api_app_id": "A0HUBKEEP1",
        "token": "sandbox-verification-token",
        "container": {"type": "view", "view_id": "V0HOME"},
        "trigger_id": sandbox.slack.new_trigger_id(IVAN),
        "team": {"id": "T0ACME0001", "domain": "acme"},
        "view": {"id": "V0HOME", "type": "home"},
        "actions": [
            {
                "action_id": "request_cancel",
                "block_id": cancel.get("block_id", "b"),
                "value": cancel["accessory"]["value"],
                "type": "button",
                "action_ts": "1",
            }
        ],
    }
    from bot.sandbox.payloads import interaction_body, signed_headers

    body = interaction_body(payload)
    response = await http.post(sandbox.bot_url, content=body, headers=signed_headers(sandbox.signing_secret, body))
    assert response.status_code == 200
    cancelled = await sandbox.slack.wait_for_async(
        lambda: "Cancelled" in text_of(approval(sandbox)) or None, timeout=10
    )
    assert cancelled
    published = await sandbox.slack.wait_for_async(lambda: sandbox.slack.home(IVAN), timeout=10)
    assert "Cancelled" in json.dumps(published)


async def test_the_sweep_ends_time_bound_access(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    assert "Requested" in text_of(await Person(sandbox, http, IVAN).command("request acme/docs write for 1h docs fix"))
    await click(sandbox, http, ALICE, "approval_approve")
    await sandbox.slack.wait_for_async(lambda: "Done" in text_of(approval(sandbox)) or None, timeout=15)
    managed = next(g for g in emulator_state.org("acme").groups.values() if g.name.startswith("hk-"))
    assert "ivanpetrov" in managed.members
    assert sandbox.bot is not None
    later = datetime.now(UTC) + timedelta(hours=2)
    sandbox.bot.approvals.clock = lambda: later
    await sandbox.bot.sweep()  # what the scheduler runs every HUBKEEPER_SWEEP_SECONDS
    assert "ivanpetrov" not in managed.members
    ended = await sandbox.slack.wait_for_async(
        lambda: [m for m in sandbox.slack.dms(IVAN) if "has ended" in json.dumps(m)] or None
    )
    assert "was removed from team" in json.dumps(ended[-1])


class TestPolicyFromSlack:
    @pytest.fixture
    async def sandbox(self, emulator_state: EmulatorState, tmp_path: Path) -> AsyncIterator[Sandbox]:
        policy = tmp_path / "policy.yml"
        policy.write_text(
            "teams:\n  release-eng:\n    description: Release engineering\n    members: [erinpatel]\n"
            "repositories:\n  acme/sdk:\n    release-eng: write\n",
            encoding="utf-8",
        )
        async with Sandbox(console_port=0, emulator_state=emulator_state, policy_file=str(policy)) as running:
            yield running

    async def test_plan_then_apply_through_approval(
        self, sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
    ) -> None:
        alice = Person(sandbox, http, ALICE)
        plan = await alice.command("policy plan")
        assert "release-eng" in text_of(plan) and "policy_apply" in json.dumps(plan)
        assert hub_writes(emulator_state) == []
        await alice.click(plan, "policy_apply")  # asks for the change: it goes to approval
        request = await sandbox.slack.wait_for_async(lambda: sandbox.slack.messages(HUB_OPS) or None, timeout=15)
        assert "Apply the policy" in text_of(request[-1])
        await click(sandbox, http, BOB, "approval_approve")
        await sandbox.slack.wait_for_async(lambda: "Done" in text_of(approval(sandbox)) or None, timeout=30)
        org = emulator_state.org("acme")
        assert "erinpatel" in org.groups["release-eng"].members
        assert org.grants[("sdk", "release-eng")] == "write"


async def test_an_approved_grant_and_revoke_update_the_access_index_at_once(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    assert sandbox.bot is not None and sandbox.bot.access_jobs is not None
    index = sandbox.bot.access_jobs.index

    async def web_grants() -> dict[str, str]:
        return {g.team: g.permission for g in await index.grants_of_repository("acme", "web")}

    assert "data" not in await web_grants()
    ivan = Person(sandbox, http, IVAN)
    assert "Requested" in text_of(await ivan.command("grant data acme/web read --reason dashboards"))
    await click(sandbox, http, ALICE, "approval_approve")
    assert await sandbox.slack.wait_for_async(lambda: "Done" in text_of(approval(sandbox)) or None, timeout=15)
    assert (await web_grants()).get("data") == "read"  # no refresh ran: the approval path wrote it

    assert "Requested" in text_of(await ivan.command("revoke data acme/web --reason done"))
    await click(sandbox, http, ALICE, "approval_approve")
    assert await sandbox.slack.wait_for_async(lambda: "Done" in text_of(approval(sandbox)) or None, timeout=15)
    assert "data" not in await web_grants()
