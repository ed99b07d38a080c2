"""The request log over requests made and decided through Slack (signed requests through Bolt), read
with the running bot's own store and messenger, as `/hub log` will be once it is wired."""

from __future__ import annotations

import json

import httpx

from bot.sandbox.run import Sandbox
from handlers.request_log import request_log
from tests.bot.test_approvals_e2e import ALICE, BOB, HUB_OPS, IVAN, approval, click
from tests.bot.test_slack_e2e import Person, text_of


def request_id_of(message: dict[str, object]) -> str:
    """The request id an approval message carries on its buttons."""
    found = [
        e["value"] for b in message["blocks"] for e in b.get("elements", []) if e.get("action_id") == "approval_approve"
    ]
    return str(found[0])


async def test_log_of_requests_decided_in_slack(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    ivan = Person(sandbox, http, IVAN)
    assert "Requested" in text_of(await ivan.command("team add data ivanpetrov --reason onboarding"))
    added = approval(sandbox)
    await click(sandbox, http, ALICE, "approval_approve")
    await sandbox.slack.wait_for_async(lambda: "Done" in text_of(approval(sandbox)) or None, timeout=15)
    assert "Requested" in text_of(await ivan.command("role ivanpetrov editor --reason more rights"))
    role = approval(sandbox)
    await click(sandbox, http, BOB, "approval_approve")
    await sandbox.slack.wait_for_async(lambda: "Done" in text_of(approval(sandbox)) or None, timeout=15)

    assert sandbox.bot is not None
    ctx = sandbox.bot.approvals.contexts("acme", ALICE, None)
    assert ctx is not None
    reply = await request_log(ctx, "ivanpetrov", 7)
    shown = json.dumps(reply.blocks)
    assert "2 decided requests about `ivanpetrov`" in reply.text
    assert shown.index(request_id_of(role)) < shown.index(request_id_of(added)), "newest first"
    assert f"asked by <@{IVAN}>, decided by <@{ALICE}>" in shown
    assert f"decided by <@{BOB}>" in shown
    for message in (added, role):
        assert f"https://acme.slack.com/archives/{HUB_OPS}/p{message['ts'].replace('.', '')}|approval message" in shown
    data = await request_log(ctx, "data", 7)
    assert "1 decided request about `data`" in data.text
