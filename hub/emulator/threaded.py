"""Serve an aiohttp application from a daemon thread with its own event loop.

Sync tests and tests on another loop can then talk to it over loopback. The Docker Hub emulator and
the Slack stand-in (bot/sandbox) both run this way.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from aiohttp import web


async def start_site(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    # access_log=None: the sandbox shares a terminal with the bot, whose own logs matter more.
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner, int(runner.addresses[0][1])


class ThreadedSite:
    def __init__(self, app_factory: Callable[[], web.Application], host: str, port: int, name: str) -> None:
        self._app_factory = app_factory
        self.host = host
        self.port = port
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> int:
        """Start serving and return the bound port."""
        if self._thread is not None:
            raise RuntimeError(f"{self._name} is already running")
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"{self._name} failed to start") from self._error
        return self.port

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._cleanup(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._runner, self.port = loop.run_until_complete(start_site(self._app_factory(), self.host, self.port))
        except BaseException as exc:  # handed to start() in the caller's thread
            self._error = exc
            self._ready.set()
            loop.close()
            self._loop = None
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._loop = None

    async def _cleanup(self) -> None:
        if self._runner is not None:
            server = self._runner.server
            await self._runner.cleanup()
            self._runner = None
            # A connection accepted just as the site stopped is set up a few loop turns later, after
            # the shutdown closed the others: close it too, or its socket outlives the loop and is
            # reported (as an unclosed transport) in whatever test the garbage collector is in.
            for _ in range(5):
                await asyncio.sleep(0)
            for handler in server.connections if server is not None else ():
                handler.force_close()
            await asyncio.sleep(0)
