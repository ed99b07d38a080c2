"""Running the emulator: in a background thread for tests, or in the caller's loop for the CLI."""

from __future__ import annotations

import asyncio
from types import TracebackType

from .app import create_app
from .state import EmulatorState
from .threaded import ThreadedSite, start_site


async def serve_forever(state: EmulatorState, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve until cancelled; prints nothing, so the caller decides what the user sees."""
    runner, _ = await start_site(create_app(state), host, port)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


class EmulatorServer:
    """The emulator on its own event loop in a daemon thread, so sync and async tests can both use it."""

    def __init__(self, state: EmulatorState, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state
        self.host = host
        self.port = port
        self._site = ThreadedSite(lambda: create_app(state), host, port, name="hub-emulator")

    @property
    def base_url(self) -> str:
        if not self._site.running:
            raise RuntimeError("the emulator server is not running")
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmulatorServer:
        self.port = self._site.start()
        return self

    def stop(self) -> None:
        self._site.stop()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
