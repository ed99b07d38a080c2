"""The log formats: one JSON object a line with its context, secrets redacted, configuration errors too."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from bot import logs
from hub.emulator import DEMO

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhY21lIn0.c2lnbmF0dXJl"


def record(message: str, *args: object, exc_info: bool = False) -> logging.LogRecord:
    error = None
    if exc_info:
        try:
            raise ValueError("boom")
        except ValueError:
            error = sys.exc_info()
    return logging.LogRecord("hubkeeper.test", logging.ERROR, __file__, 1, message, args, error)


def test_a_record_is_one_json_object_with_its_traceback_inside() -> None:
    line = logs.JsonFormatter().format(record("failed on %s", "acme", exc_info=True))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "failed on acme"
    assert (entry["level"], entry["logger"]) == ("ERROR", "hubkeeper.test")
    assert entry["time"].endswith("+00:00")
    assert "Traceback" in entry["exc_info"] and "ValueError: boom" in entry["exc_info"]


def test_context_is_added_where_bound_and_stays_in_its_task() -> None:
    async def handle(user: str) -> dict[str, str]:
        logs.bind(slack_user=user, command="team")
        await asyncio.sleep(0)
        return json.loads(logs.JsonFormatter().format(record("working")))  # type: ignore[no-any-return]

    async def both() -> list[dict[str, str]]:
        return list(await asyncio.gather(handle("U0ALICE01"), handle("U0BOBOK01")))

    alice, bob = contextvars.copy_context().run(asyncio.run, both())
    assert (alice["slack_user"], bob["slack_user"]) == ("U0ALICE01", "U0BOBOK01")
    assert "slack_user" not in json.loads(logs.JsonFormatter().format(record("outside")))


def test_token_shapes_and_configured_secrets_are_redacted_in_both_formats() -> None:
    logs.add_secrets(["plain-signing-secret-value"])
    message = f"oat {DEMO.oat} jwt {JWT} bot xoxb-1-abc app xapp-1-A0-xyz secret plain-signing-secret-value"
    for formatter in (logs.JsonFormatter(), logs.TextFormatter(logs.TEXT_FORMAT)):
        line = formatter.format(record("%s", message))
        for secret in (DEMO.oat, JWT, "xoxb-1-abc", "xapp-1-A0-xyz", "plain-signing-secret-value"):
            assert secret not in line
        assert line.count("[redacted]") == 5


def serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKERHUB_", "HUBKEEPER_", "SLACK_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_configuration_error_in_json_mode_is_one_json_line(tmp_path: Path) -> None:
    result = serve(
        {
            "HUBKEEPER_LOG_FORMAT": "json",
            "DOCKERHUB_ORG": DEMO.org,
            "DOCKERHUB_OAT": DEMO.oat,
            "SLACK_BOT_TOKEN": "xoxb-json-config",
        }
    )
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    entry = json.loads(line)
    assert entry["level"] == "ERROR"
    assert entry["message"] == "SLACK_APP_TOKEN is not set: Socket Mode needs the app-level token (xapp-…)"


def test_an_unknown_log_format_is_a_configuration_error() -> None:
    result = serve({"HUBKEEPER_LOG_FORMAT": "xml"})
    assert result.returncode == 2
    assert result.stderr.startswith("hubkeeper: HUBKEEPER_LOG_FORMAT: Input should be 'text' or 'json'")
