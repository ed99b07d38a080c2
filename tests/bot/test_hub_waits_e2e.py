"""Through the real bot: a signed /hub command (the sandbox console signs like Slack) into Bolt,
Docker Hub (the emulator) answering 429, the Slack stand-in receiving what the asker sees."""

from __future__ import annotations

import json
import time

import httpx

from bot.sandbox.run import Sandbox
from bot.sandbox.slack_state import Message
from hub.emulator import EmulatorState

ALICE, HUB_OPS = "U0ALICE01", "C0HUBOPS01"


def replies(sandbox: Sandbox) -> list[Message]:
    return [m for m in sandbox.slack.ephemerals(ALICE) if m.get("source") == "response_url"]


def text_of(message: Message) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + message.get("text", "")


async def type_command(sandbox: Sandbox, http: httpx.AsyncClient, text: str) -> None:
    result = await http.post(
        sandbox.console_url + "/api/command", json={"user": ALICE, "channel": HUB_OPS, "text": f"/hub {text}"}
    )
    assert result.json()["ok"], result.text
    assert result.json()["status"] == 200  # acked in time, whatever Docker Hub does


async def test_a_lookup_held_by_a_429_tells_the_asker_why_then_answers(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    emulator_state.rate_limit_next(1, retry_after=4, path="/v2/orgs/acme/members")
    started = time.monotonic()
    await type_command(sandbox, http, "whois erinpatel@acme.example")

    both = await sandbox.slack.wait_for_async(lambda: replies(sandbox)[1:] and replies(sandbox), timeout=30)
    assert len(both) == 2
    notice, answer = both
    assert "Docker Hub asked us to wait 4 s" in text_of(notice)
    assert "Erin Patel" in text_of(answer)
    assert "wait" not in text_of(answer)
    assert time.monotonic() - started >= 4
    statuses = [r.status for r in emulator_state.requests if r.path == "/v2/orgs/acme/members"]
    assert statuses[:2] == [429, 200]


async def test_a_quick_lookup_sends_only_the_answer(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    emulator_state.rate_limit_next(1, retry_after=1, path="/v2/orgs/acme/members")
    await type_command(sandbox, http, "whois erinpatel@acme.example")
    answer = (await sandbox.slack.wait_for_async(lambda: replies(sandbox) or None, timeout=20))[0]
    assert "Erin Patel" in text_of(answer)
    await type_command(sandbox, http, "help")
    both = await sandbox.slack.wait_for_async(lambda: replies(sandbox)[1:] and replies(sandbox), timeout=20)
    assert len(both) == 2  # the answer and the help: no notice in between


async def test_a_legacy_team_name_is_shown_through_slack(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    emulator_state.add_group("acme", "qa", "Quality assurance", members=["ivanpetrov"], legacy_name=True)
    await type_command(sandbox, http, "team qa")
    answer = (await sandbox.slack.wait_for_async(lambda: replies(sandbox) or None, timeout=20))[0]
    assert "Quality assurance" in text_of(answer)
    assert "ivanpetrov" in text_of(answer)


async def test_repeated_health_checks_cannot_get_the_exchange_rate_limited(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    for count in range(3):
        await type_command(sandbox, http, "health")
        await sandbox.slack.wait_for_async(lambda n=count: replies(sandbox)[n:] or None, timeout=20)
    first, second, third = (text_of(reply) for reply in replies(sandbox))
    assert "All 4 health checks passed" in first and "s ago" not in first
    for later in (second, third):
        assert "All 4 health checks passed" in later and "s ago; next exchange in" in later
    # The sandbox has an OAT and a PAT: one exchange each, whatever the number of health checks.
    assert [r.status for r in emulator_state.requests if r.path == "/v2/auth/token"] == [200, 200]


async def test_a_rate_limited_health_exchange_leaves_lookups_working(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    await type_command(sandbox, http, "whois erinpatel@acme.example")
    await sandbox.slack.wait_for_async(lambda: replies(sandbox) or None, timeout=20)
    emulator_state.rate_limit_next(1, retry_after=600, method="POST", path="/v2/auth/token")
    started = time.monotonic()
    await type_command(sandbox, http, "health")
    health = text_of((await sandbox.slack.wait_for_async(lambda: replies(sandbox)[1:] or None, timeout=20))[0])
    assert "1 of 4 health checks failed" in health
    assert "rate limit" in health
    await type_command(sandbox, http, "whois kenjisato@acme.example")
    answer = await sandbox.slack.wait_for_async(lambda: replies(sandbox)[2:] or None, timeout=20)
    assert "Kenji Sato" in text_of(answer[0])
    assert time.monotonic() - started < 30  # nothing waited out the exchange's ten minutes
    # The OAT's JWT was kept: no exchange after the refused one but the PAT's own.
    assert [r.status for r in emulator_state.requests if r.path == "/v2/auth/token"] == [200, 429, 200]
