"""The real bot end to end: signed requests into Bolt over HTTP, the Slack stand-in as Slack's Web
API, the Docker Hub emulator as Docker Hub — assembled exactly as `hubkeeper sandbox` does."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.sandbox.demo_users import DEMO_IDENTITY, DEMO_SLACK_USERS
from bot.sandbox.payloads import signed_headers, slash_command_body
from bot.sandbox.run import Sandbox
from bot.sandbox.slack_state import Message
from hub.emulator import EmulatorState

ALICE, IVAN = "U0ALICE01", "U0IVANP01"
HUB_OPS = "C0HUBOPS01"


class Person:
    """One demo user typing and clicking in the sandbox console, which signs like Slack."""

    def __init__(self, sandbox: Sandbox, http: httpx.AsyncClient, user_id: str) -> None:
        self.sandbox = sandbox
        self.http = http
        self.user_id = user_id

    def replies(self) -> list[Message]:
        return [m for m in self.sandbox.slack.ephemerals(self.user_id) if m.get("source") == "response_url"]

    async def command(self, text: str) -> Message:
        """Type `/hub text`; returns the reply the bot sent through the response_url."""
        before = len(self.replies())
        result = await self.http.post(
            self.sandbox.console_url + "/api/command",
            json={"user": self.user_id, "channel": HUB_OPS, "text": f"/hub {text}"},
        )
        assert result.json()["ok"], result.text
        assert result.json()["status"] == 200
        return await self._next_reply(before)

    async def click(self, message: Message, action_id: str) -> Message:
        block_id = next(
            block["block_id"]
            for block in message["blocks"]
            if any(e.get("action_id") == action_id for e in block.get("elements", []))
        )
        before_ts = {m["ts"]: json.dumps(m, sort_keys=True) for m in self.replies()}
        result = await self.http.post(
            self.sandbox.console_url + "/api/action",
            json={
                "user": self.user_id,
                "channel": HUB_OPS,
                "message_ts": message["ts"],
                "ephemeral": True,
                "action_id": action_id,
                "block_id": block_id,
            },
        )
        assert result.json()["ok"], result.text

        def changed() -> Message | None:
            for reply in self.replies():
                if before_ts.get(reply["ts"]) != json.dumps(reply, sort_keys=True):
                    return reply
            return None

        return await self.sandbox.slack.wait_for_async(changed)  # type: ignore[no-any-return]

    async def _next_reply(self, before: int) -> Message:
        replies = await self.sandbox.slack.wait_for_async(lambda: self.replies()[before:] or None, timeout=20)
        return replies[-1]  # type: ignore[no-any-return]


def text_of(message: Message) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + message.get("text", "")


@pytest.fixture
def alice(sandbox: Sandbox, http: httpx.AsyncClient) -> Person:
    return Person(sandbox, http, ALICE)


async def test_help_lists_every_command(alice: Person) -> None:
    reply = await alice.command("")
    for name in ("whois", "members", "teams", "team", "invites", "health"):
        assert f"/hub {name}" in text_of(reply)


async def test_an_unknown_subcommand_points_to_help_and_changes_nothing(
    alice: Person, sandbox: Sandbox, emulator_state: EmulatorState
) -> None:
    emulator_state.clear_requests()
    reply = text_of(await alice.command("team archive data --reason tidy up"))
    assert "there is no command 'team archive'" in reply and "/hub help" in reply
    assert emulator_state.requests == [] and sandbox.slack.messages(HUB_OPS) == []


async def test_whois_a_member_and_an_invitee(alice: Person) -> None:
    erin = text_of(await alice.command("whois erinpatel@acme.example"))
    assert "Erin Patel" in erin and "Editor" in erin and "platform" in erin
    invited = text_of(await alice.command("whois newhire@acme.example"))
    assert "invite" in invited.lower() and "alicechen" in invited


async def test_members_pages_forward_and_back(alice: Person) -> None:
    first = await alice.command("members")
    assert "1–20 of 40" in text_of(first)
    second = await alice.click(first, "members_page")
    assert second["ts"] == first["ts"]  # the page replaced itself
    assert "21–40 of 40" in text_of(second)
    back = await alice.click(second, "members_page")
    assert "1–20 of 40" in text_of(back)


async def test_members_search_and_role(alice: Person) -> None:
    owners = text_of(await alice.command("members --role owner"))
    assert all(name in owners for name in ("alicechen", "bobokafor", "carolsmith"))
    assert "ivanpetrov" not in owners


async def test_teams_team_invites_health(alice: Person) -> None:
    teams = text_of(await alice.command("teams"))
    assert "backend" in teams and "API and service developers" in teams
    backend = text_of(await alice.command("team backend"))
    assert "erinpatel" in backend and "danielkim" in backend
    invites = text_of(await alice.command("invites"))
    assert "newhire@acme.example" in invites and "stale.contractor@outsource.example" in invites
    health = text_of(await alice.command("health"))
    assert "All 4 health checks passed for acme" in health and "list one team" in health


async def test_usage_errors_and_suggestions(alice: Person) -> None:
    typo = text_of(await alice.command("membrs"))
    assert "/hub members" in typo and "/hub help" in typo
    bad = text_of(await alice.command("team ../owners"))
    assert "team &lt;name&gt;" in bad or "team <name>" in bad.replace("&lt;", "<").replace("&gt;", ">")


async def test_a_hostile_team_description_is_escaped(alice: Person, emulator_state: EmulatorState) -> None:
    emulator_state.add_group("acme", "evil", "<!channel> <http://evil.example|click me> & more")
    teams = await alice.command("teams")
    shown = text_of(teams)
    assert "<!channel>" not in shown and "<http://evil" not in shown
    assert "&lt;!channel&gt;" in shown


async def test_docker_hub_failure_gives_a_clear_message(alice: Person, emulator_state: EmulatorState) -> None:
    await alice.command("teams")  # the token is cached by now
    emulator_state.fail_next(10, status=503)
    reply = text_of(await alice.command("teams"))
    assert "unavailable" in reply.lower()
    assert "Traceback" not in reply


async def test_the_ack_goes_out_before_docker_hub_answers(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    emulator_state.set_latency(1500)
    user = next(u for u in DEMO_SLACK_USERS if u.id == ALICE)
    body = slash_command_body(
        DEMO_IDENTITY,
        user,
        (HUB_OPS, "hub-ops"),
        "/hub",
        "teams",
        sandbox.slack.new_response_url(ALICE, HUB_OPS),
        sandbox.slack.new_trigger_id(ALICE),
    )
    ack = await http.post(sandbox.bot_url, content=body, headers=signed_headers(sandbox.signing_secret, body))
    assert ack.status_code == 200
    # At the ack, Docker Hub has not answered anything yet and no reply exists.
    assert not [r for r in emulator_state.requests if r.path.startswith("/v2/orgs/")]
    assert not sandbox.slack.ephemerals(ALICE)
    replies = await sandbox.slack.wait_for_async(lambda: sandbox.slack.ephemerals(ALICE) or None, timeout=15)
    assert "backend" in text_of(replies[0])
    assert [r for r in emulator_state.requests if r.path == "/v2/orgs/acme/groups"]


@pytest.mark.parametrize("problem", ["wrong secret", "stale timestamp", "tampered body"])
async def test_forged_or_expired_signatures_get_401(sandbox: Sandbox, http: httpx.AsyncClient, problem: str) -> None:
    user = next(u for u in DEMO_SLACK_USERS if u.id == ALICE)
    body = slash_command_body(
        DEMO_IDENTITY, user, (HUB_OPS, "hub-ops"), "/hub", "teams", sandbox.slack.new_response_url(ALICE, HUB_OPS), "t"
    )
    secret = "not-the-secret" if problem == "wrong secret" else sandbox.signing_secret
    stamp = int(time.time()) - 600 if problem == "stale timestamp" else None
    headers = signed_headers(secret, body, timestamp=stamp)
    sent = body.replace("teams", "invites") if problem == "tampered body" else body
    response = await http.post(sandbox.bot_url, content=sent, headers=headers)
    assert response.status_code == 401
    await asyncio.sleep(0.2)
    assert not sandbox.slack.ephemerals(ALICE)


async def test_a_rate_limited_reply_is_retried_not_lost(alice: Person, sandbox: Sandbox) -> None:
    sandbox.slack.rate_limit_next(1, retry_after=1, method="response_url")
    reply = await alice.command("teams")
    assert "backend" in text_of(reply)
    statuses = [call.status for call in sandbox.slack.calls_to("response_url")]
    assert statuses[-2:] == [429, 200]


async def test_app_home_is_published_even_through_a_rate_limit(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    sandbox.slack.rate_limit_next(1, retry_after=1, method="views.publish")
    event: dict[str, Any] = {
        "token": DEMO_IDENTITY.verification_token,
        "team_id": DEMO_IDENTITY.team_id,
        "api_app_id": DEMO_IDENTITY.app_id,
        "type": "event_callback",
        "event_id": "Ev0HOME01",
        "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": ALICE, "channel": "D0ALICE01", "tab": "home"},
    }
    body = json.dumps(event)
    headers = {**signed_headers(sandbox.signing_secret, body), "Content-Type": "application/json"}
    assert (await http.post(sandbox.bot_url, content=body, headers=headers)).status_code == 200
    home = await sandbox.slack.wait_for_async(lambda: sandbox.slack.home(ALICE), timeout=10)
    assert "/hub whois" in json.dumps(home)
    assert [c.status for c in sandbox.slack.calls_to("views.publish")] == [429, 200]


async def test_healthz_is_a_liveness_check(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    emulator_state.fail_next(50, status=503)  # Docker Hub's state does not matter
    response = await http.get(sandbox.bot_url.replace("/slack/events", "/healthz"))
    assert response.status_code == 200 and response.json() == {"status": "ok"}


class TestSeveralInstances:
    @pytest.fixture
    async def sandbox(self, emulator_state: EmulatorState) -> AsyncIterator[Sandbox]:
        async with Sandbox(console_port=0, emulator_state=emulator_state, with_globex=True) as running:
            yield running

    async def test_org_routes_to_the_named_instance(self, alice: Person) -> None:
        globex = text_of(await alice.command("teams --org globex"))
        assert "engineering" in globex and "backend" not in globex
        acme = text_of(await alice.command("--org acme teams"))
        assert "backend" in acme

    async def test_without_org_or_with_an_unknown_one_the_labels_are_listed(self, alice: Person) -> None:
        missing = text_of(await alice.command("teams"))
        assert "--org" in missing and "`acme`" in missing and "`globex`" in missing
        unknown = text_of(await alice.command("teams --org prod"))
        assert "prod" in unknown and "`acme`" in unknown and "`globex`" in unknown

    async def test_paging_stays_on_its_instance(self, alice: Person) -> None:
        first = await alice.command("members --org acme")
        second = await alice.click(first, "members_page")
        assert "21–40 of 40" in text_of(second)


class TestViewers:
    @pytest.fixture
    async def sandbox(self, emulator_state: EmulatorState) -> AsyncIterator[Sandbox]:
        async with Sandbox(console_port=0, emulator_state=emulator_state, viewers="S0APPROVERS") as running:
            yield running

    async def test_only_viewers_may_look_things_up(self, sandbox: Sandbox, http: httpx.AsyncClient) -> None:
        allowed = text_of(await Person(sandbox, http, ALICE).command("teams"))
        assert "backend" in allowed
        refused = text_of(await Person(sandbox, http, IVAN).command("teams"))
        assert "HUBKEEPER_VIEWERS" in refused and "backend" not in refused
        help_text = text_of(await Person(sandbox, http, IVAN).command("help"))
        assert "/hub whois" in help_text  # help is for everyone

    async def test_changes_are_for_viewers_too_and_refusing_reads_nothing(
        self, sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
    ) -> None:
        ivan = Person(sandbox, http, IVAN)
        for line in (
            "offboard alicechen@acme.example --reason x",
            "team add backend umarkhan",
            "invite someone@acme.example --team owners",
            "whois alicechen",
            "policy plan",
        ):
            emulator_state.clear_requests()
            refused = text_of(await ivan.command(line))
            assert "HUBKEEPER_VIEWERS" in refused, line
            assert "alicechen" not in refused and "owner" not in refused, line  # the same answer, whatever was asked
            assert emulator_state.requests == [], line  # nothing was read from Docker Hub
        # Self-service stays open to everyone in the workspace.
        asked = text_of(await ivan.command("request acme/docs write for 2h docs fix"))
        assert "HUBKEEPER_VIEWERS" not in asked and "Requested" in asked


async def test_review_arrives_as_a_csv_in_a_dm(alice: Person, sandbox: Sandbox) -> None:
    reply = text_of(await alice.command("review"))
    assert "40" in reply  # the summary counts the demo org's members
    files = await sandbox.slack.wait_for_async(lambda: sandbox.slack.files or None, timeout=10)
    content = (files[-1].content or b"").decode()
    assert content.startswith("username,email,full_name,role,teams")
    assert "erinpatel,erinpatel@acme.example" in content
    assert files[-1].channels == ["D0ALICE01"] or "D0ALICE01" in json.dumps(sandbox.slack.dms(ALICE))
