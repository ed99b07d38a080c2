"""`hubkeeper serve --http` with HUBKEEPER_LOG_FORMAT=json, as a process: every line it writes on stdout and
stderr during an end-to-end flow (a command, an approval, a failing request, Bolt's own warning, access
lines, SIGTERM) is one JSON object, with context where there is one and no secret anywhere."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from bot.sandbox.console import build_console_app
from bot.sandbox.demo_users import DEMO_IDENTITY
from bot.sandbox.payloads import signed_headers
from bot.sandbox.slack_api import SlackStandIn
from hub.emulator import DEMO, EmulatorServer
from tests.bot.test_slack_e2e import text_of

BOT_TOKEN = "xoxb-json-logs-token-1234"
SIGNING_SECRET = "json-logs-signing-secret-5678"
ALICE, IVAN, HUB_OPS = "U0ALICE01", "U0IVANP01", "C0HUBOPS01"


def first(entries: list[dict[str, Any]], what: str, test: Any) -> dict[str, Any]:
    found = [entry for entry in entries if test(entry)]
    assert found, f"no line with {what} among:\n" + "\n".join(json.dumps(e) for e in entries)
    return found[0]


def json_lines(path: Path, *, complete_only: bool = False) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if complete_only:
        # The bot may be writing a line as it is read: its unfinished tail is not JSON yet.
        text = text[: text.rfind("\n") + 1]
    entries = []
    for line in text.splitlines():
        entry = json.loads(line)  # fails the test on any line that is not one JSON object
        assert isinstance(entry, dict), line
        entries.append(entry)
    return entries


def wait_for_line(path: Path, needle: str, within: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for entry in json_lines(path, complete_only=True) if path.exists() else []:
            if needle in entry["message"]:
                return entry
        time.sleep(0.1)
    raise AssertionError(f"no line with {needle!r} in {path.read_text()}")


def start_serve(env: dict[str, str], out: Path, err: Path) -> subprocess.Popen[bytes]:
    with out.open("w") as stdout, err.open("w") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--http", "--host", "127.0.0.1", "--port", "0"],
            env=env,
            stdout=stdout,
            stderr=stderr,
        )


async def test_every_line_is_json_with_context_and_no_secret(emulator: EmulatorServer, tmp_path: Path) -> None:
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with SlackStandIn(bot_token=BOT_TOKEN) as slack:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DOCKERHUB_", "HUBKEEPER_", "SLACK_"))},
            "DOCKERHUB_ORG": DEMO.org,
            "DOCKERHUB_OAT": DEMO.oat,
            "DOCKERHUB_API_URL": emulator.base_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "HUBKEEPER_DATABASE_URL": f"sqlite:///{tmp_path / 'hubkeeper.db'}",
            "HUBKEEPER_APPROVAL_CHANNEL": HUB_OPS,
            "HUBKEEPER_APPROVERS": "S0APPROVERS",
            "HUBKEEPER_LOG_FORMAT": "json",
        }
        process = await asyncio.to_thread(start_serve, env, out, err)
        console: web.AppRunner | None = None
        try:
            started = await asyncio.to_thread(wait_for_line, err, "serving Slack over HTTP")
            events_url = started["message"].split(" at ", 1)[1].split(" ", 1)[0]
            base = events_url.removesuffix("/slack/events")
            console = web.AppRunner(build_console_app(slack, events_url, SIGNING_SECRET))
            await console.setup()
            await web.TCPSite(console, "127.0.0.1", 0).start()
            console_url = f"http://127.0.0.1:{console.addresses[0][1]}"
            async with httpx.AsyncClient(base_url=console_url, timeout=30) as http:
                await drive(http, slack, events_url, base)
            # The failing listener logs after its ack: wait for that line rather than a fixed while.
            await asyncio.to_thread(wait_for_line, err, "unhandled error in a listener")
            process.send_signal(signal.SIGTERM)
            # Shutdown lets running listeners finish for up to 20 s (bot.serve.SHUTDOWN_GRACE).
            assert await asyncio.to_thread(process.wait, 60) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            if console is not None:
                await console.cleanup()

    entries = json_lines(out) + json_lines(err)
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= entry.keys(), entry
        at = datetime.fromisoformat(entry["time"])
        assert at.utcoffset() == timedelta(0) and abs(datetime.now(UTC) - at) < timedelta(minutes=5)
        assert entry["level"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    raw = out.read_text() + err.read_text()
    for secret in (DEMO.oat, BOT_TOKEN, SIGNING_SECRET):
        assert secret not in raw
    assert "Traceback" not in "".join(e["message"] for e in entries)  # tracebacks only inside exc_info

    loggers = {entry["logger"] for entry in entries}
    assert {"hubkeeper.serve", "aiohttp.access", "slack_bolt.AsyncApp"} <= loggers, loggers
    assert any(e["message"].startswith("health check exchange the OAT passed") for e in entries)
    assert any(e["message"] == "hubkeeper: shutting down" for e in entries)

    # Access lines carry the request's fields and whoever sent it.
    command_access = [e for e in entries if e["logger"] == "aiohttp.access" and e.get("command") == "team"]
    assert command_access and command_access[0]["slack_user"] == IVAN
    assert command_access[0]["http_method"] == "POST" and command_access[0]["path"] == "/slack/events"
    assert any(e["logger"] == "aiohttp.access" and e.get("path") == "/readyz" for e in entries)
    # The approval click and the change it carried out name the request and the instance.
    click = first(
        entries, "the click", lambda e: e["logger"] == "aiohttp.access" and e.get("command") == "approval_approve"
    )
    assert click["slack_user"] == ALICE and len(click["request_id"]) == 12
    finished = first(entries, "the change", lambda e: e["message"].startswith("change team_add finished: done"))
    assert finished["instance"] == "acme" and finished["request_id"] == click["request_id"]
    # The failing request: one object, its traceback inside it.
    failed = first(entries, "the failure", lambda e: e["message"] == "unhandled error in a listener")
    assert failed["level"] == "ERROR" and "KeyError" in failed["exc_info"] and "Traceback" in failed["exc_info"]
    # It fails on the missing response_url before any instance is chosen: who and what, not which org.
    assert (failed["slack_user"], failed["command"]) == (IVAN, "teams")
    # Bolt's own warning about a request no listener takes, as an object too.
    assert any(e["logger"] == "slack_bolt.AsyncApp" and e["level"] == "WARNING" for e in entries)


async def drive(http: httpx.AsyncClient, slack: SlackStandIn, events_url: str, base: str) -> None:
    async def command(user: str, text: str) -> None:
        result = await http.post("/api/command", json={"user": user, "channel": HUB_OPS, "text": f"/hub {text}"})
        assert result.json()["ok"] and result.json()["status"] == 200, result.text

    async with httpx.AsyncClient(timeout=30) as direct:
        deadline = time.monotonic() + 30
        while (await direct.get(base + "/readyz")).status_code != 200:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)

        await command(IVAN, "team add data ivanpetrov --reason onboarding")
        approval = await slack.wait_for_async(lambda: slack.messages(HUB_OPS) or None)
        message = approval[-1]
        block_id = next(
            b["block_id"]
            for b in message["blocks"]
            if any(e.get("action_id") == "approval_approve" for e in b.get("elements", []))
        )
        clicked = await http.post(
            "/api/action",
            json={
                "user": ALICE,
                "channel": HUB_OPS,
                "message_ts": message["ts"],
                "ephemeral": False,
                "action_id": "approval_approve",
                "block_id": block_id,
            },
        )
        assert clicked.json()["ok"], clicked.text
        assert await slack.wait_for_async(lambda: "Done" in text_of(slack.messages(HUB_OPS)[-1]) or None)

        # A slash command without its response_url: the listener fails after its ack and logs why.
        body = (
            f"token={DEMO_IDENTITY.verification_token}&team_id={DEMO_IDENTITY.team_id}&channel_id={HUB_OPS}"
            f"&user_id={IVAN}&command=%2Fhub&text=teams&api_app_id={DEMO_IDENTITY.app_id}"
        )
        failing = await direct.post(events_url, content=body, headers=signed_headers(SIGNING_SECRET, body))
        # Bolt's asyncio runner answers with whatever the ack left when the listener failed: 200 when the
        # ack was sent first, 404 when the failure overtook it. Either way the failure must be logged (below).
        assert failing.status_code in (200, 404)

        # An event no listener takes: Bolt warns about it.
        event = json.dumps(
            {
                "type": "event_callback",
                "team_id": DEMO_IDENTITY.team_id,
                "api_app_id": DEMO_IDENTITY.app_id,
                "event": {"type": "reaction_added", "user": IVAN, "reaction": "tada"},
                "event_id": "Ev0TEST0001",
                "event_time": int(time.time()),
            }
        )
        headers = {**signed_headers(SIGNING_SECRET, event), "Content-Type": "application/json"}
        assert (await direct.post(events_url, content=event, headers=headers)).status_code in (200, 404)
        assert (await direct.get(base + "/metrics")).status_code == 200
