"""The probes: /healthz (liveness), /readyz (database at the current schema, a fresh Docker Hub token per
instance), /metrics — on the Slack port in HTTP mode, on the admin port in Socket Mode."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bot.app import open_bot
from bot.sandbox.demo_users import DEMO_IDENTITY
from bot.sandbox.slack_api import SlackStandIn
from bot.serve import serve_socket_mode, start_http
from bot.settings import load_settings
from bot.store.db import head_revision
from hub.emulator import DEMO, EmulatorConfig, EmulatorServer, EmulatorState, seed_demo
from tests.bot.test_metrics import parse, value

BOT_TOKEN, APP_TOKEN, SIGNING_SECRET = "xoxb-probes-1234", "xapp-1-probes", "probes-signing-secret"
ALICE, HUB_OPS = "U0ALICE01", "C0HUBOPS01"


def wait_for(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def readyz(base: str) -> httpx.Response:
    return httpx.get(base + "/readyz", timeout=10)


def test_readyz_follows_docker_hub_going_away_and_coming_back(tmp_path: Path) -> None:
    # A two-second token: the cached one runs out soon after Docker Hub goes, as the probe must see.
    state = EmulatorState(EmulatorConfig(token_ttl_seconds=2))
    seed_demo(state)
    emulator = EmulatorServer(state, host="127.0.0.1", port=0).start()
    port = emulator.port
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
            "HUBKEEPER_READINESS_SECONDS": "1",
        }
        with subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--http", "--host", "127.0.0.1", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as process:
            assert process.stdout is not None
            try:
                line = process.stdout.readline()
                found = re.search(r"serving Slack over HTTP at (http://127\.0\.0\.1:\d+)/slack/events", line)
                assert found, line
                base = found.group(1)
                assert wait_for(lambda: readyz(base).status_code == 200)
                assert readyz(base).json() == {
                    "status": "ok",
                    "checks": {"database": "ok", "instance:acme": "ok"},
                    "failing": [],
                }
                exchanges_before = state.token_exchanges

                emulator.stop()
                down = wait_for(lambda: (r := readyz(base)).status_code == 503 and r)
                body = down.json()
                assert body["failing"] == ["instance:acme"]
                assert "could not reach Docker Hub" in body["checks"]["instance:acme"]
                assert body["checks"]["database"] == "ok"
                assert httpx.get(base + "/healthz", timeout=5).status_code == 200  # liveness is not readiness

                emulator = EmulatorServer(state, host="127.0.0.1", port=port).start()
                assert wait_for(lambda: readyz(base).status_code == 200)
                # Probing costs Docker Hub nothing: about one exchange per token lifetime, never one a probe.
                probes = 20
                before = state.token_exchanges
                for _ in range(probes):
                    assert readyz(base).status_code == 200
                assert state.token_exchanges - before < probes / 2
                assert state.token_exchanges > exchanges_before
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=15) == 0
            finally:
                if process.poll() is None:
                    process.kill()
                emulator.stop()
            output = line + process.stdout.read()
    assert "instance acme is not ready" in output and "instance acme is ready" in output
    for secret in (DEMO.oat, BOT_TOKEN, SIGNING_SECRET):
        assert secret not in output + body.__repr__()


async def test_readyz_names_a_database_behind_the_code(emulator: EmulatorServer, tmp_path: Path) -> None:
    with SlackStandIn(bot_token=BOT_TOKEN) as slack:
        settings = load_settings(
            dockerhub_org=DEMO.org,
            dockerhub_oat=DEMO.oat,
            dockerhub_api_url=emulator.base_url,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.api_url,
            hubkeeper_database_url=f"sqlite:///{tmp_path / 'hubkeeper.db'}",
        )
        bot = await open_bot(settings, http=True)
        runner, port = await start_http(bot, "127.0.0.1", 0)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                not_checked = await http.get("/readyz")
                assert not_checked.status_code == 503
                assert not_checked.json()["checks"]["instance:acme"] == "not checked yet"
                await bot.startup_checks()
                assert (await http.get("/readyz")).status_code == 200

                async with bot.store.engine.begin() as connection:
                    await connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
                behind = await http.get("/readyz")
                assert behind.status_code == 503
                assert behind.json()["failing"] == ["database"]
                assert behind.json()["checks"]["database"] == (
                    f"the database schema is at 0001, this version needs {head_revision()}"
                )
        finally:
            await runner.cleanup()
            await bot.aclose()


async def test_failed_start_up_checks_make_the_instance_unready(
    emulator: EmulatorServer, emulator_state: EmulatorState, tmp_path: Path
) -> None:
    with SlackStandIn(bot_token=BOT_TOKEN) as slack:
        settings = load_settings(
            dockerhub_org=DEMO.org,
            dockerhub_oat=DEMO.oat,
            dockerhub_api_url=emulator.base_url,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.api_url,
            hubkeeper_database_url=f"sqlite:///{tmp_path / 'hubkeeper.db'}",
        )
        bot = await open_bot(settings, http=True)
        try:
            emulator_state.fail_next(1, 403, method="GET", path="/v2/orgs/acme/groups")
            await bot.startup_checks()
            assert bot.readiness is not None
            ready, body = await bot.readiness.report()
            assert not ready and body["failing"] == ["instance:acme"]
            assert body["checks"]["instance:acme"].startswith("list one team: ")
            await bot.refresh_readiness()  # the token is still good: ready again
            assert (await bot.readiness.report())[0]
        finally:
            await bot.aclose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_socket_mode_serves_probes_and_metrics_on_the_admin_port(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
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
        admin_port = free_port()
        stop = asyncio.Event()
        serving = asyncio.create_task(
            serve_socket_mode(bot, APP_TOKEN, stop=stop, admin_host="127.0.0.1", admin_port=admin_port)
        )
        try:
            await slack.wait_for_async(lambda: slack.socket_mode.connections == 1)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{admin_port}", timeout=10) as http:
                assert (await http.get("/healthz")).json() == {"status": "ok"}
                deadline = time.monotonic() + 15
                while (await http.get("/readyz")).status_code != 200:
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.1)
                assert (await http.post("/slack/events", content=b"{}")).status_code in (404, 405)

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
                await slack.wait_for_async(lambda: slack.ephemerals(ALICE) or None, timeout=10)
                samples = parse((await http.get("/metrics")).text)
                assert value(samples, "hubkeeper_slack_events_total", kind="slash_command", command="team") == 1
                assert value(samples, "hubkeeper_hub_requests_total", route="/v2/orgs/{org}/groups/{group_name}") >= 1
        finally:
            stop.set()
            await asyncio.wait_for(serving, 10)
