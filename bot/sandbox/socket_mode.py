"""Socket Mode's server side, for testing `hubkeeper serve` without a public URL or Slack.

`apps.connections.open` (with the app-level `xapp-` token) hands out a WebSocket URL on the
stand-in; the stand-in greets each connection with `hello`, delivers envelopes the test queues
(`slash_commands`, `interactive`, `events_api`), and records the acks the app sends back.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from typing import Any

from aiohttp import WSMsgType, web


class SocketModeServer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[web.WebSocketResponse] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.acks: dict[str, dict[str, Any]] = {}
        """envelope_id → what the app answered (its `payload`, if any)."""

    @property
    def connections(self) -> int:
        with self._lock:
            return sum(1 for socket in self._sockets if not socket.closed)

    def open_connection(self, request: web.Request, app_token: str | None) -> web.Response:
        if app_token is None or not app_token.startswith("xapp-"):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        url = f"ws://{request.host}/socket-mode?ticket={uuid.uuid4().hex}"
        return web.json_response({"ok": True, "url": url})

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._loop = asyncio.get_running_loop()
        await socket.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0HUBKEEP1"}})
        with self._lock:
            self._sockets.append(socket)
        try:
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                if isinstance(data, dict) and isinstance(data.get("envelope_id"), str):
                    with self._lock:
                        self.acks[data["envelope_id"]] = data.get("payload") or {}
        finally:
            with self._lock:
                self._sockets.remove(socket)
        return socket

    def deliver(self, kind: str, payload: dict[str, Any]) -> str:
        """Queue an envelope to the first open connection (from any thread); returns its id."""
        envelope_id = uuid.uuid4().hex
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        with self._lock:
            open_sockets = [socket for socket in self._sockets if not socket.closed]
        if not open_sockets or self._loop is None:
            raise RuntimeError("no Socket Mode connection is open")
        asyncio.run_coroutine_threadsafe(open_sockets[0].send_json(envelope), self._loop).result(5)
        return envelope_id

    def acked(self, envelope_id: str) -> bool:
        with self._lock:
            return envelope_id in self.acks
