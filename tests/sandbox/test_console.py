"""The console backend plays Slack towards a real Bolt app: signed commands and clicks, acks, replies."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from aiohttp import web

from bot.sandbox import SlackStandIn
from bot.sandbox.console import STATIC, build_console_app
from hub.emulator.threaded import start_site

from .conftest import ALICE, HUB_OPS, IVAN, ConsoleStack

DM_ALICE = "D0ALICE01"


async def state_of(client: httpx.AsyncClient, user: str = ALICE) -> dict[str, Any]:
    response = await client.get("/api/state", params={"user": user})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def run(client: httpx.AsyncClient, text: str, channel: str = HUB_OPS, user: str = ALICE) -> dict[str, Any]:
    response = await client.post("/api/command", json={"user": user, "channel": channel, "text": text})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def console(console_stack: ConsoleStack) -> Any:
    async with httpx.AsyncClient(base_url=console_stack.url, timeout=10) as client:
        yield client


async def test_the_page_and_its_assets_are_served(console: httpx.AsyncClient) -> None:
    page = await console.get("/")
    assert page.status_code == 200 and 'data-testid="composer-input"' in page.text
    for asset in ("/static/console.js", "/static/console.css"):
        assert (await console.get(asset)).status_code == 200
    # Nothing outside loopback: the page loads no CDN.
    assert "http" not in page.text.replace("http-equiv", "")


async def test_a_command_is_signed_and_shaped_like_slacks(
    console: httpx.AsyncClient, console_stack: ConsoleStack
) -> None:
    result = await run(console, "/hub members  --team owners")
    assert result == {"ok": True, "status": 200, "ack": "", "error": None}
    [command] = console_stack.seen
    standin = console_stack.standin
    assert command["command"] == "/hub" and command["text"] == "members  --team owners"
    assert (command["user_id"], command["user_name"], command["channel_id"], command["channel_name"]) == (
        ALICE,
        "alice",
        HUB_OPS,
        "hub-ops",
    )
    assert command["team_id"] == "T0ACME0001" and command["team_domain"] == "acme"
    assert command["api_app_id"] == "A0HUBKEEP1" and command["is_enterprise_install"] == "false"
    assert command["response_url"].startswith(f"{standin.base_url}/response/")
    assert command["trigger_id"] in standin.state.triggers


async def test_reply_then_button_replaces_the_ephemeral(
    console: httpx.AsyncClient, console_stack: ConsoleStack
) -> None:
    await run(console, "/hub request")
    standin = console_stack.standin
    [reply] = await standin.wait_for_async(lambda: standin.ephemerals(ALICE))
    state = await state_of(console)
    assert [e["ts"] for e in state["ephemerals"]] == [reply["ts"]]
    assert state["ephemerals"][0]["blocks"][0]["text"]["text"] == "Access request"
    assert (await state_of(console, IVAN))["ephemerals"] == []

    click = {
        "user": ALICE,
        "channel": HUB_OPS,
        "message_ts": reply["ts"],
        "ephemeral": True,
        "action_id": "approve",
        "block_id": "decide",
        "value": "req-1",
    }
    response = await console.post("/api/action", json=click)
    assert response.json()["status"] == 200
    await standin.wait_for_async(lambda: standin.ephemerals(ALICE)[0]["text"] == "Approved")
    [replaced] = (await state_of(console))["ephemerals"]
    assert replaced["ts"] == reply["ts"]
    assert replaced["blocks"][0]["text"]["text"] == f"Approved by <@{ALICE}>"

    payload = console_stack.seen[-1]
    assert payload["type"] == "block_actions" and "message" not in payload
    assert payload["container"] == {
        "type": "message",
        "message_ts": reply["ts"],
        "channel_id": HUB_OPS,
        "is_ephemeral": True,
    }
    assert payload["user"] == {"id": ALICE, "username": "alice", "name": "alice", "team_id": "T0ACME0001"}
    [action] = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "approve",
        "decide",
        "req-1",
        "button",
    )
    assert action["text"]["text"] == "Approve" and payload["state"] == {"values": {}}


async def test_clicking_a_channel_message_sends_it_and_chat_update_shows(
    console: httpx.AsyncClient, console_stack: ConsoleStack
) -> None:
    await run(console, "/hub announce")
    standin = console_stack.standin
    [posted] = await standin.wait_for_async(lambda: standin.messages(HUB_OPS))
    click = {
        "user": IVAN,
        "channel": HUB_OPS,
        "message_ts": posted["ts"],
        "ephemeral": False,
        "action_id": "approve",
        "block_id": "decide",
    }
    assert (await console.post("/api/action", json=click)).json()["ok"] is True
    await standin.wait_for_async("chat.update")
    channel = next(c for c in (await state_of(console))["channels"] if c["id"] == HUB_OPS)
    assert [m["text"] for m in channel["messages"]] == ["Approved"]
    payload = console_stack.seen[-1]
    assert payload["message"]["ts"] == posted["ts"] and payload["container"]["is_ephemeral"] is False
    assert parse_qs(payload["response_url"].split("?")[-1]) == {}  # a plain URL, as Slack's


async def test_ack_bodies_are_shown_like_slack_does(console: httpx.AsyncClient, console_stack: ConsoleStack) -> None:
    assert (await run(console, "/hub ping", channel=DM_ALICE))["status"] == 200
    [pong] = console_stack.standin.ephemerals(ALICE)
    assert (pong["text"], pong["source"], pong["channel"]) == ("pong", "ack", DM_ALICE)
    assert console_stack.seen[0]["channel_name"] == "directmessage"
    await run(console, "/hub shout")
    assert [m["text"] for m in console_stack.standin.messages(HUB_OPS)] == ["Heard you all"]


async def test_a_modal_opens_validates_and_closes(console: httpx.AsyncClient, console_stack: ConsoleStack) -> None:
    await run(console, "/hub invite")
    standin = console_stack.standin
    view = (await standin.wait_for_async(lambda: standin.modal_stack(ALICE)))[-1]
    assert (await state_of(console))["modal"]["id"] == view["id"]
    bad = {"user": ALICE, "view_id": view["id"], "values": {"email": {"value": "nope"}}}
    result = (await console.post("/api/view_submission", json=bad)).json()
    assert result["errors"] == {"email": "That is not an email address"}
    assert standin.modal_stack(ALICE) != []
    good = {**bad, "values": {"email": {"value": "newbie@acme.example"}}}
    assert (await console.post("/api/view_submission", json=good)).json()["ok"] is True
    submitted = console_stack.seen[-1]
    assert submitted["type"] == "view_submission" and submitted["view"]["callback_id"] == "invite"
    assert submitted["view"]["state"]["values"]["email"]["value"]["value"] == "newbie@acme.example"
    assert (await state_of(console))["modal"] is None


async def test_console_refuses_what_slack_would_not_send(console: httpx.AsyncClient) -> None:
    for path, body in [
        ("/api/command", {"user": "U0NOBODY1", "channel": HUB_OPS, "text": "/hub help"}),
        ("/api/command", {"user": ALICE, "channel": "D0IVANP01", "text": "/hub help"}),
        ("/api/command", {"user": ALICE, "channel": HUB_OPS, "text": "/deploy now"}),
        ("/api/action", {"user": ALICE, "channel": HUB_OPS, "message_ts": "1.000001", "action_id": "approve"}),
    ]:
        response = await console.post(path, json=body)
        assert response.status_code == 400, (path, body)
    assert (await console.get("/api/state", params={"user": "U0NOBODY1"})).status_code == 400


async def test_state_version_moves_with_every_change(console: httpx.AsyncClient) -> None:
    before = (await state_of(console))["version"]
    await run(console, "/hub ping")
    assert (await state_of(console))["version"] > before
    default = (await console.get("/api/state")).json()
    assert default["me"]["id"] == ALICE and default["me"]["what"] == "Docker Hub owner"
    whats = {u["name"]: u["what"] for u in default["users"]}
    assert whats["newbie"] == "no Docker Hub account" and whats["ivan"] == "Docker Hub member"


async def test_a_wrong_signing_secret_gets_401_from_bolt(console_stack: ConsoleStack) -> None:
    standin = console_stack.standin
    runner, port = await start_site(build_console_app(standin, console_stack.bot_url, "not-the-secret"), "127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            result = await run(client, "/hub help")
    finally:
        await runner.cleanup()
    assert result == {
        "ok": False,
        "status": 401,
        "ack": json.dumps({"error": "invalid request"}),
        "error": "dispatch_failed",
    }
    [notice] = standin.ephemerals(ALICE)
    assert notice["source"] == "slack" and notice["text"] == '/hub failed with the error "dispatch_failed"'
    assert console_stack.seen == []


async def test_an_unreachable_bot_is_reported(standin: SlackStandIn) -> None:
    dead = web.Application()
    runner, port = await start_site(dead, "127.0.0.1", 0)
    await runner.cleanup()  # the port is free again: nothing listens there
    console_runner, console_port = await start_site(
        build_console_app(standin, f"http://127.0.0.1:{port}/slack/events", "s"), "127.0.0.1", 0
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{console_port}") as client:
            result = await run(client, "/hub help")
    finally:
        await console_runner.cleanup()
    assert (result["ok"], result["error"]) == (False, "dispatch_failed")


def test_the_page_script_never_writes_html() -> None:
    # Rendering goes through DOM nodes and text; the browser test shows a <script> in a message stays text.
    script = (STATIC / "console.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink
