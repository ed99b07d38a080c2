"""Putting the Bolt app in front of Slack: Socket Mode (no public URL) or HTTP.

Both run until SIGTERM or SIGINT and then shut down cleanly: stop taking new work (commands are
answered "shutting down", no approval starts an execution), let changes being applied finish within
HUBKEEPER_SHUTDOWN_GRACE, leave the rest to recovery (their leases run out and a sweep marks them
interrupted), then close the Socket Mode connection, the Docker Hub clients and the store. Both
answer the probes (`/healthz` liveness, `/readyz` readiness) and `/metrics`: on the Slack port in
HTTP mode, on the admin port in Socket Mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.app import Bot
from bot.logs import AccessLogger
from bot.metrics import CONTENT_TYPE
from bot.scheduler import start_scheduler, stop_scheduler
from bot.store.sql_store import count_requests_by_status

logger = logging.getLogger("hubkeeper.serve")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
SHUTDOWN_GRACE = 20.0
"""Seconds the sandbox's shutdown waits for listeners still at work (`serve` takes HUBKEEPER_SHUTDOWN_GRACE)."""


def add_probes(application: web.Application, bot: Bot) -> web.Application:
    """Liveness (200 whatever Docker Hub's state), readiness (200 or 503 naming what fails), metrics."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        if bot.readiness is None:
            return web.json_response({"status": "ok", "checks": {}, "failing": []})
        ready, body = await bot.readiness.report()
        return web.json_response(body, status=200 if ready else 503)

    async def metrics(_: web.Request) -> web.Response:
        body = await bot.metrics.exposition(lambda: count_requests_by_status(bot.store.engine))
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    application.router.add_get(HEALTH_PATH, healthz)
    application.router.add_get(READY_PATH, readyz)
    application.router.add_get(METRICS_PATH, metrics)
    return application


def http_app(bot: Bot) -> web.Application:
    """Bolt's endpoint plus the probes and metrics."""
    return add_probes(bot.app.web_app(path=EVENTS_PATH), bot)


async def _start(application: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(application, handle_signals=False, access_log_class=AccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    return runner, int(bound)


async def start_http(bot: Bot, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner (for cleanup) and the port actually bound (port 0 picks one)."""
    return await _start(http_app(bot), host, port)


async def start_admin(bot: Bot, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Socket Mode's small HTTP server: only the probes and metrics, for Kubernetes and Prometheus."""
    return await _start(add_probes(web.Application(), bot), host, port)


def _run_startup_checks(bot: Bot) -> asyncio.Task[None]:
    async def checks() -> None:
        try:
            await bot.startup_checks()
        except Exception:
            logger.exception("the start-up health checks failed")

    return asyncio.create_task(checks(), name="startup-checks")


async def _stop_task(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


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


async def _wind_down(bot: Bot, scheduler: AsyncIOScheduler) -> None:
    """Stop taking new work, let changes under way finish within the grace, stop the scheduler."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bot.shutdown_grace
    left = await bot.approvals.drain(bot.shutdown_grace)
    if left:
        logger.warning("hubkeeper: %d change(s) did not finish within the grace; the sweep will recover them", left)
    # Listeners and jobs still answering get what is left of the grace (at least a moment).
    await stop_scheduler(scheduler, bot.work, max(1.0, deadline - loop.time()))


async def serve_http(bot: Bot, host: str, port: int, *, stop: asyncio.Event | None = None) -> None:
    stop = _stop_on_signals(stop)
    # Everything opened so far is closed however start-up ends (a port in use, a cancellation), in the
    # reverse order of opening: a listening socket or client left open outlives the loop.
    async with contextlib.AsyncExitStack() as opened:
        opened.push_async_callback(bot.aclose, grace=1.0)
        runner, bound = await start_http(bot, host, port)
        opened.push_async_callback(runner.cleanup)
        scheduler = start_scheduler(bot)
        opened.push_async_callback(_wind_down, bot, scheduler)
        logger.info(
            "hubkeeper: serving Slack over HTTP at http://%s:%s%s (liveness %s, readiness %s, metrics %s); "
            "Docker Hub: %s",
            host, bound, EVENTS_PATH, HEALTH_PATH, READY_PATH, METRICS_PATH, bot.describe(),
        )  # fmt: skip
        opened.push_async_callback(_stop_task, _run_startup_checks(bot))
        try:
            await stop.wait()
        finally:
            logger.info("hubkeeper: shutting down")


async def serve_socket_mode(
    bot: Bot,
    app_token: str,
    *,
    stop: asyncio.Event | None = None,
    admin_host: str = "0.0.0.0",
    admin_port: int = 8080,
) -> None:
    stop = _stop_on_signals(stop)
    # As in serve_http; here a refused app token makes slack_sdk retry the connection until cancelled,
    # and the admin port and the Socket Mode client's HTTP session opened before must close then too.
    async with contextlib.AsyncExitStack() as opened:
        opened.push_async_callback(bot.aclose, grace=1.0)
        admin, admin_bound = await start_admin(bot, admin_host, admin_port)
        opened.push_async_callback(admin.cleanup)
        handler = AsyncSocketModeHandler(bot.app, app_token)
        opened.push_async_callback(handler.close_async)
        await handler.connect_async()  # type: ignore[no-untyped-call]
        scheduler = start_scheduler(bot)
        opened.push_async_callback(_wind_down, bot, scheduler)
        logger.info(
            "hubkeeper: connected to Slack over Socket Mode; probes and metrics at http://%s:%s "
            "(%s, %s, %s); Docker Hub: %s",
            admin_host, admin_bound, HEALTH_PATH, READY_PATH, METRICS_PATH, bot.describe(),
        )  # fmt: skip
        opened.push_async_callback(_stop_task, _run_startup_checks(bot))
        try:
            await stop.wait()
        finally:
            logger.info("hubkeeper: shutting down")
