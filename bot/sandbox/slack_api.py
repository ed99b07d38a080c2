"""A stateful stand-in for the Slack Web API (aiohttp), plus response_url and file-upload endpoints.

Give `SlackStandIn.api_url` to `AsyncWebClient(base_url=...)`. Errors look like Slack's: HTTP 200 with
`{"ok": false, "error": ...}`, and HTTP 429 with Retry-After for injected rate limits.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from hub.emulator.threaded import ThreadedSite, start_site

from .demo_users import DEMO_CHANNELS, DEMO_IDENTITY, DEMO_SLACK_USERS, DEMO_USERGROUPS
from .directory import SlackChannel, SlackIdentity, SlackUser, dm_channel_id
from .slack_http import build_standin_app
from .slack_state import Message, RateLimit, RecordedCall, SlackState, StoredFile
from .socket_mode import SocketModeServer

T = TypeVar("T")
WAIT_TIMEOUT = 30.0
"""How long `wait_for` polls by default: what is awaited usually comes in milliseconds, but on a loaded
CI machine a bot's answer can take seconds, and a wait that gives up early fails a sound test."""


class SlackStandIn:
    """The Slack Web API stand-in with thread-safe introspection for tests and the console."""

    def __init__(
        self,
        users: Sequence[SlackUser] = DEMO_SLACK_USERS,
        usergroups: Mapping[str, Sequence[str]] = DEMO_USERGROUPS,
        bot_token: str = "xoxb-sandbox-token",
        host: str = "127.0.0.1",
        port: int = 0,
        channels: Sequence[SlackChannel] = DEMO_CHANNELS,
        identity: SlackIdentity = DEMO_IDENTITY,
    ) -> None:
        self.state = SlackState(users, usergroups, channels, identity)
        self.socket_mode = SocketModeServer()
        self.bot_token = bot_token
        self.host = host
        self.port = port
        self._site = ThreadedSite(self.make_app, host, port, name="slack-standin")
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    # -- running -----------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        return build_standin_app(self.state, self.bot_token, self.socket_mode)

    def start(self) -> SlackStandIn:
        """Serve from a daemon thread with its own event loop."""
        self.port = self._site.start()
        self._base_url = f"http://{self.host}:{self.port}"
        return self

    def stop(self) -> None:
        self._site.stop()
        self._base_url = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def start_async(self) -> SlackStandIn:
        """Serve on the running loop (the sandbox runs the bot, the console and this on one loop)."""
        self._runner, self.port = await start_site(self.make_app(), self.host, self.port)
        self._base_url = f"http://{self.host}:{self.port}"
        return self

    async def stop_async(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._base_url = None

    async def serve(self) -> None:
        """Serve on the running loop until cancelled."""
        await self.start_async()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop_async()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the Slack stand-in is not running")
        return self._base_url

    @property
    def api_url(self) -> str:
        # slack_sdk joins method names onto base_url, so it must end with the slash.
        return f"{self.base_url}/api/"

    # -- what Slack itself hands out ---------------------------------------------------------------

    def new_response_url(self, user_id: str, channel_id: str, *, original_ts: str | None = None) -> str:
        """A response_url for one user in one channel; with original_ts, replace_original acts on that message."""
        original: tuple[str, str] | None = None
        if original_ts is not None:
            original = ("ephemeral" if self.state.find_ephemeral(original_ts) else "message", original_ts)
        entry = self.state.new_response_url(user_id, channel_id, original)
        return f"{self.base_url}/response/{entry.id}"

    def new_trigger_id(self, user_id: str) -> str:
        """A trigger_id as an interaction carries it: one views.open/push within 3 seconds."""
        return self.state.new_trigger(user_id).id

    def post_ephemeral(self, user_id: str, channel_id: str, content: Mapping[str, Any], source: str) -> Message:
        """Show something only `user_id` sees, as Slack does with a command's ack body or its own errors."""
        return self.state.add_ephemeral(user_id, channel_id, content, source)

    def post_in_channel(self, channel_id: str, content: Mapping[str, Any]) -> Message:
        return self.state.add_message(channel_id, content)

    def rate_limit_next(self, n: int, retry_after: int = 1, method: str | None = None) -> None:
        """Answer the next `n` calls (to `method`, or to any method) with HTTP 429 and Retry-After."""
        with self.state.lock:
            self.state.rate_limits.append(RateLimit(n, retry_after, method))

    # -- introspection -----------------------------------------------------------------------------

    @property
    def version(self) -> int:
        return self.state.version

    @property
    def calls(self) -> list[RecordedCall]:
        with self.state.lock:
            return list(self.state.calls)

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.method == method]

    def messages(self, channel: str) -> list[Message]:
        """The channel's messages (thread replies included, with thread_ts) as they are now, oldest first."""
        with self.state.lock:
            return copy.deepcopy(self.state.messages.get(channel, []))

    def dms(self, user_id: str) -> list[Message]:
        return self.messages(dm_channel_id(user_id))

    def ephemerals(self, user_id: str) -> list[Message]:
        with self.state.lock:
            return copy.deepcopy(self.state.ephemerals.get(user_id, []))

    @property
    def files(self) -> list[StoredFile]:
        with self.state.lock:
            return [copy.deepcopy(f) for f in self.state.files.values()]

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        with self.state.lock:
            return copy.deepcopy(self.state.views)

    def modal_stack(self, user_id: str) -> list[dict[str, Any]]:
        """The modals open for a user, root first."""
        with self.state.lock:
            return [copy.deepcopy(self.state.views[v]) for v in self.state.modal_stacks.get(user_id, [])]

    def set_modal_stack(self, user_id: str, view_ids: list[str]) -> None:
        """The console closes and replaces modals as Slack's client would after a view_submission ack."""
        with self.state.changing():
            self.state.modal_stacks[user_id] = list(view_ids)

    def home(self, user_id: str) -> dict[str, Any] | None:
        with self.state.lock:
            view_id = self.state.homes.get(user_id)
            return copy.deepcopy(self.state.views[view_id]) if view_id else None

    def users(self) -> list[SlackUser]:
        return [u for u in self.state.users.values() if not u.is_bot]

    # -- waiting for listeners that finish after dispatch returned ---------------------------------

    def _check(self, what: str | Callable[[], T], count: int) -> Any:
        if isinstance(what, str):
            calls = [c for c in self.calls_to(what) if c.ok]
            return calls if len(calls) >= count else None
        return what()

    def _timeout(self, what: str | Callable[[], T], timeout: float) -> TimeoutError:
        seen = ", ".join(c.method for c in self.calls[-10:]) or "none"
        return TimeoutError(f"gave up waiting for {what!r} after {timeout}s; last calls: {seen}")

    def wait_for(self, what: str | Callable[[], T], count: int = 1, timeout: float = WAIT_TIMEOUT) -> Any:
        """Poll until `count` successful calls to a method were made, or a predicate returns something truthy.

        Returns the calls, or the predicate's value. Blocks the thread: on the stand-in's own loop use
        `wait_for_async`.
        """
        deadline = time.monotonic() + timeout
        while True:
            result = self._check(what, count)
            if result:
                return result
            if time.monotonic() > deadline:
                raise self._timeout(what, timeout)
            time.sleep(0.01)

    async def wait_for_async(self, what: str | Callable[[], T], count: int = 1, timeout: float = WAIT_TIMEOUT) -> Any:  # noqa: ASYNC109 - mirrors wait_for
        deadline = time.monotonic() + timeout
        while True:
            result = self._check(what, count)
            if result:
                return result
            if time.monotonic() > deadline:
                raise self._timeout(what, timeout)
            await asyncio.sleep(0.01)
