"""`hubkeeper serve --http` as a real process: says what it serves, answers /healthz, stops on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bot.sandbox.slack_api import SlackStandIn
from hub.emulator import DEMO, EmulatorServer

BOT_TOKEN = "xoxb-process-token-1234"
SIGNING_SECRET = "process-signing-secret-5678"


def test_http_mode_starts_serves_and_stops_on_sigterm(emulator: EmulatorServer, tmp_path: Path) -> None:
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
                assert f"acme (acme at {emulator.base_url})" in line
                assert httpx.get(found.group(1) + "/healthz", timeout=5).json() == {"status": "ok"}
                started = time.monotonic()
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=30) == 0
                # Promptly: nothing was running, so no 20 s grace was waited out (a loaded machine
                # takes several seconds to wind an interpreter down, hence the margin).
                assert time.monotonic() - started < 15
            finally:
                if process.poll() is None:
                    process.kill()
            output = line + process.stdout.read()
        assert "shutting down" in output
        for secret in (DEMO.oat, BOT_TOKEN, SIGNING_SECRET):
            assert secret not in output


def test_serve_without_slack_settings_is_one_line_and_exit_2(emulator: EmulatorServer) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DOCKERHUB_", "HUBKEEPER_", "SLACK_"))},
        "DOCKERHUB_ORG": DEMO.org,
        "DOCKERHUB_OAT": DEMO.oat,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "hubkeeper: SLACK_APP_TOKEN is not set: Socket Mode needs the app-level token (xapp-…)"
    )
