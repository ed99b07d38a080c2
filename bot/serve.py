"""Putting the Bolt app in front of Slack: Socket Mode (no public URL) or HTTP.

Both run until SIGTERM or SIGINT and then shut down cleanly: stop taking requests, close the
Socket Mode connection, close the Docker Hub clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.app import Bot
from bot.scheduler import start_scheduler, stop_scheduler

logger = logging.getLogger("hubkeeper.serve")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
SHUTDOWN_GRACE = 20.0
"""Seconds a shutdown waits for listeners still at work (an approved change being applied)."""


def http_app(bot: Bot) -> web.Application:
    """Bolt's endpoint plus a liveness check that answers 200 whatever Docker Hub's state."""
    application = bot.app.web_app(path=EVENTS_PATH)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    application.router.add_get(HEALTH_PATH, healthz)
    return application


async def start_http(bot: Bot, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner (for cleanup) and the port actually bound (port 0 picks one)."""
    runner = web.AppRunner(http_app(bot), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    return runner, int(bound)


def _stop_on_signals(stop: asyncio.Event | None) -> asyncio.Event:
    """The caller's stop event, or one that SIGTERM and SIGINT set."""
    if stop is not None:
        return stop
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def serve_http(bot: Bot, host: str, port: int, *, stop: asyncio.Event | None = None) -> None:
    stop = _stop_on_signals(stop)
    runner, bound = await start_http(bot, host, port)
    scheduler = start_scheduler(bot)
    logger.info(
        "hubkeeper: serving Slack over HTTP at http://%s:%s%s (liveness %s); Docker Hub: %s",
        host, bound, EVENTS_PATH, HEALTH_PATH, bot.describe(),
    )  # fmt: skip
    try:
        await stop.wait()
    finally:
        logger.info("hubkeeper: shutting down")
        await stop_scheduler(scheduler, bot.work, SHUTDOWN_GRACE)
        await runner.cleanup()
        await bot.aclose()


async def serve_socket_mode(bot: Bot, app_token: str, *, stop: asyncio.Event | None = None) -> None:
    stop = _stop_on_signals(stop)
    handler = AsyncSocketModeHandler(bot.app, app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    scheduler = start_scheduler(bot)
    logger.info("hubkeeper: connected to Slack over Socket Mode; Docker Hub: %s", bot.describe())
    try:
        await stop.wait()
    finally:
        logger.info("hubkeeper: shutting down")
        await stop_scheduler(scheduler, bot.work, SHUTDOWN_GRACE)
        await handler.close_async()  # type: ignore[no-untyped-call]
        await bot.aclose()
