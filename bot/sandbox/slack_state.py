"""The stand-in's memory: what the bot has posted, opened and uploaded, behind one lock.

The aiohttp handlers run on the stand-in's loop while tests (or the console, on another loop) read and
add to the same state, so every access goes through `lock`; `version` grows with each change so the
console can poll cheaply.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .directory import SlackChannel, SlackIdentity, SlackUser, dm_channel_id

Message = dict[str, Any]


class SlackApiFault(Exception):
    """A Slack API error code, answered as `{"ok": false, "error": code}` with HTTP 200 like Slack does."""

    def __init__(self, error: str, detail: str | None = None) -> None:
        super().__init__(error if detail is None else f"{error}: {detail}")
        self.error = error
        self.detail = detail


@dataclass(frozen=True)
class RecordedCall:
    method: str
    args: dict[str, Any]
    time: float
    status: int
    ok: bool
    error: str | None = None


@dataclass
class ResponseUrl:
    id: str
    user_id: str
    channel_id: str
    # The message the interaction came from: ("ephemeral" | "message", ts); replace_original acts on it.
    original: tuple[str, str] | None
    created: float
    uses: int = 0


@dataclass
class Trigger:
    id: str
    user_id: str
    created: float
    used: bool = False


@dataclass
class StoredFile:
    id: str
    name: str
    length: int
    user: str
    created: int
    title: str = ""
    content: bytes | None = None
    channels: list[str] = field(default_factory=list)


@dataclass
class RateLimit:
    remaining: int
    retry_after: int
    method: str | None


def random_id(prefix: str, length: int = 10) -> str:
    return prefix + secrets.token_hex(length).upper()[: length - len(prefix)]


class SlackState:
    def __init__(
        self,
        users: Sequence[SlackUser],
        usergroups: Mapping[str, Sequence[str]],
        channels: Sequence[SlackChannel],
        identity: SlackIdentity,
    ) -> None:
        self.lock = threading.RLock()
        self.version = 0
        self.identity = identity
        self.users: dict[str, SlackUser] = {u.id: u for u in (*users, identity.bot_user)}
        self.usergroups = {group: tuple(members) for group, members in usergroups.items()}
        self.channels: dict[str, SlackChannel] = {c.id: c for c in channels}
        self.messages: dict[str, list[Message]] = {}
        self.ephemerals: dict[str, list[Message]] = {}
        self.files: dict[str, StoredFile] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.modal_stacks: dict[str, list[str]] = {}
        self.homes: dict[str, str] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.triggers: dict[str, Trigger] = {}
        self.calls: list[RecordedCall] = []
        self.rate_limits: list[RateLimit] = []
        self._last_ts_us = 0

    @contextmanager
    def changing(self) -> Iterator[None]:
        """Hold the lock for a change and bump `version` so pollers see it."""
        with self.lock:
            yield
            self.version += 1

    # -- identifiers ---------------------------------------------------------------------------

    def next_ts(self) -> str:
        # Slack's ts is seconds.microseconds, unique per channel and increasing; real time keeps it plausible.
        with self.lock:
            now_us = time.time_ns() // 1000
            self._last_ts_us = max(now_us, self._last_ts_us + 1)
            return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def resolve_channel(self, ref: Any) -> str:
        """A channel id for what chat.postMessage accepts: C… ids, #names, D… IMs, or a user id (their IM)."""
        if not isinstance(ref, str) or not ref:
            raise SlackApiFault("channel_not_found")
        if ref in self.channels:
            return ref
        for channel in self.channels.values():
            if ref.lstrip("#") == channel.name:
                return channel.id
        for user in self.users.values():
            if not user.is_bot and ref in (user.id, dm_channel_id(user.id)):
                return dm_channel_id(user.id)
        raise SlackApiFault("channel_not_found")

    def channel_name(self, channel_id: str) -> str:
        channel = self.channels.get(channel_id)
        return channel.name if channel is not None else "directmessage"

    def user(self, user_id: Any) -> SlackUser:
        if not isinstance(user_id, str) or user_id not in self.users:
            raise SlackApiFault("user_not_found")
        return self.users[user_id]

    # -- messages --------------------------------------------------------------------------------

    def bot_message(self, content: Mapping[str, Any]) -> Message:
        message: Message = {
            "type": "message",
            "user": self.identity.bot_user_id,
            "bot_id": self.identity.bot_id,
            "app_id": self.identity.app_id,
            "team": self.identity.team_id,
            "text": content.get("text", ""),
            "ts": self.next_ts(),
        }
        for key in ("blocks", "attachments", "thread_ts", "files", "upload"):
            if key in content:
                message[key] = content[key]
        return message

    def add_message(self, channel_id: str, content: Mapping[str, Any]) -> Message:
        with self.changing():
            message = self.bot_message(content)
            self.messages.setdefault(channel_id, []).append(message)
            return copy.deepcopy(message)

    def find_message(self, channel_id: str, ts: str) -> Message | None:
        with self.lock:
            return next((m for m in self.messages.get(channel_id, []) if m["ts"] == ts), None)

    def find_ephemeral(self, ts: str) -> tuple[str, Message] | None:
        with self.lock:
            for user_id, items in self.ephemerals.items():
                for item in items:
                    if item["ts"] == ts:
                        return user_id, item
            return None

    def add_ephemeral(self, user_id: str, channel_id: str, content: Mapping[str, Any], source: str) -> Message:
        """Record a message only `user_id` sees; `channel` and `source` are sandbox bookkeeping, not Slack fields."""
        with self.changing():
            message = self.bot_message(content)
            message.update(channel=channel_id, source=source, is_ephemeral=True)
            self.ephemerals.setdefault(user_id, []).append(message)
            return copy.deepcopy(message)

    def replace_content(self, message: Message, content: Mapping[str, Any], *, keep_missing: bool) -> None:
        """Swap a stored message's content in place. chat.update keeps fields it was not sent; responses do not."""
        with self.changing():
            for key in ("text", "blocks", "attachments"):
                if key in content:
                    message[key] = content[key]
                elif not keep_missing:
                    message.pop(key, None)
            message.setdefault("text", "")

    def delete(self, message: Message) -> None:
        with self.changing():
            for items in (*self.messages.values(), *self.ephemerals.values()):
                if any(m is message for m in items):
                    items[:] = [m for m in items if m is not message]

    # -- interactivity bookkeeping ---------------------------------------------------------------

    def new_response_url(self, user_id: str, channel_id: str, original: tuple[str, str] | None) -> ResponseUrl:
        with self.changing():
            entry = ResponseUrl(random_id("R", 24), user_id, channel_id, original, time.monotonic())
            self.response_urls[entry.id] = entry
            return entry

    def new_trigger(self, user_id: str) -> Trigger:
        with self.lock:
            # Slack's trigger ids look like "<digits>.<digits>.<hex>".
            trigger = Trigger(
                f"{time.time_ns() // 1000}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}",
                user_id,
                time.monotonic(),
            )
            self.triggers[trigger.id] = trigger
            return trigger

    def take_rate_limit(self, method: str) -> int | None:
        """Consume one injected 429 for `method`, returning its Retry-After, or None when the call may pass."""
        with self.lock:
            for rule in self.rate_limits:
                if rule.remaining > 0 and rule.method in (None, method):
                    rule.remaining -= 1
                    return rule.retry_after
            return None

    def record(self, call: RecordedCall) -> None:
        with self.changing():
            self.calls.append(call)
