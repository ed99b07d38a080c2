"""`hubkeeper serve` in Socket Mode: connects with the app token, answers a command, shuts down cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import warnings
from pathlib import Path

from bot.app import open_bot
from bot.sandbox.demo_users import DEMO_IDENTITY
from bot.sandbox.slack_api import SlackStandIn
from bot.serve import serve_socket_mode
from bot.settings import load_settings
from hub.emulator import DEMO, EmulatorServer

BOT_TOKEN, APP_TOKEN = "xoxb-socket", "xapp-1-socket"
ALICE, HUB_OPS = "U0ALICE01", "C0HUBOPS01"


async def test_a_command_over_socket_mode(emulator: EmulatorServer, tmp_path: Path) -> None:
    with SlackStandIn(bot_token=BOT_TOKEN) as slack:
        settings = load_settings(
            dockerhub_org=DEMO.org,
            dockerhub_oat=DEMO.oat,
            dockerhub_api_url=emulator.base_url,
            slack_bot_token=BOT_TOKEN,
            slack_app_token=APP_TOKEN,
            slack_api_url=slack.api_url,
            hubkeeper_database_url=f"sqlite:///{tmp_path / 'hubkeeper.db'}",
        )
        bot = await open_bot(settings, http=False)
        stop = asyncio.Event()
        serving = asyncio.create_task(
            serve_socket_mode(bot, APP_TOKEN, stop=stop, admin_host="127.0.0.1", admin_port=0)
        )
        try:
            await slack.wait_for_async(lambda: slack.socket_mode.connections == 1)

            command = {
                "token": DEMO_IDENTITY.verification_token,
                "team_id": DEMO_IDENTITY.team_id,
                "channel_id": HUB_OPS,
                "user_id": ALICE,
                "command": "/hub",
                "text": "team backend",
                "api_app_id": DEMO_IDENTITY.app_id,
                "response_url": slack.new_response_url(ALICE, HUB_OPS),
                "trigger_id": slack.new_trigger_id(ALICE),
            }
            envelope = await asyncio.to_thread(slack.socket_mode.deliver, "slash_commands", command)
            await slack.wait_for_async(lambda: slack.socket_mode.acked(envelope))
            replies = await slack.wait_for_async(lambda: slack.ephemerals(ALICE) or None)
            assert "erinpatel" in json.dumps(replies[-1]["blocks"])
            assert [call.method for call in slack.calls_to("apps.connections.open")] == ["apps.connections.open"]
        finally:
            # Also when an assertion fails: a serve task left running leaks its sockets into later tests.
            stop.set()
            await asyncio.wait_for(serving, 60)
        await slack.wait_for_async(lambda: slack.socket_mode.connections == 0)


async def test_a_refused_app_token_leaves_nothing_open_when_cancelled(emulator: EmulatorServer, tmp_path: Path) -> None:
    # slack_sdk retries a refused connection until cancelled; what serve opened before it (the admin
    # port, the Socket Mode client's HTTP session, the bot's store and clients) must close then. Left
    # open, they were reported as unclosed in whichever later test the garbage collector ran in.
    with SlackStandIn(bot_token=BOT_TOKEN) as slack:
        settings = load_settings(
            dockerhub_org=DEMO.org,
            dockerhub_oat=DEMO.oat,
            dockerhub_api_url=emulator.base_url,
            slack_bot_token=BOT_TOKEN,
            slack_app_token=APP_TOKEN,
            slack_api_url=slack.api_url,
            hubkeeper_database_url=f"sqlite:///{tmp_path / 'hubkeeper.db'}",
        )
        bot = await open_bot(settings, http=False)
        serving = asyncio.create_task(
            serve_socket_mode(bot, "xoxb-not-an-app-token", stop=asyncio.Event(), admin_host="127.0.0.1", admin_port=0)
        )
        await slack.wait_for_async(lambda: slack.calls_to("apps.connections.open") or None)
        serving.cancel()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(serving, 30)
            del serving  # its frames hold what it opened
            gc.collect()
        assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
